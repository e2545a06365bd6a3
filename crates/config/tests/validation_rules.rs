//! One test per validation rule: each names the field path, the value and the fix.

mod common;

use common::{errors_of, expect_error, load, with_routes, GOOD_ROUTE, SERVICES};
use portcullis_config::{validate, Config};

fn route_with(from: &str, to: &str) -> String {
    assert!(GOOD_ROUTE.contains(from), "fixture lacks {from}");
    with_routes(&GOOD_ROUTE.replace(from, to))
}

fn two_routes(second: &str) -> String {
    with_routes(&format!("{GOOD_ROUTE}{second}"))
}

fn route(name: &str, matcher: &str, extra_policies: &str) -> String {
    format!(
        "\n  - name: {name}\n    match: {matcher}\n    upstream: {{service: checkout-api}}\n    policies: {{auth: required{extra_policies}}}\n"
    )
}

#[test]
fn the_good_fixture_loads() {
    let loaded = load(&with_routes(GOOD_ROUTE)).expect("valid");
    assert!(loaded.warnings().is_empty(), "{:?}", loaded.warnings());
}

#[test]
fn route_names_are_kebab_case() {
    expect_error(
        &route_with("checkout-orders", "Checkout_Orders"),
        "routes[0].name",
        &["Checkout_Orders", "kebab-case", "checkout-orders"],
    );
}

#[test]
fn service_rate_limit_quota_and_listener_names_are_kebab_case() {
    let text = with_routes(GOOD_ROUTE)
        + "  \n"
        + "listeners:\n  - {name: Main, address: \"127.0.0.1:8080\"}\n";
    expect_error(&text, "listeners[0].name", &["Main", "kebab-case"]);
    let text = SERVICES.replace("  billing:", "  Billing_Svc:") + "routes: []\n";
    expect_error(
        &text,
        "services.Billing_Svc",
        &["kebab-case", "billing-svc"],
    );
    let text = SERVICES.replace("  per-ip:", "  perIp:") + "routes: []\n";
    expect_error(&text, "rateLimits.perIp", &["kebab-case", "per-ip"]);
    let text = SERVICES.replace("  monthly:", "  Monthly:") + "routes: []\n";
    expect_error(&text, "quotas.Monthly", &["kebab-case"]);
}

#[test]
fn exactly_one_of_path_and_path_prefix() {
    expect_error(
        &route_with(
            "pathPrefix: /v1/orders",
            "pathPrefix: /v1/orders\n      path: /v1/orders",
        ),
        "routes[0].match",
        &["both `path` and `pathPrefix`"],
    );
    expect_error(
        &route_with("      pathPrefix: /v1/orders\n", ""),
        "routes[0].match",
        &["neither `path` nor `pathPrefix`"],
    );
}

#[test]
fn path_prefix_starts_with_a_slash() {
    expect_error(
        &route_with("pathPrefix: /v1/orders", "pathPrefix: v1/orders"),
        "routes[0].match.pathPrefix",
        &["`v1/orders`", "must start with `/`", "`/v1/orders`"],
    );
}

#[test]
fn paths_are_canonical() {
    for bad in [
        "/v1//orders",
        "/v1/./orders",
        "/v1/../admin",
        "/v1/%2e%2e",
        "/v1/orders?x=1",
        "/v1/orders#a",
        "\"/v1\\\\orders\"",
        "\"/v1/a b\"",
        "\"/v1/\\t\"",
    ] {
        let text = route_with("pathPrefix: /v1/orders", &format!("path: {bad}"));
        let errors = errors_of(&text);
        assert!(
            errors
                .iter()
                .any(|error| error.path == "routes[0].match.path"),
            "{bad}: {errors:?}"
        );
    }
}

