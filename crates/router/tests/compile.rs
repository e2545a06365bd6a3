//! `Snapshot::compile`: defaults, resolved names, upstream targets, pool keys, errors.

mod common;

use std::time::{Duration, Instant};

use common::{config, route, service, PathSpec, SERVICE};
use http::Method;
use portcullis_config::{
    Config, Quota, QuotaWindow, RateLimit, RequestPolicy, Route, ServiceVersion, SplitKey,
    TrafficSplit,
};
use portcullis_router::{split_bucket, Lookup, Snapshot, SplitKeySource};

fn prefix_route(name: &str, prefix: &str) -> Route {
    route(name, None, PathSpec::Prefix(prefix), &[], 0)
}

fn compile(config: &Config) -> Snapshot {
    Snapshot::compile(&common::validated(config)).expect("config compiles")
}

/// A configuration the compiler must never see: validation refuses it first, naming the
/// field. (What the compiler checks on its own is tested beside it, in `src/tests`.)
fn refused(config: &Config) -> String {
    match portcullis_config::validate_config(config.clone()) {
        Err(errors) => errors.to_string(),
        Ok(_) => panic!("expected validation to refuse the configuration"),
    }
}

fn rate_limit() -> RateLimit {
    RateLimit {
        algorithm: Default::default(),
        capacity: 10.0,
        refill_per_second: 1.0,
        key: vec![],
        store: Default::default(),
        failure_mode: Default::default(),
        local_fallback: None,
        lease_size: None,
    }
}

fn versioned_service(versions: &[(&str, &[&str])]) -> portcullis_config::Service {
    let mut service = service(&[]);
    for (name, endpoints) in versions {
        let endpoints = endpoints
            .iter()
            .map(|endpoint| endpoint.to_string())
            .collect();
        service
            .versions
            .insert(name.to_string(), ServiceVersion { endpoints });
    }
    service
}

#[test]
fn policies_take_route_values_else_defaults() {
    let mut custom = prefix_route("custom", "/a");
    custom.policies.timeout_ms = Some(2_500);
    custom.policies.retries = Some(2);
    custom.policies.forward_authorization = Some(true);
    let mut config = config(vec![custom, prefix_route("plain", "/b")]);
    config.defaults.timeout_ms = 7_000;
    let snapshot = compile(&config);
    let [custom, plain] = snapshot.routes() else {
        panic!("two routes")
    };
    assert_eq!(
        (custom.timeout, custom.retries, custom.forward_authorization),
        (Duration::from_millis(2_500), 2, true)
    );
    assert_eq!(
        (plain.timeout, plain.retries, plain.forward_authorization),
        (Duration::from_millis(7_000), 0, false)
    );
    assert_eq!((custom.id, &*custom.name, plain.id), (0, "custom", 1));
}

#[test]
fn a_route_without_auth_does_not_compile() {
    let mut unauthenticated = prefix_route("no-auth", "/a");
    unauthenticated.policies.auth = None;
    let error = refused(&config(vec![unauthenticated]));
    assert!(error.contains("routes[0].policies.auth"), "{error}");
}

#[test]
fn rate_limits_merge_in_order_without_repeats_and_must_exist() {
    let mut limited = prefix_route("limited", "/a");
    limited.policies.rate_limit = Some("per-user".into());
    limited.policies.rate_limits = vec!["per-tenant".into(), "per-user".into(), "per-ip".into()];
    limited.policies.quotas = vec!["monthly".into(), "monthly".into()];
    let mut config = config(vec![limited]);
    for name in ["per-user", "per-tenant", "per-ip"] {
        config.rate_limits.insert(name.into(), rate_limit());
    }
    config.quotas.insert(
        "monthly".into(),
        Quota {
            limit: 5,
            window: QuotaWindow::Month,
            key: vec![],
        },
    );
    let snapshot = compile(&config);
    let names: Vec<&str> = snapshot.routes()[0]
        .rate_limits
        .iter()
        .map(|name| &**name)
        .collect();
    assert_eq!(names, ["per-user", "per-tenant", "per-ip"]);
    assert_eq!(snapshot.routes()[0].quotas.len(), 1);

    config.rate_limits.remove("per-ip");
    let error = refused(&config);
    assert!(
        error.contains("`per-ip`") && error.contains("routes[0].policies.rateLimits[2]"),
        "{error}"
    );
}

#[test]
fn request_policy_is_the_routes_else_the_top_level_one() {
    let mut own = prefix_route("own", "/a");
    own.request_policy = Some(RequestPolicy {
        max_body_bytes: Some(10),
        ..RequestPolicy::default()
    });
    let mut config = config(vec![own, prefix_route("inherits", "/b")]);
    config.request_policy = Some(RequestPolicy {
        max_body_bytes: Some(1_000),
        allowed_content_types: vec!["application/json".into()],
        require_headers: vec!["X-Tenant-Id".into()],
        allowed_headers: Some(vec!["Accept".into()]),
    });
    let snapshot = compile(&config);
    let own = &snapshot.routes()[0].request_policy;
    assert_eq!(own.max_body_bytes, Some(10));
    assert!(own.allowed_content_types.is_empty() && own.require_headers.is_empty());
    let inherited = &snapshot.routes()[1].request_policy;
    assert_eq!(inherited.max_body_bytes, Some(1_000));
    assert_eq!(inherited.allowed_content_types, ["application/json"]);
    assert_eq!(inherited.require_headers, ["x-tenant-id"]);
    assert_eq!(
        inherited.allowed_headers.as_deref(),
        Some(&[http::header::ACCEPT][..])
    );

    let defaulted = compile(&common::config(vec![prefix_route("bare", "/")]));
    assert_eq!(defaulted.routes()[0].request_policy.max_body_bytes, None);
}

