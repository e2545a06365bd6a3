//! What the compiler checks itself and how it normalises, on configurations built in code
//! that validation would refuse.

use http::Method;
use portcullis_config::{RequestPolicy, TrafficSplit};

use super::common::{config, route, service, PathSpec, SERVICE};
use super::compile_unvalidated;
use crate::{CompileError, Lookup};

fn prefix_route(name: &str, prefix: &str) -> portcullis_config::Route {
    route(name, None, PathSpec::Prefix(prefix), &[], 0)
}

fn compile_error(config: &portcullis_config::Config) -> String {
    match compile_unvalidated(config) {
        Ok(_) => panic!("expected a compile error"),
        Err(error @ CompileError::Route { .. }) => error.to_string(),
    }
}

#[test]
fn every_inconsistency_is_a_compile_error_naming_route_field_and_value() {
    let mut unauthenticated = prefix_route("no-auth", "/a");
    unauthenticated.policies.auth = None;
    let error = compile_error(&config(vec![unauthenticated]));
    assert!(
        error.contains("no-auth") && error.contains("policies.auth"),
        "{error}"
    );

    let mut limited = prefix_route("limited", "/a");
    limited.policies.rate_limits = vec!["per-ip".into()];
    let error = compile_error(&config(vec![limited]));
    assert!(
        error.contains("\"per-ip\"") && error.contains("rateLimits"),
        "{error}"
    );

    let mut pinned = prefix_route("pinned", "/");
    pinned.upstream.version = Some("nope".into());
    let error = compile_error(&config(vec![pinned]));
    assert!(error.contains("\"nope\""), "{error}");

    let mut split = prefix_route("split", "/");
    split.upstream.splits = vec![TrafficSplit {
        version: "default".into(),
        weight: 9_999,
    }];
    let error = compile_error(&config(vec![split]));
    assert!(error.contains("9999") && error.contains("10000"), "{error}");

    let mut unknown = prefix_route("unknown", "/");
    unknown.upstream.service = "ghost".into();
    assert!(compile_error(&config(vec![unknown])).contains("\"ghost\""));

    let mut bare = config(vec![prefix_route("on-80", "/a")]);
    bare.services
        .insert(SERVICE.into(), service(&["backend.internal"]));
    let error = compile_error(&bare);
    assert!(
        error.contains("on-80") && error.contains("upstream.port"),
        "{error}"
    );

    for (host, path) in [
        (Some("*"), "/"),
        (Some("a.*.com"), "/"),
        (Some(""), "/"),
        (None, "relative"),
        (None, "/.."),
    ] {
        let error = compile_error(&config(vec![route(
            "bad",
            host,
            PathSpec::Prefix(path),
            &[],
            0,
        )]));
        assert!(error.contains("match."), "{host:?} {path}: {error}");
    }
    let mut both = prefix_route("both", "/a");
    both.matcher.path = Some("/a".into());
    assert!(compile_error(&config(vec![both])).contains("both path and pathPrefix"));
}

#[test]
fn hosts_methods_paths_and_media_types_are_normalised() {
    let routes = vec![
        route(
            "upper-host",
            Some("API.Example.com"),
            PathSpec::Prefix("/v1/orders/"),
            &["get"],
            0,
        ),
        route("encoded", None, PathSpec::Exact("/v1/%7Euser"), &[], 0),
    ];
    let mut config = config(routes);
    config.request_policy = Some(RequestPolicy {
        allowed_content_types: vec!["Application/JSON; charset=utf-8".into()],
        ..RequestPolicy::default()
    });
    let snapshot = compile_unvalidated(&config).expect("compiles");
    assert!(
        matches!(snapshot.lookup("api.example.com", &Method::GET, "/v1/orders"), Lookup::Found(r) if r.id == 0)
    );
    assert!(
        matches!(snapshot.lookup("", &Method::GET, "/v1/~user"), Lookup::Found(r) if r.id == 1)
    );
    assert_eq!(
        snapshot.routes()[0].request_policy.allowed_content_types,
        ["application/json"]
    );
}

#[test]
fn overlapping_routes_of_equal_priority_go_to_the_first_in_file_order() {
    let tie = compile_unvalidated(&config(vec![
        route("first", None, PathSpec::Prefix("/a"), &["GET"], 0),
        route("second", None, PathSpec::Prefix("/a/"), &["GET"], 0),
        route(
            "preferred",
            None,
            PathSpec::Prefix("/a"),
            &["GET", "PUT"],
            5,
        ),
    ]))
    .expect("compiles");
    let found = |method: &Method, path: &str| match tie.lookup("", method, path) {
        Lookup::Found(route) => Some(route.name.to_string()),
        _ => None,
    };
    assert_eq!(found(&Method::GET, "/a").as_deref(), Some("preferred"));
    assert_eq!(found(&Method::PUT, "/a/1").as_deref(), Some("preferred"));
    let tie = compile_unvalidated(&config(vec![
        route("first", None, PathSpec::Prefix("/a"), &["GET"], 0),
        route("second", None, PathSpec::Prefix("/a/"), &["GET"], 0),
    ]))
    .expect("compiles");
    assert!(matches!(tie.lookup("", &Method::GET, "/a"), Lookup::Found(r) if &*r.name == "first"));
}
