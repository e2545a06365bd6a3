//! The seed's snippets load as written; the checksum ignores syntax and key order.

mod common;

use portcullis_config::{canonical_json, load_str, AuthMode, Format, RetryOn};

const SEED_YAML: &str = include_str!("fixtures/seed.yaml");

/// The seed fixture as JSON, keys deliberately in another order.
const SEED_JSON: &str = r#"{
  "services": {"checkout-api": {"versions": {"canary": {"endpoints": ["checkout-canary-1"]},
                                            "stable": {"endpoints": ["checkout-stable-1", "checkout-stable-2"]}},
                                "visibility": "public"}},
  "requestPolicy": {"requireHeaders": ["x-request-id"], "allowedContentTypes": ["application/json"], "maxBodyBytes": 1048576},
  "rateLimits": {"checkout-default": {"key": ["tenantId", "routeName"], "refillPerSecond": 100, "capacity": 1000, "algorithm": "token_bucket"}},
  "routes": [
    {"upstream": {"port": 8080, "service": "checkout-api"},
     "name": "checkout-orders",
     "policies": {"retries": 1, "timeoutMs": 1500, "rateLimit": "checkout-default", "auth": "required"},
     "match": {"methods": ["GET", "POST"], "pathPrefix": "/v1/orders", "host": "api.example.com"}},
    {"name": "checkout-orders-write",
     "match": {"host": "api.example.com", "path": "/v1/orders", "methods": ["POST"]},
     "upstream": {"service": "checkout-api", "port": 8080,
                  "splits": [{"weight": 9500, "version": "stable"}, {"version": "canary", "weight": 500}]},
     "policies": {"auth": "required", "timeoutMs": 1500, "retries": 1, "retryOn": ["connect-failure", "reset", 503],
                  "authorization": {"tenantStatus": ["ACTIVE"], "requiredScopes": ["orders:write"]}}}
  ]
}"#;

#[test]
fn the_seed_snippets_load_as_written() {
    let loaded = load_str(SEED_YAML, Format::Yaml).unwrap_or_else(|errors| panic!("{errors}"));
    assert!(loaded.warnings().is_empty(), "{:?}", loaded.warnings());
    let config = &loaded.config();
    let route = &config.routes[0];
    assert_eq!(route.name, "checkout-orders");
    assert_eq!(route.upstream.port, Some(8080));
    assert_eq!(route.policies.auth, Some(AuthMode::Required));
    assert_eq!(
        route.policies.rate_limit.as_deref(),
        Some("checkout-default")
    );
    let write = &config.routes[1];
    assert_eq!(
        write.policies.retry_on,
        vec![
            RetryOn::ConnectFailure,
            RetryOn::Reset,
            RetryOn::Status(503)
        ]
    );
    assert_eq!(
        write
            .upstream
            .splits
            .iter()
            .map(|split| split.weight)
            .sum::<u32>(),
        10_000
    );
    assert_eq!(config.rate_limits["checkout-default"].capacity, 1000.0);
    assert_eq!(
        config
            .request_policy
            .as_ref()
            .and_then(|policy| policy.max_body_bytes),
        Some(1_048_576)
    );
    assert!(loaded.checksum().starts_with("sha256:"));
}

#[test]
fn the_json_twin_has_the_same_checksum() {
    let yaml = load_str(SEED_YAML, Format::Yaml).unwrap_or_else(|errors| panic!("{errors}"));
    let json = load_str(SEED_JSON, Format::Json).unwrap_or_else(|errors| panic!("{errors}"));
    assert_eq!(yaml.config(), json.config());
    assert_eq!(yaml.checksum(), json.checksum());
}

#[test]
fn key_order_in_the_source_does_not_matter() {
    let reordered = SEED_YAML.replace(
        "    algorithm: token_bucket\n    capacity: 1000\n",
        "    capacity: 1000\n    algorithm: token_bucket\n",
    );
    assert_ne!(reordered, SEED_YAML);
    let original = load_str(SEED_YAML, Format::Yaml).expect("seed loads");
    let moved = load_str(&reordered, Format::Yaml).expect("reordered loads");
    assert_eq!(original.checksum(), moved.checksum());
}

#[test]
fn any_changed_value_changes_the_checksum() {
    let original = load_str(SEED_YAML, Format::Yaml)
        .expect("seed loads")
        .checksum()
        .to_string();
    for (from, to) in [
        (
            "timeoutMs: 1500\n      retries: 1\n      retryOn",
            "timeoutMs: 1501\n      retries: 1\n      retryOn",
        ),
        (
            "weight: 9500",
            "weight: 9499\n        - version: stable\n          weight: 1",
        ),
        ("capacity: 1000", "capacity: 1001"),
        ("- x-request-id", "- x-correlation-id"),
        ("checkout-canary-1", "checkout-canary-2"),
        ("methods: [GET, POST]", "methods: [POST, GET]"),
    ] {
        assert!(SEED_YAML.contains(from), "{from}");
        let changed = SEED_YAML.replacen(from, to, 1);
        match load_str(&changed, Format::Yaml) {
            Ok(loaded) => assert_ne!(
                loaded.checksum(),
                original,
                "changing {from} kept the checksum"
            ),
            Err(errors) => {
                // A change that breaks validation still changes the canonical model.
                let (config, _) = portcullis_config::parse_str(&changed, Format::Yaml)
                    .unwrap_or_else(|_| panic!("{errors}"));
                assert_ne!(portcullis_config::checksum(&config), original);
            }
        }
    }
}

#[test]
fn canonical_json_is_sorted_and_compact() {
    let loaded = load_str(SEED_YAML, Format::Yaml).expect("seed loads");
    let text = canonical_json(loaded.config());
    assert!(
        !text.contains(' ') || !text.contains(": "),
        "no whitespace between tokens"
    );
    assert!(!text.contains('\n'));
    let access_log = text.find("\"accessLog\"").expect("accessLog");
    let routes = text.find("\"routes\"").expect("routes");
    assert!(access_log < routes);
    let reparsed: serde_json::Value = serde_json::from_str(&text).expect("valid json");
    assert_eq!(
        reparsed,
        serde_json::to_value(loaded.config()).expect("value")
    );
}
