//! mTLS: client certificates verified against the listener's `clientCaFile`, principals
//! from `authentication.mtls.identities`.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use portcullis_config::{ClientAuth, ListenerTls};
use portcullis_telemetry::access_log::AccessLog;
use portcullis_testkit::certs::{IssuedCert, TestPki};
use portcullis_testkit::MockUpstream;
use tokio::net::TcpStream;

use crate::common;
use crate::support::config;

const AUTHENTICATION: &str = r#"authentication:
  mtls:
    identities:
      - identity: billing
        subject: billing-service
        tenantId: acme
        scopes: [payments:write]
"#;

async fn gateway(
    pki: &TestPki,
    upstream: &MockUpstream,
    client_auth: ClientAuth,
) -> common::TestGateway {
    let mut listener = common::listener();
    listener.tls = Some(ListenerTls {
        cert_file: pki.server.cert_path.display().to_string(),
        key_file: pki.server.key_path.display().to_string(),
        client_auth: Some(client_auth),
        client_ca_file: Some(pki.ca_cert_path.display().to_string()),
    });
    let yaml = config(
        &upstream.endpoint(),
        AUTHENTICATION,
        "      auth: required\n      authMethods: [mtls]",
        "",
    );
    common::start_with(&yaml, listener, AccessLog::disabled()).await
}

/// One GET over TLS presenting `client` (trusting `pki`'s CA); `Err` when the handshake or
/// the exchange fails.
async fn get_over_tls(
    gateway: &common::TestGateway,
    pki: &TestPki,
    client: Option<&IssuedCert>,
) -> Result<http::Response<Bytes>, String> {
    let connector = tokio_rustls::TlsConnector::from(pki.client_config(&[b"http/1.1"], client));
    let tcp = TcpStream::connect(gateway.addr)
        .await
        .map_err(|error| error.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("server name");
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|error| format!("handshake: {error}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|error| format!("http handshake: {error}"))?;
    tokio::spawn(connection);
    let request = http::Request::get("/v1/payments")
        .header("host", "localhost")
        .header("x-portcullis-subject", "forged")
        .body(Full::<Bytes>::default())
        .expect("request");
    // TLS 1.3 reports a refused client certificate after the handshake, on first use.
    let response = sender
        .send_request(request)
        .await
        .map_err(|error| format!("request: {error}"))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|error| error.to_string())?
        .to_bytes();
    Ok(http::Response::from_parts(parts, body))
}

#[tokio::test]
async fn a_certificate_from_the_ca_authenticates_and_others_fail_the_handshake() {
    let pki = TestPki::generate();
    let upstream = MockUpstream::echo().await;
    let gateway = gateway(&pki, &upstream, ClientAuth::Required).await;

    let billing = pki.issue_client("billing");
    let response = get_over_tls(&gateway, &pki, Some(&billing))
        .await
        .expect("mapped client certificate");
    assert_eq!(response.status(), 200);
    let seen = upstream.last_request().expect("forwarded");
    assert_eq!(seen.headers["x-portcullis-subject"], "billing-service");
    assert_eq!(seen.headers["x-portcullis-tenant"], "acme");
    assert_eq!(seen.headers["x-portcullis-scopes"], "payments:write");

    // Signed by the right CA but mapped to nobody: 401.
    let stranger = pki.issue_client("stranger");
    let response = get_over_tls(&gateway, &pki, Some(&stranger))
        .await
        .expect("the handshake passes");
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .expect("ascii");
    assert!(
        challenge.contains("client_certificate_unmapped"),
        "{challenge}"
    );

    // From another CA, or none at all: no TLS session, nothing forwarded.
    let other_pki = TestPki::generate();
    let impostor = other_pki.issue_client("billing");
    assert!(get_over_tls(&gateway, &pki, Some(&impostor)).await.is_err());
    assert!(get_over_tls(&gateway, &pki, None).await.is_err());
    assert_eq!(upstream.requests(), 1);
    gateway.stop().await;
}

#[tokio::test]
async fn with_optional_client_auth_a_missing_certificate_is_a_401_on_mtls_routes() {
    let pki = TestPki::generate();
    let upstream = MockUpstream::echo().await;
    let gateway = gateway(&pki, &upstream, ClientAuth::Optional).await;

    let response = get_over_tls(&gateway, &pki, None)
        .await
        .expect("no certificate is allowed at the TLS layer");
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");

    // A certificate that is presented must still chain to the CA.
    let other_pki = TestPki::generate();
    let impostor = other_pki.issue_client("billing");
    assert!(get_over_tls(&gateway, &pki, Some(&impostor)).await.is_err());
    assert_eq!(upstream.requests(), 0);

    let billing = pki.issue_client("billing");
    let response = get_over_tls(&gateway, &pki, Some(&billing))
        .await
        .expect("mapped client certificate");
    assert_eq!(response.status(), 200);
    gateway.stop().await;
}