#[test]
fn hosts_are_lower_case_dns_names_or_wildcards() {
    expect_error(
        &route_with("host: api.example.com", "host: API.example.com"),
        "routes[0].match.host",
        &["lower-case", "api.example.com"],
    );
    expect_error(
        &route_with("host: api.example.com", "host: \"api.example.com:443\""),
        "routes[0].match.host",
        &["port"],
    );
    expect_error(
        &route_with("host: api.example.com", "host: bad_host"),
        "routes[0].match.host",
        &["not a DNS name"],
    );
    assert!(load(&route_with(
        "host: api.example.com",
        "host: \"*.example.com\""
    ))
    .is_ok());
}

#[test]
fn methods_are_upper_case_and_unique() {
    expect_error(
        &route_with("methods: [GET, POST]", "methods: [get]"),
        "routes[0].match.methods[0]",
        &["`get`", "`GET`"],
    );
    expect_error(
        &route_with("methods: [GET, POST]", "methods: [GET, GET]"),
        "routes[0].match.methods[1]",
        &["twice"],
    );
}

#[test]
fn timeout_is_at_most_30000_and_above_zero() {
    expect_error(
        &route_with("timeoutMs: 1500", "timeoutMs: 30001"),
        "routes[0].policies.timeoutMs",
        &["30001", "at most 30000"],
    );
    expect_error(
        &route_with("timeoutMs: 1500", "timeoutMs: 0"),
        "routes[0].policies.timeoutMs",
        &["timeoutMs 0"],
    );
    assert!(load(&route_with("timeoutMs: 1500", "timeoutMs: 30000")).is_ok());
    let text = with_routes(GOOD_ROUTE) + "defaults:\n  timeoutMs: 60000\n";
    expect_error(&text, "defaults.timeoutMs", &["60000"]);
}

#[test]
fn retries_are_at_most_two() {
    expect_error(
        &route_with("retries: 1", "retries: 3"),
        "routes[0].policies.retries",
        &["retries 3", "0, 1 or 2"],
    );
    assert!(load(&route_with("retries: 1", "retries: 2")).is_ok());
}

#[test]
fn duplicate_route_names() {
    let second = GOOD_ROUTE.replace("/v1/orders", "/v2/orders");
    expect_error(
        &two_routes(&second),
        "routes[1].name",
        &["duplicate route name `checkout-orders`", "routes[0]"],
    );
}

#[test]
fn duplicate_listener_names_and_addresses() {
    let text = with_routes(GOOD_ROUTE)
        + "listeners:\n  - {name: main, address: \"127.0.0.1:8080\"}\n  - {name: main, address: \"127.0.0.1:8081\"}\n  - {name: other, address: \"127.0.0.1:8080\"}\n";
    let errors = errors_of(&text);
    assert!(errors.iter().any(|e| e.path == "listeners[1].name" && e.message.contains("duplicate listener name")), "{errors:?}");
    assert!(
        errors.iter().any(|e| e.path == "listeners[2].address"
            && e.message.contains("duplicate listener address")),
        "{errors:?}"
    );
}

#[test]
fn unknown_upstream_service() {
    expect_error(
        &route_with("service: checkout-api", "service: checkout"),
        "routes[0].upstream.service",
        &["unknown service `checkout`", "checkout-api"],
    );
}

#[test]
fn unknown_version_in_version_and_splits() {
    expect_error(
        &route_with(
            "service: checkout-api",
            "service: checkout-api\n      version: beta",
        ),
        "routes[0].upstream.version",
        &["unknown version `beta`", "canary, stable"],
    );
    let splits = "service: checkout-api\n      splits:\n        - {version: stable, weight: 9500}\n        - {version: beta, weight: 500}";
    expect_error(
        &route_with("service: checkout-api", splits),
        "routes[0].upstream.splits[1].version",
        &["unknown version `beta`"],
    );
}

#[test]
fn version_and_splits_are_exclusive() {
    let both = "service: checkout-api\n      version: stable\n      splits:\n        - {version: stable, weight: 10000}";
    expect_error(
        &route_with("service: checkout-api", both),
        "routes[0].upstream",
        &["both `version` and `splits`"],
    );
}