#[test]
fn plain_endpoints_are_the_default_version_with_service_settings() {
    let mut config = config(vec![prefix_route("r", "/")]);
    let svc = config.services.get_mut(SERVICE).expect("service");
    svc.connect_timeout_ms = 250;
    svc.max_concurrent_requests = Some(64);
    svc.protocol = portcullis_config::UpstreamProtocol::Http2;
    let snapshot = compile(&config);
    let upstream = &snapshot.routes()[0].upstream;
    assert_eq!(upstream.connect_timeout, Duration::from_millis(250));
    assert_eq!(upstream.max_concurrent_requests, Some(64));
    assert_eq!(
        upstream.protocol,
        portcullis_config::UpstreamProtocol::Http2
    );
    assert!(!upstream.is_split());
    let target = upstream.choose(b"anyone");
    assert_eq!(
        (&*target.version, &*target.pool_key),
        ("default", "svc/default")
    );
    assert_eq!(&*target.endpoints[0].authority, "127.0.0.1:8080");
    assert!(matches!(&upstream.split_key, SplitKeySource::Header(name) if name == "x-user-id"));
}

#[test]
fn versions_resolve_pinned_split_only_or_stable() {
    let stable_canary: &[(&str, &[&str])] =
        &[("stable", &["10.0.0.5:80"]), ("canary", &["10.0.1.9:80"])];
    let mut pinned = prefix_route("pinned", "/p");
    pinned.upstream.version = Some("canary".into());
    let mut split = prefix_route("split", "/s");
    split.upstream.splits = vec![
        TrafficSplit {
            version: "stable".into(),
            weight: 9_000,
        },
        TrafficSplit {
            version: "canary".into(),
            weight: 1_000,
        },
    ];
    split.upstream.split_key = Some(SplitKey {
        header: Some("X-Account".into()),
        subject: false,
    });
    let mut config = config(vec![pinned, split, prefix_route("implicit", "/i")]);
    config
        .services
        .insert(SERVICE.into(), versioned_service(stable_canary));
    let snapshot = compile(&config);
    let versions = |id: usize| -> Vec<String> {
        snapshot.routes()[id]
            .upstream
            .targets
            .iter()
            .map(|t| t.version.to_string())
            .collect()
    };
    assert_eq!(versions(0), ["canary"]);
    assert_eq!(versions(1), ["stable", "canary"]);
    assert_eq!(versions(2), ["stable"]);
    let split = &snapshot.routes()[1].upstream;
    assert!(matches!(&split.split_key, SplitKeySource::Header(name) if name == "x-account"));
    // Buckets below 9000 go to stable, the rest to canary; check keys on both sides.
    let mut seen = [false, false];
    for user in 0..200 {
        let key = format!("user-{user}");
        let expected = if split_bucket(key.as_bytes()) < 9_000 {
            "stable"
        } else {
            "canary"
        };
        let chosen = &split.choose(key.as_bytes()).version;
        assert_eq!(&**chosen, expected, "{key}");
        seen[usize::from(expected == "canary")] = true;
    }
    assert_eq!(seen, [true, true]);

    config.services.insert(
        SERVICE.into(),
        versioned_service(&[("blue", &["a:1"]), ("green", &["b:1"])]),
    );
    config.routes.truncate(0);
    config.routes.push(prefix_route("ambiguous", "/"));
    // Valid, yet no version can be chosen: the compiler refuses it, and its error takes the
    // form of a configuration error with the route's path.
    let validated = common::validated(&config);
    let error = Snapshot::compile(&validated).expect_err("no version to choose");
    assert!(
        error.to_string().contains("stable") && error.to_string().contains("upstream.version"),
        "{error}"
    );
    let errors = error.to_config_errors(&validated);
    assert_eq!(errors.errors[0].path, "routes[0]");
    assert!(errors.to_string().contains("ambiguous"), "{errors}");

    config
        .services
        .insert(SERVICE.into(), versioned_service(&[("blue", &["a:1"])]));
    assert_eq!(
        &*compile(&config).routes()[0].upstream.targets[0].version,
        "blue"
    );
}

