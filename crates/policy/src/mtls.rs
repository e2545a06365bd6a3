//! Principals from TLS client certificates. The proxy extracts the identities from the verified
//! certificate (the TLS layer already checked the chain against the listener's CA bundle); this
//! module only maps them, in the order SAN URI, then DNS SAN, then subject CN.

use std::collections::HashMap;

use portcullis_config::model::MtlsAuthentication;

use crate::failure::AuthFailure;
use crate::principal::{AuthMethod, Principal};

/// What the proxy read from a verified client certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientIdentity {
    /// URI SANs, such as `spiffe://example.org/ns/prod/sa/billing`.
    pub uri_sans: Vec<String>,
    pub dns_sans: Vec<String>,
    pub common_name: Option<String>,
}

/// `authentication.mtls.identities`, indexed by identity.
#[derive(Debug, Clone, Default)]
pub struct MtlsMapper {
    principals: HashMap<String, Principal>,
}

impl MtlsMapper {
    pub fn from_config(config: &MtlsAuthentication) -> Self {
        let principals = config
            .identities
            .iter()
            .map(|entry| {
                let principal = Principal {
                    subject: entry
                        .subject
                        .clone()
                        .unwrap_or_else(|| entry.identity.clone()),
                    tenant_id: entry.tenant_id.clone(),
                    scopes: entry.scopes.clone(),
                    key_id: Some(entry.identity.clone()),
                    products: Vec::new(),
                    method: AuthMethod::Mtls,
                };
                (entry.identity.clone(), principal)
            })
            .collect();
        MtlsMapper { principals }
    }

    /// The principal of the first mapped identity: every SAN URI, then every DNS SAN, then the
    /// CN. Only a certificate's strongest kind of name is considered: when it has SAN URIs, a
    /// mapped DNS name or CN on the same certificate does not count.
    pub fn authenticate(&self, identity: &ClientIdentity) -> Result<Principal, AuthFailure> {
        let candidates: Vec<&String> = if !identity.uri_sans.is_empty() {
            identity.uri_sans.iter().collect()
        } else if !identity.dns_sans.is_empty() {
            identity.dns_sans.iter().collect()
        } else {
            identity.common_name.iter().collect()
        };
        candidates
            .into_iter()
            .find_map(|name| self.principals.get(name))
            .cloned()
            .ok_or(AuthFailure::ClientCertificateUnmapped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapper() -> MtlsMapper {
        let config: MtlsAuthentication = serde_json::from_value(serde_json::json!({"identities": [
            {"identity": "spiffe://example.org/billing", "tenantId": "internal", "scopes": ["billing"]},
            {"identity": "reports.internal", "subject": "reports"},
            {"identity": "legacy-client"}
        ]}))
        .expect("config");
        MtlsMapper::from_config(&config)
    }

    #[test]
    fn san_uri_then_dns_then_cn() {
        let mapper = mapper();
        let spiffe = ClientIdentity {
            uri_sans: vec!["spiffe://example.org/billing".into()],
            dns_sans: vec!["reports.internal".into()],
            common_name: Some("legacy-client".into()),
        };
        let principal = mapper.authenticate(&spiffe).expect("mapped");
        assert_eq!(principal.subject, "spiffe://example.org/billing");
        assert_eq!(principal.tenant_id.as_deref(), Some("internal"));
        assert_eq!(principal.method, AuthMethod::Mtls);

        let dns = ClientIdentity {
            dns_sans: vec!["reports.internal".into()],
            ..ClientIdentity::default()
        };
        assert_eq!(
            mapper.authenticate(&dns).expect("mapped").subject,
            "reports"
        );
        let cn = ClientIdentity {
            common_name: Some("legacy-client".into()),
            ..ClientIdentity::default()
        };
        assert_eq!(
            mapper.authenticate(&cn).expect("mapped").subject,
            "legacy-client"
        );
    }

    #[test]
    fn unmapped_or_weaker_names_are_refused() {
        let mapper = mapper();
        let other_uri = ClientIdentity {
            uri_sans: vec!["spiffe://evil.org/billing".into()],
            common_name: Some("legacy-client".into()),
            ..ClientIdentity::default()
        };
        assert_eq!(
            mapper.authenticate(&other_uri),
            Err(AuthFailure::ClientCertificateUnmapped)
        );
        assert_eq!(
            mapper.authenticate(&ClientIdentity::default()),
            Err(AuthFailure::ClientCertificateUnmapped)
        );
    }
}