#[test]
fn split_weights_sum_to_10000_are_positive_and_versions_unique() {
    let short = "service: checkout-api\n      splits:\n        - {version: stable, weight: 9000}\n        - {version: canary, weight: 500}";
    expect_error(
        &route_with("service: checkout-api", short),
        "routes[0].upstream.splits",
        &["sum to 9500", "10000"],
    );
    let zero = "service: checkout-api\n      splits:\n        - {version: stable, weight: 10000}\n        - {version: canary, weight: 0}";
    expect_error(
        &route_with("service: checkout-api", zero),
        "routes[0].upstream.splits[1].weight",
        &["weight 0"],
    );
    let twice = "service: checkout-api\n      splits:\n        - {version: stable, weight: 5000}\n        - {version: stable, weight: 5000}";
    expect_error(
        &route_with("service: checkout-api", twice),
        "routes[0].upstream.splits[1].version",
        &["twice"],
    );
}

#[test]
fn a_service_needs_endpoints_or_versions() {
    let text = SERVICES.replace("    endpoints: [\"10.0.2.1:9000\"]\n", "") + "routes: []\n";
    expect_error(&text, "services.billing", &["no endpoints"]);
    let text = SERVICES.replace("    endpoints: [\"10.0.2.1:9000\"]\n", "    endpoints: [\"10.0.2.1:9000\"]\n    versions: {v1: {endpoints: [\"10.0.2.2:9000\"]}}\n") + "routes: []\n";
    expect_error(
        &text,
        "services.billing",
        &["both `endpoints` and `versions`"],
    );
}

#[test]
fn endpoints_are_host_port_host_or_bracketed_v6() {
    let text = SERVICES.replace(
        "\"10.0.2.1:9000\"",
        "\"10.0.2.1:9000\", \"[::1]:9000\", \"::1\", \"host:99999\"",
    ) + "routes: []\n";
    let errors = errors_of(&text);
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "services.billing.endpoints[2]",
            "services.billing.endpoints[3]"
        ],
        "{errors:?}"
    );
    assert!(errors[0].message.contains("brackets"), "{}", errors[0]);
}

#[test]
fn bare_host_endpoints_need_the_route_port() {
    expect_error(
        &route_with("service: checkout-api", "service: bare"),
        "routes[0].upstream",
        &["bare-host-a", "no port", "port:"],
    );
    assert!(load(&route_with(
        "service: checkout-api",
        "service: bare\n      port: 8080"
    ))
    .is_ok());
}

#[test]
fn endpoint_and_route_ports_must_agree() {
    expect_error(
        &route_with(
            "service: checkout-api",
            "service: checkout-api\n      port: 9090",
        ),
        "routes[0].upstream.port",
        &["9090", ":8080`", "disagrees"],
    );
    assert!(load(&route_with(
        "service: checkout-api",
        "service: checkout-api\n      port: 8080"
    ))
    .is_ok());
}

#[test]
fn unknown_rate_limit_references() {
    expect_error(
        &route_with("rateLimit: checkout-default", "rateLimit: checkout-dflt"),
        "routes[0].policies.rateLimit",
        &["unknown rate limit `checkout-dflt`"],
    );
    expect_error(
        &route_with("rateLimit: checkout-default", "rateLimits: [per-ip, nope]"),
        "routes[0].policies.rateLimits[1]",
        &["unknown rate limit `nope`"],
    );
}

#[test]
fn unknown_quota_reference() {
    expect_error(
        &route_with("retries: 1", "retries: 1\n      quotas: [monthly, yearly]"),
        "routes[0].policies.quotas[1]",
        &["unknown quota `yearly`"],
    );
}

