//! Signed partner requests (RFC 9421) end to end: hmac-sha256 and ed25519, the body checked
//! against `Content-Digest` before anything is forwarded, replayed nonces refused.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use ed25519_dalek::{Signer, SigningKey};
use hmac::{Hmac, Mac};
use http_body_util::Full;
use portcullis_policy::signature::sfv::{parse_dictionary, Member};
use portcullis_policy::signature::{content_digest_header, signature_base};
use portcullis_proxy::Gateway;
use portcullis_telemetry::access_log::AccessLog;
use portcullis_telemetry::metrics::Metrics;
use portcullis_testkit::MockUpstream;
use sha2::Sha256;

use crate::common;
use crate::support::{challenge, config, now};

/// Shared with `forwarded_credentials.rs`, which signs with the same key and helper.
pub(crate) const HMAC_SECRET: &[u8] = b"partner-shared-secret-of-32-bytes";
const ED_SEED: [u8; 32] = [7; 32];
const HOST: &str = "api.test";
const URI: &str = "/v1/payments?currency=EUR";
const BODY: &[u8] = br#"{"amount": 10}"#;

enum Key {
    Hmac,
    Ed25519,
}

pub(crate) struct Signing<'a> {
    key: Key,
    body: Option<&'a [u8]>,
    /// The body actually sent (differs from `body` to simulate tampering).
    sent_body: Option<&'a [u8]>,
    components: &'a [&'a str],
    created: u64,
    nonce: Option<&'a str>,
}

impl Default for Signing<'_> {
    fn default() -> Self {
        Signing {
            key: Key::Hmac,
            body: Some(BODY),
            sent_body: None,
            components: &["@method", "@authority", "@path", "@query", "content-digest"],
            created: now(),
            nonce: None,
        }
    }
}

