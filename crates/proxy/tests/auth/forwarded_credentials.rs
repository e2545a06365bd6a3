//! Credentials the gateway consumed never reach the upstream (issue 9): after an API key,
//! a JWT, an introspected token or a signature authenticated the request, the upstream sees
//! the gateway's identity headers but no `X-Api-Key`, `Authorization`, `Signature` or
//! `Signature-Input` — unless the route sets `forwardAuthorization: true`, which forwards
//! them unchanged. `Content-Digest` is kept either way. mTLS carries no credential header;
//! an `Authorization` the client adds is still not forwarded by default.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use jsonwebtoken::Algorithm;
use portcullis_config::{ClientAuth, ListenerTls};
use portcullis_policy::apikey::hash_api_key;
use portcullis_telemetry::access_log::AccessLog;
use portcullis_testkit::certs::TestPki;
use portcullis_testkit::introspection::IntrospectionServer;
use portcullis_testkit::jwks::JwksServer;
use portcullis_testkit::{MockUpstream, RecordedRequest};
use serde_json::json;
use tokio::net::TcpStream;

use crate::common;
use crate::signatures::{signed_request, Signing, HMAC_SECRET};
use crate::support::*;

const API_KEY: &str = "pcs_forwarding-test-key-0123456789ab";
const OPAQUE_TOKEN: &str = "opaque-forwarding-token";
const CREDENTIAL_HEADERS: [&str; 4] =
    ["authorization", "x-api-key", "signature", "signature-input"];

/// One gateway with API keys, JWT, introspection and signatures configured, and one route
/// that accepts them all; `forward` sets `forwardAuthorization: true` on it.
struct Setup {
    upstream: MockUpstream,
    gateway: common::TestGateway,
    introspection: IntrospectionServer,
    _jwks: JwksServer,
    _secrets: tempfile::TempDir,
}

async fn setup(forward: bool) -> Setup {
    let jwks = JwksServer::start(&jwks()).await;
    let introspection = IntrospectionServer::start().await;
    let upstream = MockUpstream::echo().await;
    let secrets = tempfile::tempdir().expect("temp dir");
    let hmac_path = secrets.path().join("hmac-partner");
    std::fs::write(&hmac_path, HMAC_SECRET).expect("hmac secret");
    let client_secret_path = secrets.path().join("introspection");
    std::fs::write(&client_secret_path, "client-secret").expect("client secret");
    let authentication = format!(
        r#"authentication:
  jwt:
    issuers:
      - issuer: {ISSUER}
        audiences: [{AUDIENCE}]
        jwksUri: {jwks_uri}
        algorithms: [RS256]
  apiKeys:
    header: X-Api-Key
    keys:
      - id: key-forwarding
        hash: "{key_hash}"
        tenantId: acme
  introspection:
    endpoint: {introspection_uri}
    clientId: gateway
    clientSecret: file:{client_secret}
  signatures:
    keys:
      - keyId: hmac-partner
        algorithm: hmac-sha256
        secret: file:{hmac}
        subject: acme-payments
"#,
        jwks_uri = jwks.uri(),
        key_hash = hash_api_key(API_KEY),
        introspection_uri = introspection.uri(),
        client_secret = client_secret_path.display(),
        hmac = hmac_path.display(),
    );
    let mut policies = "      auth: required".to_string();
    if forward {
        policies.push_str("\n      forwardAuthorization: true");
    }
    let yaml = config(&upstream.endpoint(), &authentication, &policies, "");
    let gateway = common::start(&yaml).await;
    introspection.set_answer(
        OPAQUE_TOKEN,
        json!({"active": true, "sub": "user-7", "exp": now() + 3600}),
    );
    Setup {
        upstream,
        gateway,
        introspection,
        _jwks: jwks,
        _secrets: secrets,
    }
}

/// The credential headers the upstream received.
fn credentials_seen(seen: &RecordedRequest) -> Vec<&'static str> {
    CREDENTIAL_HEADERS
        .into_iter()
        .filter(|name| seen.headers.contains_key(*name))
        .collect()
}