#[test]
fn rate_limit_capacity_and_refill_are_finite_and_positive() {
    let text = SERVICES.replace("capacity: 10\n", "capacity: 0\n") + "routes: []\n";
    expect_error(
        &text,
        "rateLimits.per-ip.capacity",
        &["capacity 0", "above 0"],
    );
    let text = SERVICES.replace("refillPerSecond: 1\n", "refillPerSecond: -2\n") + "routes: []\n";
    expect_error(&text, "rateLimits.per-ip.refillPerSecond", &["-2"]);
    let text = SERVICES.replace("refillPerSecond: 1\n", "refillPerSecond: .inf\n") + "routes: []\n";
    expect_error(
        &text,
        "rateLimits.per-ip.refillPerSecond",
        &["finite number"],
    );
    let mut config = Config::default();
    let mut limit: portcullis_config::RateLimit =
        serde_json::from_str(r#"{"capacity": 1, "refillPerSecond": 1}"#).expect("rate limit");
    limit.capacity = f64::NAN;
    config.rate_limits.insert("nan-limit".into(), limit);
    let errors = validate(&config).expect_err("NaN capacity");
    assert!(
        errors
            .errors
            .iter()
            .any(|e| e.path == "rateLimits.nan-limit.capacity"),
        "{errors}"
    );
}

#[test]
fn missing_auth_policy() {
    expect_error(&route_with("      auth: required\n", ""), "routes[0].policies.auth", &["route checkout-orders has no auth policy: set policies.auth to required, optional or none"]);
}

#[test]
fn public_route_may_not_reach_an_internal_service() {
    let error = expect_error(
        &route_with(
            "service: checkout-api",
            "service: billing\n      port: 9000",
        ),
        "routes[0].upstream.service",
        &[
            "public host api.example.com",
            "internal service billing",
            "visibility",
        ],
    );
    assert!(error.location.is_some());
    let no_host = route_with("      host: api.example.com\n", "")
        .replace("service: checkout-api", "service: billing");
    expect_error(&no_host, "routes[0].upstream.service", &["(any host)"]);
    for internal in [
        "internal.example.com",
        "a.corp.example.com",
        "\"*.x.corp.example.com\"",
    ] {
        let text = route_with("host: api.example.com", &format!("host: {internal}"))
            .replace("service: checkout-api", "service: billing");
        assert!(load(&text).is_ok(), "{internal} should count as internal");
    }
}

#[test]
fn overlapping_routes_with_equal_priority() {
    let second = route(
        "orders-v2",
        "{host: api.example.com, pathPrefix: /v1/orders/, methods: [POST, PUT]}",
        "",
    );
    expect_error(
        &two_routes(&second),
        "routes[1].match",
        &["checkout-orders and orders-v2 overlap", "POST", "priority"],
    );
    let all_methods = route(
        "orders-all",
        "{host: api.example.com, pathPrefix: /v1/orders}",
        "",
    );
    expect_error(&two_routes(&all_methods), "routes[1].match", &["overlap"]);
}

#[test]
fn routes_that_differ_do_not_overlap() {
    for second in [
        route(
            "other-methods",
            "{host: api.example.com, pathPrefix: /v1/orders, methods: [DELETE]}",
            "",
        ),
        route(
            "other-path",
            "{host: api.example.com, pathPrefix: /v1/orders/x}",
            "",
        ),
        route(
            "exact-path",
            "{host: api.example.com, path: /v1/orders}",
            "",
        ),
        route(
            "other-host",
            "{host: www.example.com, pathPrefix: /v1/orders}",
            "",
        ),
        route("no-host", "{pathPrefix: /v1/orders}", ""),
    ] {
        let text = two_routes(&second);
        assert!(load(&text).is_ok(), "{:?}", errors_of(&text));
    }
}

#[test]
fn fully_shadowed_routes_are_unreachable() {
    let higher = route(
        "orders-high",
        "{host: api.example.com, pathPrefix: /v1/orders}",
        "",
    )
    .replace("    policies:", "    priority: 10\n    policies:");
    expect_error(
        &two_routes(&higher),
        "routes[0].match",
        &["route checkout-orders is unreachable", "orders-high"],
    );
    let partial = route(
        "orders-get",
        "{host: api.example.com, pathPrefix: /v1/orders, methods: [GET]}",
        "",
    )
    .replace("    policies:", "    priority: 10\n    policies:");
    assert!(
        load(&two_routes(&partial)).is_ok(),
        "POST is still reachable"
    );
}

#[test]
fn split_key_needs_exactly_one_of_header_or_subject() {
    let both = "service: checkout-api\n      splitKey: {header: x-user-id, subject: true}";
    expect_error(
        &route_with("service: checkout-api", both),
        "routes[0].upstream.splitKey",
        &["exactly one"],
    );
    let neither = "service: checkout-api\n      splitKey: {}";
    expect_error(
        &route_with("service: checkout-api", neither),
        "routes[0].upstream.splitKey",
        &["exactly one"],
    );
    assert!(load(&route_with(
        "service: checkout-api",
        "service: checkout-api\n      splitKey: {subject: true}"
    ))
    .is_ok());
}

#[test]
fn listener_addresses_parse_as_socket_addresses() {
    let text =
        with_routes(GOOD_ROUTE) + "listeners:\n  - {name: main, address: \"localhost:8080\"}\n";
    expect_error(
        &text,
        "listeners[0].address",
        &["localhost:8080", "IP:PORT"],
    );
    let text = with_routes(GOOD_ROUTE) + "admin: {address: \"9901\"}\n";
    expect_error(&text, "admin.address", &["IP:PORT"]);
}

#[test]
fn tls_names_files_and_client_auth_needs_a_ca() {
    let text = with_routes(GOOD_ROUTE)
        + "listeners:\n  - name: tls\n    address: \"127.0.0.1:8443\"\n    tls: {certFile: \"\", keyFile: key.pem, clientAuth: required}\n";
    let errors = errors_of(&text);
    assert!(
        errors.iter().any(|e| e.path == "listeners[0].tls.certFile"),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.path == "listeners[0].tls.clientCaFile"
                && e.message.contains("clientAuth needs clientCaFile")),
        "{errors:?}"
    );
    let ok = with_routes(GOOD_ROUTE)
        + "listeners:\n  - name: tls\n    address: \"127.0.0.1:8443\"\n    tls: {certFile: cert.pem, keyFile: key.pem, clientAuth: optional, clientCaFile: ca.pem}\n";
    assert!(load(&ok).is_ok());
}

