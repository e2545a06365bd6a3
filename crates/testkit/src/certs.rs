//! A throw-away PKI for TLS and mTLS tests: one CA, a server certificate for `localhost`
//! and `127.0.0.1`, and client certificates on demand, all written as PEM files to a
//! temporary directory that is deleted when the [`TestPki`] is dropped.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A certificate and its private key, in PEM and on disk.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_der: Vec<u8>,
    /// PKCS#8.
    pub key_der: Vec<u8>,
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

/// A CA plus a server certificate signed by it. Files in [`TestPki::dir`]:
/// `ca.pem`, `server.pem`, `server-key.pem`, and `client-<name>.pem` /
/// `client-<name>-key.pem` per [`TestPki::issue_client`].
pub struct TestPki {
    dir: tempfile::TempDir,
    ca_cert: Certificate,
    ca_key: KeyPair,
    ca_cert_der: Vec<u8>,
    /// The CA certificate (trust anchor for clients, and for servers verifying clients).
    pub ca_cert_pem: String,
    pub ca_cert_path: PathBuf,
    /// Server certificate for `localhost` and `127.0.0.1` (and `::1`).
    pub server: IssuedCert,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki")
            .field("dir", &self.dir.path())
            .finish_non_exhaustive()
    }
}

impl TestPki {
    /// Generate the CA and the server certificate (panics on failure: test helper).
    pub fn generate() -> TestPki {
        let dir = tempfile::tempdir().expect("create a temporary directory for certificates");

        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Portcullis Test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().expect("CA key");
        let ca_cert = ca_params
            .self_signed(&ca_key)
            .expect("self-signed CA certificate");
        let ca_cert_pem = ca_cert.pem();
        let ca_cert_der = ca_cert.der().to_vec();
        let ca_cert_path = write(dir.path(), "ca.pem", &ca_cert_pem);

        let mut pki = TestPki {
            server: IssuedCert {
                cert_pem: String::new(),
                key_pem: String::new(),
                cert_der: Vec::new(),
                key_der: Vec::new(),
                cert_path: PathBuf::new(),
                key_path: PathBuf::new(),
            },
            dir,
            ca_cert,
            ca_key,
            ca_cert_der,
            ca_cert_pem,
            ca_cert_path,
        };
        let names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        pki.server = pki.issue(
            "server",
            "localhost",
            names,
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        pki
    }

    /// The directory holding every PEM file.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Issue a client certificate with `common_name` as its subject CN (and as a DNS SAN
    /// when it is a valid DNS name), for mTLS tests. Files: `client-<common_name>.pem` and
    /// `client-<common_name>-key.pem`.
    pub fn issue_client(&self, common_name: &str) -> IssuedCert {
        let file_stem = format!("client-{common_name}");
        self.issue(
            &file_stem,
            common_name,
            Vec::new(),
            ExtendedKeyUsagePurpose::ClientAuth,
        )
    }

    /// Issue a server certificate for other names (e.g. `api.example.test`).
    pub fn issue_server(&self, file_stem: &str, names: &[&str]) -> IssuedCert {
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        let common_name = names_first(&names);
        self.issue(
            file_stem,
            &common_name,
            names,
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A rustls client configuration that trusts this CA, offers `alpn` (e.g.
    /// `&[b"h2", b"http/1.1"]`) and presents `client_cert` when given (mTLS). Use with
    /// `tokio_rustls::TlsConnector::from(config)` and server name `localhost`.
    pub fn client_config(
        &self,
        alpn: &[&[u8]],
        client_cert: Option<&IssuedCert>,
    ) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(self.ca_cert_der.clone()))
            .expect("trust the test CA");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("default TLS versions")
            .with_root_certificates(roots);
        let mut config = match client_cert {
            Some(cert) => builder
                .with_client_auth_cert(
                    vec![CertificateDer::from(cert.cert_der.clone())],
                    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_der.clone())),
                )
                .expect("client certificate and key match"),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
        Arc::new(config)
    }

    fn issue(
        &self,
        file_stem: &str,
        common_name: &str,
        names: Vec<String>,
        usage: ExtendedKeyUsagePurpose,
    ) -> IssuedCert {
        let mut params = CertificateParams::new(names).expect("certificate names");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        let key = KeyPair::generate().expect("certificate key");
        let cert = params
            .signed_by(&key, &self.ca_cert, &self.ca_key)
            .expect("sign certificate");
        let cert_pem = cert.pem();
        let key_pem = key.serialize_pem();
        let cert_path = write(self.dir.path(), &format!("{file_stem}.pem"), &cert_pem);
        let key_path = write(self.dir.path(), &format!("{file_stem}-key.pem"), &key_pem);
        IssuedCert {
            cert_pem,
            key_pem,
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
            cert_path,
            key_path,
        }
    }
}

fn names_first(names: &[String]) -> String {
    names
        .first()
        .cloned()
        .unwrap_or_else(|| "localhost".to_string())
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write a PEM file to the temporary directory");
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_pem_files_for_ca_server_and_client() {
        let pki = TestPki::generate();
        let ca = std::fs::read_to_string(&pki.ca_cert_path).expect("read ca.pem");
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(ca, pki.ca_cert_pem);
        let key = std::fs::read_to_string(&pki.server.key_path).expect("read server key");
        assert!(key.contains("PRIVATE KEY"));
        assert_ne!(pki.server.cert_pem, pki.ca_cert_pem);
        let client = pki.issue_client("team-a");
        assert!(client.cert_path.ends_with("client-team-a.pem"));
        assert!(client.cert_path.exists() && client.key_path.exists());
        let config = pki.client_config(&[b"h2"], Some(&client));
        assert_eq!(config.alpn_protocols, vec![b"h2".to_vec()]);
    }
}
