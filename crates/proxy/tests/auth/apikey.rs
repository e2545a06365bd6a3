//! API keys end to end: the stored hash admits its key; revoked, expired, wrong or
//! misplaced keys are a 401 with nothing forwarded; the key never reaches the access log.

use std::time::Duration;

use crate::common;
use crate::support::*;
use portcullis_policy::apikey::hash_api_key;
use portcullis_telemetry::access_log::AccessLog;
use portcullis_telemetry::metrics::Metrics;
use portcullis_testkit::MockUpstream;

const GOOD_KEY: &str = "pcs_good-key-for-the-tests-0123456789";
const REVOKED_KEY: &str = "pcs_revoked-key-for-the-tests-012345";
const EXPIRED_KEY: &str = "pcs_expired-key-for-the-tests-012345";

fn authentication() -> String {
    format!(
        r#"authentication:
  apiKeys:
    header: X-Api-Key
    keys:
      - id: key-good
        hash: "{}"
        tenantId: acme
        scopes: [orders:read]
        products: [gold]
      - id: key-revoked
        hash: "{}"
        status: REVOKED
      - id: key-expired
        hash: "{}"
        expiresAt: "2020-01-01T00:00:00Z"
"#,
        hash_api_key(GOOD_KEY),
        hash_api_key(REVOKED_KEY),
        hash_api_key(EXPIRED_KEY)
    )
}

/// (case, request headers, reason code expected in the challenge; empty: bare challenge)
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

const POLICIES: &str = "      auth: required\n      authMethods: [apiKey]\n      authorization:\n        product: gold";

#[tokio::test]
async fn api_keys_are_checked_against_their_hashes_and_never_logged() {
    let upstream = MockUpstream::echo().await;
    let captured = Captured::default();
    let (log, guard) = AccessLog::start_with_writer(Box::new(captured.clone()), 64, Metrics::new())
        .expect("access log");
    let yaml = config(&upstream.endpoint(), &authentication(), POLICIES, "");
    let gateway = common::start_with(&yaml, common::listener(), log).await;

    let cases: [Case<'_>; 6] = [
        ("revoked", &[("x-api-key", REVOKED_KEY)], "api_key_revoked"),
        ("expired", &[("x-api-key", EXPIRED_KEY)], "api_key_expired"),
        (
            "wrong",
            &[("x-api-key", "pcs_not-a-key-we-know")],
            "api_key_not_found",
        ),
        ("empty", &[("x-api-key", "")], "api_key_not_found"),
        ("in another header", &[("x-other-key", GOOD_KEY)], ""),
        (
            "as a bearer token",
            &[(
                "authorization",
                "Bearer pcs_good-key-for-the-tests-0123456789",
            )],
            "",
        ),
    ];
    for (case, headers, reason) in cases {
        let response = common::get(gateway.addr, "api.test", "/v1/orders", headers).await;
        assert_eq!(response.status(), 401, "{case}");
        let challenge = challenge(&response);
        if reason.is_empty() {
            assert_eq!(challenge, "Bearer", "{case}: no accepted credential");
        } else {
            assert!(challenge.contains(reason), "{case}: {challenge}");
        }
    }
    assert_eq!(upstream.requests(), 0, "nothing forwarded");

    let response = common::get(
        gateway.addr,
        "api.test",
        "/v1/orders",
        &[("x-api-key", GOOD_KEY)],
    )
    .await;
    assert_eq!(response.status(), 200);
    let seen = upstream.last_request().expect("forwarded");
    assert_eq!(seen.headers["x-portcullis-subject"], "key-good");
    assert_eq!(seen.headers["x-portcullis-tenant"], "acme");

    gateway.stop().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    guard.finish();
    let text = captured.text();
    assert_eq!(text.lines().count(), 7, "{text}");
    for key in [GOOD_KEY, REVOKED_KEY, EXPIRED_KEY] {
        assert!(!text.contains(key), "a key reached the access log");
    }
    let last: serde_json::Value =
        serde_json::from_str(text.lines().last().expect("record")).expect("JSON");
    assert_eq!(last["principal"], "key-good", "the key id is logged");
    assert_eq!(last["tenantId"], "acme");
}

#[tokio::test]
async fn a_key_without_the_routes_product_is_denied() {
    let upstream = MockUpstream::echo().await;
    let silver_key = "pcs_silver-key-for-the-tests-01234567";
    let authentication = format!(
        "{}      - id: key-silver\n        hash: \"{}\"\n        products: [silver]\n",
        authentication(),
        hash_api_key(silver_key)
    );
    let yaml = config(&upstream.endpoint(), &authentication, POLICIES, "");
    let gateway = common::start(&yaml).await;
    let response = common::get(gateway.addr, "api.test", "/", &[("x-api-key", silver_key)]).await;
    assert_eq!(response.status(), 403);
    let body = common::json(response.body());
    assert_eq!(body["status"], 403);
    assert_eq!(upstream.requests(), 0);
    gateway.stop().await;
}
