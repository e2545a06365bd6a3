//! TLS for listeners: certificates and keys from PEM files, ALPN `h2` and `http/1.1`,
//! optional client certificates (the identity itself is used by the auth phase later).
//!
//! Loaded when a snapshot is prepared (a file that cannot be read or parsed refuses the
//! configuration, with the field path); `Server::bind` uses what the installed snapshot
//! loaded, so the files are read once.

use std::sync::Arc;

use portcullis_config::{ClientAuth, ConfigError, ListenerTls};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// One listener's TLS, loaded, with the settings it was loaded from.
#[derive(Clone)]
pub(crate) struct ListenerTlsMaterial {
    pub(crate) listener: String,
    pub(crate) settings: ListenerTls,
    pub(crate) acceptor: TlsAcceptor,
}

impl std::fmt::Debug for ListenerTlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerTlsMaterial")
            .field("listener", &self.listener)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Why TLS material cannot be used: the field under `tls` and what to do.
#[derive(Debug)]
pub(crate) struct TlsProblem {
    pub(crate) field: &'static str,
    pub(crate) message: String,
}

impl TlsProblem {
    fn new(field: &'static str, message: String) -> TlsProblem {
        TlsProblem { field, message }
    }

    /// As a configuration error of listener `index`.
    pub(crate) fn at(self, index: usize) -> ConfigError {
        ConfigError::new(
            format!("listeners[{index}].tls.{}", self.field),
            self.message,
        )
    }
}

fn read_pem(field: &'static str, path: &str) -> Result<Vec<u8>, TlsProblem> {
    std::fs::read(path).map_err(|error| {
        TlsProblem::new(
            field,
            format!("cannot read {path:?}: {error}; check the path and that the gateway's user may read it"),
        )
    })
}

fn certificates(
    field: &'static str,
    path: &str,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsProblem> {
    let certs: Result<Vec<_>, _> = rustls_pemfile::certs(&mut &pem[..]).collect();
    match certs {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err(TlsProblem::new(
            field,
            format!("{path:?} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)"),
        )),
        Err(error) => Err(TlsProblem::new(
            field,
            format!("{path:?} is not valid PEM: {error}"),
        )),
    }
}

fn private_key(path: &str, pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsProblem> {
    match rustls_pemfile::private_key(&mut &pem[..]) {
        Ok(Some(key)) => Ok(key),
        Ok(None) => Err(TlsProblem::new(
            "keyFile",
            format!("{path:?} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)"),
        )),
        Err(error) => Err(TlsProblem::new(
            "keyFile",
            format!("{path:?} is not valid PEM: {error}"),
        )),
    }
}

/// Reads and checks one listener's certificate chain, key and client CA bundle, and builds
/// its acceptor. Blocking file reads: call it off the runtime's worker threads (a snapshot
/// is prepared on a blocking thread).
pub(crate) fn load(tls: &ListenerTls) -> Result<TlsAcceptor, TlsProblem> {
    let cert_pem = read_pem("certFile", &tls.cert_file)?;
    let key_pem = read_pem("keyFile", &tls.key_file)?;
    let chain = certificates("certFile", &tls.cert_file, &cert_pem)?;
    let key = private_key(&tls.key_file, &key_pem)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|error| TlsProblem::new("certFile", format!("protocol versions: {error}")))?;
    let builder = match (&tls.client_ca_file, tls.client_auth) {
        (Some(ca_file), client_auth) => {
            let field = "clientCaFile";
            let ca_pem = read_pem(field, ca_file)?;
            let mut roots = RootCertStore::empty();
            for ca in certificates(field, ca_file, &ca_pem)? {
                roots
                    .add(ca)
                    .map_err(|error| TlsProblem::new(field, format!("{ca_file:?}: {error}")))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if client_auth == Some(ClientAuth::Required) {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            let verifier = verifier
                .build()
                .map_err(|error| TlsProblem::new(field, format!("{ca_file:?}: {error}")))?;
            builder.with_client_cert_verifier(verifier)
        }
        (None, Some(_)) => {
            return Err(TlsProblem::new(
                "clientCaFile",
                "clientAuth is set but clientCaFile is missing: add the CA bundle that signs client certificates".to_string(),
            ))
        }
        (None, None) => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|error| {
        TlsProblem::new(
            "keyFile",
            format!(
                "{:?} and certFile {:?} do not form a usable pair: {error}",
                tls.key_file, tls.cert_file
            ),
        )
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