#[test]
fn api_key_hash_format() {
    let key = |hash: &str| {
        with_routes(GOOD_ROUTE) + &format!("authentication:\n  apiKeys:\n    keys:\n      - {{id: partner-1, hash: \"{hash}\"}}\n")
    };
    expect_error(
        &key("5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"),
        "authentication.apiKeys.keys[0].hash",
        &["sha256:"],
    );
    expect_error(
        &key(&format!("sha256:{}", "A".repeat(64))),
        "authentication.apiKeys.keys[0].hash",
        &["lower-case"],
    );
    assert!(load(&key(&format!("sha256:{}", "ab".repeat(32)))).is_ok());
}

#[test]
fn authorization_tenant_status_values() {
    let text = route_with(
        "retries: 1",
        "retries: 1\n      authorization:\n        tenantStatus: [ACTIVE, suspended]",
    );
    expect_error(
        &text,
        "routes[0].policies.authorization.tenantStatus[1]",
        &["`suspended`", "SUSPENDED"],
    );
}

#[test]
fn access_log_queue_capacity_is_positive() {
    let text = with_routes(GOOD_ROUTE) + "accessLog: {queueCapacity: 0}\n";
    expect_error(&text, "accessLog.queueCapacity", &["queueCapacity 0"]);
}

#[test]
fn request_policy_header_names_and_content_types() {
    let text = with_routes(GOOD_ROUTE)
        + "requestPolicy:\n  requireHeaders: [\"x request\"]\n  allowedHeaders: [\"ok\", \"bad:header\"]\n  allowedContentTypes: [application/json, json]\n";
    let errors = errors_of(&text);
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "requestPolicy.requireHeaders[0]",
            "requestPolicy.allowedHeaders[1]",
            "requestPolicy.allowedContentTypes[1]"
        ]
    );
    let route_level = route_with(
        "retries: 1",
        "retries: 1\n    requestPolicy: {allowedContentTypes: [nope]}",
    );
    expect_error(
        &route_level,
        "routes[0].requestPolicy.allowedContentTypes[0]",
        &["type/subtype"],
    );
}