/// A bearer or API-key method: its name, the headers sent, the credential header it uses
/// and the subject the gateway vouches for.
struct HeaderCase {
    method: &'static str,
    headers: Vec<(&'static str, String)>,
    credential: &'static str,
    subject: &'static str,
}

fn header_cases() -> Vec<HeaderCase> {
    let jwt = token(Algorithm::RS256, "rsa-1", &good_claims());
    let case = |method, name, value: String, subject| HeaderCase {
        method,
        headers: vec![(name, value)],
        credential: name,
        subject,
    };
    vec![
        case(
            "api key",
            "x-api-key",
            API_KEY.to_string(),
            "key-forwarding",
        ),
        case("jwt", "authorization", bearer(&jwt), "user-42"),
        case(
            "introspection",
            "authorization",
            bearer(OPAQUE_TOKEN),
            "user-7",
        ),
    ]
}

async fn send_headers(setup: &Setup, headers: &[(&'static str, String)]) -> RecordedRequest {
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect();
    let response = common::get(setup.gateway.addr, "api.test", "/v1/orders", &pairs).await;
    assert_eq!(response.status(), 200, "{headers:?}");
    setup.upstream.last_request().expect("forwarded")
}

#[tokio::test]
async fn consumed_credentials_are_removed_by_default_for_every_method() {
    let setup = setup(false).await;
    for HeaderCase {
        method,
        headers,
        subject,
        ..
    } in header_cases()
    {
        let seen = send_headers(&setup, &headers).await;
        assert_eq!(credentials_seen(&seen), Vec::<&str>::new(), "{method}");
        assert_eq!(seen.headers["x-portcullis-subject"], subject, "{method}");
    }
    let response = common::send(setup.gateway.addr, signed_request(&Signing::default())).await;
    assert_eq!(response.status(), 200, "signature");
    let seen = setup.upstream.last_request().expect("forwarded");
    assert_eq!(credentials_seen(&seen), Vec::<&str>::new(), "signature");
    assert_eq!(seen.headers["x-portcullis-subject"], "acme-payments");
    assert!(
        seen.headers.contains_key("content-digest"),
        "Content-Digest describes the body the upstream gets: kept"
    );
    assert_eq!(setup.upstream.requests(), 4);
    assert_eq!(setup.introspection.calls(), 1);
    setup.gateway.stop().await;
}

#[tokio::test]
async fn forward_authorization_forwards_every_consumed_credential_unchanged() {
    let setup = setup(true).await;
    for HeaderCase {
        method,
        headers,
        credential,
        subject,
    } in header_cases()
    {
        let seen = send_headers(&setup, &headers).await;
        assert_eq!(credentials_seen(&seen), vec![credential], "{method}");
        let sent = &headers[0].1;
        assert_eq!(seen.headers[credential], sent.as_str(), "{method}");
        assert_eq!(seen.headers["x-portcullis-subject"], subject, "{method}");
    }
    let request = signed_request(&Signing::default());
    let signature = request.headers()["signature"].clone();
    let input = request.headers()["signature-input"].clone();
    let response = common::send(setup.gateway.addr, request).await;
    assert_eq!(response.status(), 200, "signature");
    let seen = setup.upstream.last_request().expect("forwarded");
    assert_eq!(
        credentials_seen(&seen),
        vec!["signature", "signature-input"]
    );
    assert_eq!(seen.headers["signature"], signature);
    assert_eq!(seen.headers["signature-input"], input);
    assert!(seen.headers.contains_key("content-digest"));
    setup.gateway.stop().await;
}

/// A gateway on TLS that authenticates by client certificate, `forward` as above.
async fn mtls_gateway(
    pki: &TestPki,
    upstream: &MockUpstream,
    forward: bool,
) -> common::TestGateway {
    let mut listener = common::listener();
    listener.tls = Some(ListenerTls {
        cert_file: pki.server.cert_path.display().to_string(),
        key_file: pki.server.key_path.display().to_string(),
        client_auth: Some(ClientAuth::Required),
        client_ca_file: Some(pki.ca_cert_path.display().to_string()),
    });
    let authentication = r#"authentication:
  mtls:
    identities:
      - identity: billing
        subject: billing-service
"#;
    let mut policies = "      auth: required\n      authMethods: [mtls]".to_string();
    if forward {
        policies.push_str("\n      forwardAuthorization: true");
    }
    let yaml = config(&upstream.endpoint(), authentication, &policies, "");
    common::start_with(&yaml, listener, AccessLog::disabled()).await
}

/// One GET over TLS with the `billing` client certificate and an `Authorization` header
/// the client meant for the upstream.
async fn mtls_get(gateway: &common::TestGateway, pki: &TestPki) -> u16 {
    let client = pki.issue_client("billing");
    let connector =
        tokio_rustls::TlsConnector::from(pki.client_config(&[b"http/1.1"], Some(&client)));
    let tcp = TcpStream::connect(gateway.addr).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("server name");
    let tls = connector.connect(name, tcp).await.expect("handshake");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("http handshake");
    tokio::spawn(connection);
    let basic = format!("Basic {}", STANDARD.encode("upstream-user:pw"));
    let request = http::Request::get("/v1/payments")
        .header("host", "localhost")
        .header("authorization", basic)
        .body(Full::<Bytes>::default())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    let status = response.status().as_u16();
    let _ = response.into_body().collect().await;
    status
}

#[tokio::test]
async fn mtls_has_no_credential_header_and_follows_the_same_rule_for_authorization() {
    let pki = TestPki::generate();
    for forward in [false, true] {
        let upstream = MockUpstream::echo().await;
        let gateway = mtls_gateway(&pki, &upstream, forward).await;
        assert_eq!(mtls_get(&gateway, &pki).await, 200, "forward {forward}");
        let seen = upstream.last_request().expect("forwarded");
        assert_eq!(seen.headers["x-portcullis-subject"], "billing-service");
        let expected: Vec<&str> = if forward {
            vec!["authorization"]
        } else {
            vec![]
        };
        assert_eq!(credentials_seen(&seen), expected, "forward {forward}");
        gateway.stop().await;
    }
}
