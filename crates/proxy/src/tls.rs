//! TLS for listeners: certificates and keys from PEM files, ALPN `h2` and `http/1.1`,
//! optional client certificates (the identity itself is used by the auth phase later).

use std::sync::Arc;

use portcullis_config::{ClientAuth, ListenerTls};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::ProxyError;

async fn read_pem(listener: &str, field: &str, path: &str) -> Result<Vec<u8>, ProxyError> {
    tokio::fs::read(path)
        .await
        .map_err(|error| ProxyError::Tls {
            listener: listener.to_string(),
            message: format!("cannot read tls.{field} {path:?}: {error}"),
        })
}

fn certificates(
    listener: &str,
    field: &str,
    path: &str,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, ProxyError> {
    let certs: Result<Vec<_>, _> = rustls_pemfile::certs(&mut &pem[..]).collect();
    match certs {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err(ProxyError::Tls {
            listener: listener.to_string(),
            message: format!("tls.{field} {path:?} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)"),
        }),
        Err(error) => Err(ProxyError::Tls {
            listener: listener.to_string(),
            message: format!("tls.{field} {path:?} is not valid PEM: {error}"),
        }),
    }
}

fn private_key(
    listener: &str,
    path: &str,
    pem: &[u8],
) -> Result<PrivateKeyDer<'static>, ProxyError> {
    match rustls_pemfile::private_key(&mut &pem[..]) {
        Ok(Some(key)) => Ok(key),
        Ok(None) => Err(ProxyError::Tls {
            listener: listener.to_string(),
            message: format!(
                "tls.keyFile {path:?} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)"
            ),
        }),
        Err(error) => Err(ProxyError::Tls {
            listener: listener.to_string(),
            message: format!("tls.keyFile {path:?} is not valid PEM: {error}"),
        }),
    }
}

/// Build the acceptor for one listener.
pub async fn acceptor(listener: &str, tls: &ListenerTls) -> Result<TlsAcceptor, ProxyError> {
    let tls_error = |message: String| ProxyError::Tls {
        listener: listener.to_string(),
        message,
    };
    let cert_pem = read_pem(listener, "certFile", &tls.cert_file).await?;
    let key_pem = read_pem(listener, "keyFile", &tls.key_file).await?;
    let chain = certificates(listener, "certFile", &tls.cert_file, &cert_pem)?;
    let key = private_key(listener, &tls.key_file, &key_pem)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|error| tls_error(format!("protocol versions: {error}")))?;
    let builder = match (&tls.client_ca_file, tls.client_auth) {
        (Some(ca_file), client_auth) => {
            let ca_pem = read_pem(listener, "clientCaFile", ca_file).await?;
            let mut roots = RootCertStore::empty();
            for ca in certificates(listener, "clientCaFile", ca_file, &ca_pem)? {
                roots
                    .add(ca)
                    .map_err(|error| tls_error(format!("tls.clientCaFile {ca_file:?}: {error}")))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if client_auth == Some(ClientAuth::Required) {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            let verifier = verifier
                .build()
                .map_err(|error| tls_error(format!("tls.clientCaFile {ca_file:?}: {error}")))?;
            builder.with_client_cert_verifier(verifier)
        }
        (None, Some(_)) => {
            return Err(tls_error(
                "tls.clientAuth is set but tls.clientCaFile is missing: add the CA bundle that signs client certificates".to_string(),
            ))
        }
        (None, None) => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|error| {
        tls_error(format!(
            "tls.certFile/keyFile do not form a usable pair: {error}"
        ))
    })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