#[test]
fn principal_keyed_rate_limit_on_an_anonymous_route_is_a_warning() {
    let text = route_with("auth: required", "auth: none");
    let loaded = load(&text).expect("warnings do not fail the load");
    assert_eq!(loaded.warnings().len(), 1, "{:?}", loaded.warnings());
    assert_eq!(loaded.warnings()[0].path, "routes[0].policies.rateLimit");
    assert!(
        loaded.warnings()[0].message.contains("tenantId"),
        "{}",
        loaded.warnings()[0]
    );
    assert!(loaded.warnings()[0].location.is_some());
    let by_ip = route_with("auth: required", "auth: none")
        .replace("rateLimit: checkout-default", "rateLimit: per-ip");
    assert!(load(&by_ip).expect("valid").warnings().is_empty());
}

#[test]
fn validate_reports_paths_without_positions() {
    let text = route_with("retries: 1", "retries: 5");
    let (config, _) =
        portcullis_config::parse_str(&text, portcullis_config::Format::Yaml).expect("parses");
    let errors = validate(&config).expect_err("invalid");
    assert_eq!(errors.errors.len(), 1);
    assert_eq!(errors.errors[0].path, "routes[0].policies.retries");
    assert_eq!(errors.errors[0].location, None);
}

#[test]
fn many_validation_errors_are_reported_together() {
    let bad = GOOD_ROUTE
        .replace("checkout-orders", "Bad_Name")
        .replace("timeoutMs: 1500", "timeoutMs: 99999")
        .replace("retries: 1", "retries: 9")
        .replace("service: checkout-api", "service: nowhere");
    let other = route("other", "{pathPrefix: nope}", ", rateLimit: missing");
    let errors = errors_of(&with_routes(&format!("{bad}{other}")));
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    for expected in [
        "routes[0].name",
        "routes[0].policies.timeoutMs",
        "routes[0].policies.retries",
        "routes[0].upstream.service",
        "routes[1].match.pathPrefix",
        "routes[1].policies.rateLimit",
    ] {
        assert!(
            paths.contains(&expected),
            "{expected} missing from {paths:?}"
        );
    }
}

#[test]
fn listener_slow_client_timeouts_must_be_positive() {
    for field in ["bodyReadTimeoutMs", "writeTimeoutMs"] {
        let text = with_routes(GOOD_ROUTE)
            + &format!("listeners:\n  - {{name: main, address: \"127.0.0.1:8080\", {field}: 0}}\n");
        expect_error(
            &text,
            &format!("listeners[0].{field}"),
            &[field, "positive value"],
        );
    }
    let text = with_routes(GOOD_ROUTE)
        + "listeners:\n  - {name: main, address: \"127.0.0.1:8080\", bodyReadTimeoutMs: 250, writeTimeoutMs: 750}\n";
    let loaded = portcullis_config::load_str(&text, portcullis_config::Format::Yaml)
        .unwrap_or_else(|errors| panic!("{errors}"));
    let listener = &loaded.config().listeners[0];
    assert_eq!(
        (listener.body_read_timeout_ms, listener.write_timeout_ms),
        (250, 750)
    );
}