#[test]
fn unknown_versions_and_bad_weights_do_not_compile() {
    let mut pinned = prefix_route("pinned", "/");
    pinned.upstream.version = Some("nope".into());
    let error = refused(&config(vec![pinned]));
    assert!(error.contains("`nope`"), "{error}");

    let mut split = prefix_route("split", "/");
    split.upstream.splits = vec![TrafficSplit {
        version: "default".into(),
        weight: 9_999,
    }];
    let error = refused(&config(vec![split]));
    assert!(error.contains("9999") && error.contains("10000"), "{error}");

    let mut unknown = prefix_route("unknown", "/");
    unknown.upstream.service = "ghost".into();
    assert!(refused(&config(vec![unknown])).contains("ghost"));
}

#[test]
fn bare_hosts_take_the_route_port_and_pool_keys_follow_endpoint_lists() {
    let mut on_80 = prefix_route("on-80", "/a");
    on_80.upstream.port = Some(80);
    let mut also_80 = prefix_route("also-80", "/b");
    also_80.upstream.port = Some(80);
    let mut config = config(vec![on_80, also_80]);
    config
        .services
        .insert(SERVICE.into(), service(&["backend.internal", "[::1]"]));
    let snapshot = compile(&config);
    let target = &snapshot.routes()[0].upstream.targets[0];
    let authorities: Vec<&str> = target.endpoints.iter().map(|e| &*e.authority).collect();
    assert_eq!(authorities, ["backend.internal:80", "[::1]:80"]);
    assert_eq!(
        &*target.pool_key, "svc/default",
        "identical lists share the plain key"
    );

    let mut on_81 = prefix_route("on-81", "/c");
    on_81.upstream.port = Some(81);
    config.routes.push(on_81);
    let snapshot = compile(&config);
    let keys: Vec<&str> = snapshot
        .routes()
        .iter()
        .map(|r| &*r.upstream.targets[0].pool_key)
        .collect();
    assert_eq!(keys, ["svc/default:80", "svc/default:80", "svc/default:81"]);

    config.routes[0].upstream.port = None;
    let error = refused(&config);
    assert!(
        error.contains("on-80") && error.contains("upstream.port"),
        "{error}"
    );
}

#[test]
fn match_patterns_are_checked_before_compile() {
    let routes = vec![
        route(
            "orders",
            Some("api.example.com"),
            PathSpec::Prefix("/v1/orders/"),
            &["GET"],
            0,
        ),
        route("users", None, PathSpec::Exact("/v1/~user"), &[], 0),
    ];
    let snapshot = compile(&config(routes));
    assert!(
        matches!(snapshot.lookup("API.example.com", &Method::GET, "/v1/orders"), Lookup::Found(r) if r.id == 0)
    );
    assert!(
        matches!(snapshot.lookup("", &Method::GET, "/v1/~user"), Lookup::Found(r) if r.id == 1)
    );

    for (host, path) in [
        (Some("*"), "/"),
        (Some("a.*.com"), "/"),
        (Some(""), "/"),
        (Some("API.Example.com"), "/"),
        (None, "relative"),
        (None, "/.."),
        (None, "/v1/%7Euser"),
    ] {
        let error = refused(&config(vec![route(
            "bad",
            host,
            PathSpec::Prefix(path),
            &[],
            0,
        )]));
        assert!(
            error.contains("routes[0].match."),
            "{host:?} {path}: {error}"
        );
    }
    let mut both = prefix_route("both", "/a");
    both.matcher.path = Some("/a".into());
    assert!(refused(&config(vec![both])).contains("routes[0].match"));
}

fn many_routes(count: usize) -> Config {
    let routes = (0..count)
        .map(|n| {
            let host = format!("tenant{}.example.com", n % 100);
            let path = format!("/v1/team{}/resource{}", n / 100, n % 100);
            route(
                &format!("route-{n}"),
                Some(&host),
                PathSpec::Prefix(&path),
                &["GET", "POST"],
                0,
            )
        })
        .collect();
    config(routes)
}

/// The fastest of three compilations: the least disturbed by whatever else the machine runs.
fn fastest_compile(config: &Config) -> Duration {
    (0..3)
        .map(|_| {
            let started = Instant::now();
            let snapshot = compile(config);
            let elapsed = started.elapsed();
            drop(snapshot);
            elapsed
        })
        .min()
        .unwrap_or_default()
}

/// Compilation grows about linearly with the route count: four times the routes may take at
/// most eight times as long (quadratic growth would take sixteen). A ratio, not a wall-clock
/// bound, so a loaded test machine does not fail it; absolute times are in BENCHMARKS.md.
#[test]
fn ten_thousand_routes_compile_and_compilation_grows_linearly() {
    let large = many_routes(10_000);
    let snapshot = compile(&large);
    assert_eq!(snapshot.routes().len(), 10_000);
    let found = snapshot.lookup(
        "tenant42.example.com",
        &Method::GET,
        "/v1/team99/resource42/x",
    );
    assert!(
        matches!(found, Lookup::Found(r) if &*r.name == "route-9942"),
        "{found:?}"
    );
    let small_time = fastest_compile(&many_routes(2_500));
    let large_time = fastest_compile(&large);
    assert!(
        large_time < small_time * 8,
        "10,000 routes took {large_time:?}, 2,500 took {small_time:?}: more than linear growth"
    );
}