pub(crate) fn signed_request(signing: &Signing<'_>) -> http::Request<Full<Bytes>> {
    let mut builder = http::Request::post(URI).header("host", HOST);
    if let Some(body) = signing.body {
        builder = builder.header("content-digest", content_digest_header(body));
    }
    let head = builder.body(()).expect("request").into_parts().0;
    let covered: Vec<String> = signing
        .components
        .iter()
        .map(|name| format!("\"{name}\""))
        .collect();
    let key_id = match signing.key {
        Key::Hmac => "hmac-partner",
        Key::Ed25519 => "ed-partner",
    };
    let mut input = format!(
        "sig1=({});created={};keyid=\"{key_id}\"",
        covered.join(" "),
        signing.created
    );
    if let Some(nonce) = signing.nonce {
        input.push_str(&format!(";nonce=\"{nonce}\""));
    }
    let members = parse_dictionary(&input).expect("signature input");
    let Member::InnerList(items, params) = &members[0].1 else {
        panic!("inner list");
    };
    let base = signature_base(&head, items, params).expect("signature base");
    let signature = match signing.key {
        Key::Hmac => {
            let mut mac = Hmac::<Sha256>::new_from_slice(HMAC_SECRET).expect("hmac key");
            mac.update(base.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        Key::Ed25519 => SigningKey::from_bytes(&ED_SEED)
            .sign(base.as_bytes())
            .to_bytes()
            .to_vec(),
    };
    let mut request = http::Request::from_parts(
        head,
        Full::new(Bytes::copy_from_slice(
            signing.sent_body.or(signing.body).unwrap_or_default(),
        )),
    );
    let headers = request.headers_mut();
    headers.insert("signature-input", input.parse().expect("header"));
    headers.insert(
        "signature",
        format!("sig1=:{}:", STANDARD.encode(signature))
            .parse()
            .expect("header"),
    );
    request
}

async fn setup() -> (MockUpstream, common::TestGateway, tempfile::TempDir) {
    let upstream = MockUpstream::builder().echo_body().start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let secret_path = dir.path().join("hmac-partner");
    std::fs::write(&secret_path, HMAC_SECRET).expect("secret");
    let ed_public = STANDARD.encode(SigningKey::from_bytes(&ED_SEED).verifying_key().as_bytes());
    let authentication = format!(
        r#"authentication:
  signatures:
    keys:
      - keyId: hmac-partner
        algorithm: hmac-sha256
        secret: file:{}
        subject: acme-payments
        tenantId: partner-tenant
      - keyId: ed-partner
        algorithm: ed25519
        publicKey: "{ed_public}"
        subject: globex
"#,
        secret_path.display()
    );
    let yaml = config(
        &upstream.endpoint(),
        &authentication,
        "      auth: required\n      authMethods: [signature]",
        "",
    );
    let gateway = common::start(&yaml).await;
    (upstream, gateway, dir)
}

#[tokio::test]
async fn signed_requests_pass_with_their_checked_body() {
    let (upstream, gateway, _dir) = setup().await;
    for key in [Key::Hmac, Key::Ed25519] {
        let response = common::send(
            gateway.addr,
            signed_request(&Signing {
                key,
                ..Signing::default()
            }),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.body().as_ref(),
            BODY,
            "the checked bytes went upstream"
        );
    }
    let subjects: Vec<String> = upstream
        .recorded()
        .iter()
        .map(|seen| {
            seen.headers["x-portcullis-subject"]
                .to_str()
                .expect("ascii")
                .to_string()
        })
        .collect();
    assert_eq!(subjects, ["acme-payments", "globex"]);

    // Without a body, content-digest need not be covered.
    let response = common::send(
        gateway.addr,
        signed_request(&Signing {
            body: None,
            components: &["@method", "@authority", "@path", "@query"],
            ..Signing::default()
        }),
    )
    .await;
    assert_eq!(response.status(), 200);
    gateway.stop().await;
}

#[tokio::test]
async fn stale_tampered_incomplete_and_replayed_signatures_are_refused() {
    let (upstream, gateway, _dir) = setup().await;
    let cases = [
        (
            "stale created",
            Signing {
                created: now() - 1000,
                ..Signing::default()
            },
            "signature_stale",
        ),
        (
            "changed body",
            Signing {
                sent_body: Some(br#"{"amount": 10000}"#),
                ..Signing::default()
            },
            "content_digest_mismatch",
        ),
        (
            "changed body, ed25519",
            Signing {
                key: Key::Ed25519,
                sent_body: Some(br#"{"amount": 99}"#),
                ..Signing::default()
            },
            "content_digest_mismatch",
        ),
        (
            "@path not covered",
            Signing {
                components: &["@method", "@authority", "@query", "content-digest"],
                ..Signing::default()
            },
            "signature_missing_component",
        ),
        (
            "content-digest not covered",
            Signing {
                components: &["@method", "@authority", "@path", "@query"],
                ..Signing::default()
            },
            "signature_missing_component",
        ),
    ];
    for (case, signing, reason) in &cases {
        let response = common::send(gateway.addr, signed_request(signing)).await;
        assert_eq!(response.status(), 401, "{case}");
        assert!(
            challenge(&response).contains(reason),
            "{case}: {}",
            challenge(&response)
        );
    }
    assert_eq!(upstream.requests(), 0, "nothing forwarded");

    let nonce = Signing {
        nonce: Some("n-4f9a"),
        ..Signing::default()
    };
    let first = common::send(gateway.addr, signed_request(&nonce)).await;
    assert_eq!(first.status(), 200);
    let replay = common::send(gateway.addr, signed_request(&nonce)).await;
    assert_eq!(replay.status(), 401);
    assert!(challenge(&replay).contains("nonce_replayed"));
    assert_eq!(upstream.requests(), 1);
    gateway.stop().await;
}

#[tokio::test]
async fn a_key_whose_secret_cannot_be_read_is_refused_and_never_installed() {
    let upstream = MockUpstream::echo().await;
    let authentication = r#"authentication:
  signatures:
    keys:
      - keyId: hmac-partner
        algorithm: hmac-sha256
        secret: file:/nonexistent/portcullis-test-secret
        subject: acme-payments
"#;
    let yaml = config(
        &upstream.endpoint(),
        authentication,
        "      auth: required\n      authMethods: [signature]",
        "",
    );
    let gateway = Gateway::new(Metrics::new(), AccessLog::disabled());
    let errors = common::prepare(&gateway, &yaml).expect_err("an unreadable secret is refused");
    assert_eq!(errors.len(), 1, "{errors}");
    assert_eq!(
        errors.errors[0].path,
        "authentication.signatures.keys[0].secret"
    );
    assert!(
        errors.errors[0]
            .message
            .contains("/nonexistent/portcullis-test-secret"),
        "{errors}"
    );
    assert!(!gateway.is_ready(), "nothing is installed");
    assert_eq!(upstream.requests(), 0);
}
