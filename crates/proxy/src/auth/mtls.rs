//! The identities of a verified TLS client certificate (the handshake already checked its
//! chain against the listener's `clientCaFile`): SAN URIs, DNS SANs and the subject CN,
//! read once per connection.

use portcullis_policy::mtls::ClientIdentity;
use rustls::pki_types::CertificateDer;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The identities of the client certificate a TLS connection presented (verified by the
/// handshake against `clientCaFile`), if any.
pub(crate) fn peer_identity(connection: &rustls::ServerConnection) -> Option<ClientIdentity> {
    let certificate = connection.peer_certificates()?.first()?;
    client_identity(certificate)
}

/// The identities of the end-entity certificate, or `None` when it cannot be parsed (the
/// request then carries no client-certificate credential).
pub(crate) fn client_identity(certificate: &CertificateDer<'_>) -> Option<ClientIdentity> {
    let (_, parsed) = X509Certificate::from_der(certificate.as_ref()).ok()?;
    let mut identity = ClientIdentity::default();
    if let Ok(Some(san)) = parsed.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::URI(uri) => identity.uri_sans.push((*uri).to_string()),
                GeneralName::DNSName(dns) => identity.dns_sans.push((*dns).to_string()),
                _ => {}
            }
        }
    }
    identity.common_name = parsed
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string);
    Some(identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_uri_and_dns_sans_and_the_common_name() {
        let mut params =
            rcgen::CertificateParams::new(vec!["svc.internal".to_string()]).expect("params");
        params.subject_alt_names.push(rcgen::SanType::URI(
            "spiffe://example.org/ns/prod/sa/billing"
                .try_into()
                .expect("uri"),
        ));
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "billing");
        let key = rcgen::KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("cert");
        let identity = client_identity(cert.der()).expect("parsed");
        assert_eq!(
            identity.uri_sans,
            vec!["spiffe://example.org/ns/prod/sa/billing"]
        );
        assert_eq!(identity.dns_sans, vec!["svc.internal"]);
        assert_eq!(identity.common_name.as_deref(), Some("billing"));
        assert!(client_identity(&CertificateDer::from(vec![1u8, 2, 3])).is_none());
    }
}
