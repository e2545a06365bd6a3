//! TLS listeners: certificates from PEM files, ALPN h2 and http/1.1, client certificates.

mod common;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{single_route, start_with};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use portcullis_config::ListenerTls;
use portcullis_telemetry::access_log::AccessLog;
use portcullis_testkit::certs::TestPki;
use portcullis_testkit::MockUpstream;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn tls_client(pki: &TestPki, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pki.ca_cert_pem.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("CA cert");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn tls_listener_negotiates_h2_and_http11_by_alpn() {
    let pki = TestPki::generate();
    let upstream = MockUpstream::echo().await;
    let mut listener = common::listener();
    listener.tls = Some(ListenerTls {
        cert_file: pki.server.cert_path.display().to_string(),
        key_file: pki.server.key_path.display().to_string(),
        client_auth: None,
        client_ca_file: None,
    });
    let gateway = start_with(
        &single_route(&upstream.endpoint(), "/", "", ""),
        listener,
        AccessLog::disabled(),
    )
    .await;
    let server_name = rustls::pki_types::ServerName::try_from("localhost").expect("name");

    // HTTP/2 via ALPN.
    let tcp = TcpStream::connect(gateway.addr).await.expect("connect");
    let tls = tls_client(&pki, &[b"h2", b"http/1.1"])
        .connect(server_name.clone(), tcp)
        .await
        .expect("TLS");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tls))
            .await
            .expect("h2");
    tokio::spawn(connection);
    let request = http::Request::get("https://localhost/secure")
        .body(Full::<Bytes>::default())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 200);
    let seen = upstream.last_request().expect("forwarded");
    assert_eq!(seen.headers["x-forwarded-proto"], "https");

    // HTTP/1.1 via ALPN.
    let tcp = TcpStream::connect(gateway.addr).await.expect("connect");
    let tls = tls_client(&pki, &[b"http/1.1"])
        .connect(server_name, tcp)
        .await
        .expect("TLS");
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("h1");
    tokio::spawn(connection);
    let request = http::Request::get("/secure")
        .header("host", "localhost")
        .body(Full::<Bytes>::default())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_11);
    assert_eq!(upstream.requests(), 2);
    gateway.stop().await;
}

#[tokio::test]
async fn required_client_certificates_are_checked_against_the_client_ca() {
    let pki = TestPki::generate();
    let upstream = MockUpstream::echo().await;
    let mut listener = common::listener();
    listener.tls = Some(ListenerTls {
        cert_file: pki.server.cert_path.display().to_string(),
        key_file: pki.server.key_path.display().to_string(),
        client_auth: Some(portcullis_config::ClientAuth::Required),
        client_ca_file: Some(pki.ca_cert_path.display().to_string()),
    });
    let gateway = start_with(
        &single_route(&upstream.endpoint(), "/", "", ""),
        listener,
        AccessLog::disabled(),
    )
    .await;
    let server_name = rustls::pki_types::ServerName::try_from("localhost").expect("name");

    // Without a certificate the handshake (or the first read) fails.
    let tcp = TcpStream::connect(gateway.addr).await.expect("connect");
    let anonymous = tls_client(&pki, &[b"http/1.1"])
        .connect(server_name.clone(), tcp)
        .await;
    let refused = match anonymous {
        Err(_) => true,
        Ok(mut stream) => {
            let _ = stream
                .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .await;
            let mut buffer = Vec::new();
            let read =
                tokio::time::timeout(Duration::from_secs(3), stream.read_to_end(&mut buffer)).await;
            !matches!(read, Ok(Ok(_))) || !buffer.starts_with(b"HTTP/1.1 200")
        }
    };
    assert!(refused, "a client without a certificate was served");

    // With a certificate the CA signed, the request goes through.
    let client = pki.issue_client("partner-a");
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pki.ca_cert_pem.as_bytes()) {
        roots.add(cert.expect("CA PEM")).expect("CA cert");
    }
    let chain: Vec<_> = rustls_pemfile::certs(&mut client.cert_pem.as_bytes())
        .map(|cert| cert.expect("PEM"))
        .collect();
    let key = rustls_pemfile::private_key(&mut client.key_pem.as_bytes())
        .expect("PEM")
        .expect("key");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_client_auth_cert(chain, key)
    .expect("client cert");
    let tcp = TcpStream::connect(gateway.addr).await.expect("connect");
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(server_name, tcp)
        .await
        .expect("mTLS");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("h1");
    tokio::spawn(connection);
    let request = http::Request::get("/")
        .header("host", "localhost")
        .body(Full::<Bytes>::default())
        .expect("request");
    assert_eq!(
        sender
            .send_request(request)
            .await
            .expect("response")
            .status(),
        200
    );
    assert_eq!(upstream.requests(), 1);
    gateway.stop().await;
}

#[tokio::test]
async fn tls_listener_with_a_missing_certificate_file_fails_to_bind_naming_the_field() {
    let mut listener = common::listener();
    listener.tls = Some(ListenerTls {
        cert_file: "/nonexistent/cert.pem".to_string(),
        key_file: "/nonexistent/key.pem".to_string(),
        client_auth: None,
        client_ca_file: None,
    });
    let gateway = portcullis_proxy::Gateway::new(
        portcullis_telemetry::metrics::Metrics::new(),
        AccessLog::disabled(),
    );
    let error = portcullis_proxy::Server::bind(gateway, &[listener])
        .await
        .expect_err("must fail");
    let message = error.to_string();
    assert!(
        message.contains("certFile") && message.contains("/nonexistent/cert.pem"),
        "{message}"
    );
}
