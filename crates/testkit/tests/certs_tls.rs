//! The generated certificates work for a real TLS handshake (server auth and mTLS).

use std::sync::Arc;

use portcullis_testkit::certs::TestPki;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

fn server_config(pki: &TestPki, require_client_cert: bool) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("versions");
    let builder = if require_client_cert {
        let mut roots = rustls::RootCertStore::empty();
        for ca in pem_certs(&pki.ca_cert_path) {
            roots.add(ca).expect("root");
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .expect("verifier");
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder
        .with_single_cert(
            pem_certs(&pki.server.cert_path),
            pem_key(&pki.server.key_path),
        )
        .expect("server cert");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Read PEM files back as a server loading them from disk would.
fn pem_certs(path: &std::path::Path) -> Vec<CertificateDer<'static>> {
    let mut reader = std::io::BufReader::new(std::fs::File::open(path).expect("open PEM"));
    rustls_pemfile::certs(&mut reader)
        .collect::<Result<_, _>>()
        .expect("certificates")
}

fn pem_key(path: &std::path::Path) -> PrivateKeyDer<'static> {
    let mut reader = std::io::BufReader::new(std::fs::File::open(path).expect("open PEM"));
    rustls_pemfile::private_key(&mut reader)
        .expect("read key")
        .expect("a private key")
}

async fn handshake(pki: &TestPki, require_client_cert: bool, present_client_cert: bool) -> bool {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let acceptor = TlsAcceptor::from(server_config(pki, require_client_cert));
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        let Ok(mut tls) = acceptor.accept(stream).await else {
            return false;
        };
        let mut ping = [0u8; 4];
        if tls.read_exact(&mut ping).await.is_err() {
            return false;
        }
        tls.write_all(&ping).await.is_ok()
    });
    let client_cert = pki.issue_client("tenant-a");
    let config = pki.client_config(&[b"h2"], present_client_cert.then_some(&client_cert));
    let connector = TlsConnector::from(config);
    let stream = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let client_ok = match connector.connect(name, stream).await {
        Ok(mut tls) => {
            assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
            let mut echoed = [0u8; 4];
            tls.write_all(b"ping").await.is_ok()
                && tls.read_exact(&mut echoed).await.is_ok()
                && &echoed == b"ping"
        }
        Err(_) => false,
    };
    let server_ok = server.await.expect("server task");
    client_ok && server_ok
}

#[tokio::test]
async fn the_server_certificate_is_trusted_for_localhost() {
    let pki = TestPki::generate();
    assert!(handshake(&pki, false, false).await);
}

#[tokio::test]
async fn mutual_tls_needs_the_client_certificate() {
    let pki = TestPki::generate();
    assert!(
        handshake(&pki, true, true).await,
        "with a client certificate"
    );
    assert!(
        !handshake(&pki, true, false).await,
        "without one the handshake fails"
    );
}
