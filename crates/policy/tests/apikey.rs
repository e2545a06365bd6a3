//! API keys: hashed storage, lookup from the configured header only, revoked and expired keys,
//! and the key never showing up in errors or Debug output.

use portcullis_config::model::ApiKeyAuthentication;
use portcullis_policy::apikey::{generate_api_key, hash_api_key, ApiKeyConfigError, ApiKeyStore};
use portcullis_policy::{AuthFailure, AuthMethod};
use serde_json::json;

const NOW: i64 = 1_700_000_000; // 2023-11-14T22:13:20Z

fn store(header: Option<&str>) -> (ApiKeyStore, [String; 3]) {
    let live = generate_api_key();
    let revoked = generate_api_key();
    let expired = generate_api_key();
    let mut config = json!({"keys": [
        {"id": "partner-live", "hash": live.1, "tenantId": "acme", "scopes": ["orders:read"], "products": ["gold"]},
        {"id": "partner-revoked", "hash": revoked.1, "status": "REVOKED"},
        {"id": "partner-expired", "hash": expired.1, "expiresAt": "2023-11-14T22:13:20Z"},
    ]});
    if let Some(header) = header {
        config["header"] = json!(header);
    }
    let config: ApiKeyAuthentication = serde_json::from_value(config).expect("config");
    let store = ApiKeyStore::from_config(&config).expect("store");
    (store, [live.0, revoked.0, expired.0])
}

fn request(header: &str, value: &str) -> http::request::Parts {
    http::Request::get("/v1/orders")
        .header(header, value)
        .body(())
        .expect("request")
        .into_parts()
        .0
}

#[test]
fn an_active_key_in_the_configured_header_yields_its_principal() {
    let (store, [live, _, _]) = store(None);
    let principal = store
        .authenticate(&request("x-api-key", &live), NOW)
        .expect("accepted")
        .expect("present");
    assert_eq!(principal.key_id.as_deref(), Some("partner-live"));
    assert_eq!(principal.subject, "partner-live");
    assert_eq!(principal.tenant_id.as_deref(), Some("acme"));
    assert_eq!(principal.scopes, vec!["orders:read"]);
    assert_eq!(principal.products, vec!["gold"]);
    assert_eq!(principal.method, AuthMethod::ApiKey);
}

#[test]
fn revoked_expired_and_wrong_keys_are_refused() {
    let (store, [live, revoked, expired]) = store(None);
    let check = |key: &str, now: i64| store.authenticate(&request("x-api-key", key), now);
    assert_eq!(check(&revoked, NOW), Err(AuthFailure::ApiKeyRevoked));
    assert_eq!(check(&expired, NOW), Err(AuthFailure::ApiKeyExpired));
    assert!(
        check(&expired, NOW - 1).is_ok(),
        "valid until its expiry instant"
    );
    let wrong = format!("{}x", &live);
    assert_eq!(check(&wrong, NOW), Err(AuthFailure::ApiKeyNotFound));
    assert_eq!(
        check(&live[..live.len() - 1], NOW),
        Err(AuthFailure::ApiKeyNotFound)
    );
    // The stored hash itself is not a key.
    assert_eq!(
        check(&hash_api_key(&live), NOW),
        Err(AuthFailure::ApiKeyNotFound)
    );
}

#[test]
fn a_key_in_another_header_is_not_seen() {
    let (store, [live, _, _]) = store(Some("X-Partner-Key"));
    assert_eq!(
        store.authenticate(&request("x-api-key", &live), NOW),
        Ok(None)
    );
    assert_eq!(
        store.authenticate(&request("authorization", &live), NOW),
        Ok(None)
    );
    assert!(store
        .authenticate(&request("x-partner-key", &live), NOW)
        .expect("ok")
        .is_some());
    let twice = http::Request::get("/")
        .header("x-partner-key", &live)
        .header("x-partner-key", &live)
        .body(())
        .expect("request")
        .into_parts()
        .0;
    assert_eq!(
        store.authenticate(&twice, NOW),
        Err(AuthFailure::ApiKeyNotFound)
    );
}

#[test]
fn the_key_never_appears_in_debug_output_or_errors() {
    let (store, keys) = store(None);
    let debug = format!("{store:?}");
    for key in &keys {
        assert!(!debug.contains(key.as_str()));
        let failure = store
            .authenticate(&request("x-api-key", &format!("{key}x")), NOW)
            .expect_err("wrong");
        assert!(!format!("{failure:?} {failure}").contains(key.as_str()));
        let error = failure.to_gateway_error();
        assert!(!String::from_utf8_lossy(&error.problem_json("req-1")).contains(key.as_str()));
    }
    assert!(debug.contains("partner-live"), "ids are shown");
}

#[test]
fn bad_config_names_the_field_and_value() {
    let config: ApiKeyAuthentication = serde_json::from_value(json!({"keys": [
        {"id": "k", "hash": "sha256:abc"}
    ]}))
    .expect("config");
    let error = ApiKeyStore::from_config(&config).expect_err("bad hash");
    assert_eq!(
        error,
        ApiKeyConfigError::InvalidHash {
            index: 0,
            id: "k".into()
        }
    );
    assert!(error.to_string().contains("keys[0].hash"));
    let (_, hash) = generate_api_key();
    let config: ApiKeyAuthentication = serde_json::from_value(json!({"keys": [
        {"id": "k", "hash": hash, "expiresAt": "tomorrow"}
    ]}))
    .expect("config");
    let error = ApiKeyStore::from_config(&config).expect_err("bad expiry");
    assert!(error.to_string().contains("`tomorrow`"));
}
