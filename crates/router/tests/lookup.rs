//! `Snapshot::lookup`, rule by rule (DESIGN §4).

mod common;

use common::{config, route, PathSpec};
use http::Method;
use portcullis_router::{Lookup, Snapshot};

fn snapshot(routes: Vec<portcullis_config::Route>) -> Snapshot {
    Snapshot::compile(&common::validated(&config(routes))).expect("config compiles")
}

fn found(lookup: Lookup<'_>) -> Option<String> {
    match lookup {
        Lookup::Found(route) => Some(route.name.to_string()),
        _ => None,
    }
}

fn allow(lookup: Lookup<'_>) -> Option<String> {
    match lookup {
        Lookup::MethodNotAllowed { allow } => Some(allow.to_str().expect("ASCII").to_string()),
        _ => None,
    }
}

#[test]
fn exact_host_beats_wildcard_beats_any_host_and_groups_never_fall_back() {
    let routes = snapshot(vec![
        route(
            "exact",
            Some("api.example.com"),
            PathSpec::Prefix("/v1"),
            &[],
            0,
        ),
        route("wild", Some("*.example.com"), PathSpec::Prefix("/"), &[], 0),
        route("any", None, PathSpec::Prefix("/"), &[], 0),
    ]);
    let get = Method::GET;
    assert_eq!(
        found(routes.lookup("API.example.com.:8443", &get, "/v1/x")).as_deref(),
        Some("exact")
    );
    assert_eq!(
        found(routes.lookup("web.example.com", &get, "/v1/x")).as_deref(),
        Some("wild")
    );
    assert_eq!(
        found(routes.lookup("a.b.example.com", &get, "/")).as_deref(),
        Some("wild")
    );
    assert_eq!(
        found(routes.lookup("example.com", &get, "/")).as_deref(),
        Some("any")
    );
    assert_eq!(found(routes.lookup("", &get, "/")).as_deref(), Some("any"));
    // The exact group has no route for /v2: 404, not the wildcard or the catch-all.
    assert!(matches!(
        routes.lookup("api.example.com", &get, "/v2"),
        Lookup::NotFound
    ));
}

#[test]
fn exact_path_beats_prefix_and_405_never_falls_through() {
    let routes = snapshot(vec![
        route("catch-all", None, PathSpec::Prefix("/"), &[], 0),
        route("admin", None, PathSpec::Prefix("/admin"), &["GET"], 0),
        route(
            "admin-users",
            None,
            PathSpec::Exact("/admin/users"),
            &["POST", "DELETE"],
            0,
        ),
    ]);
    assert_eq!(
        found(routes.lookup("", &Method::POST, "/admin/users")).as_deref(),
        Some("admin-users")
    );
    assert_eq!(
        allow(routes.lookup("", &Method::GET, "/admin/users")).as_deref(),
        Some("DELETE, POST")
    );
    assert_eq!(
        allow(routes.lookup("", &Method::POST, "/admin/settings")).as_deref(),
        Some("GET")
    );
    assert_eq!(
        found(routes.lookup("", &Method::POST, "/adminX")).as_deref(),
        Some("catch-all")
    );
    // The exact path is exact: its trailing-slash twin goes to the /admin prefix.
    assert_eq!(
        found(routes.lookup("", &Method::GET, "/admin/users/")).as_deref(),
        Some("admin")
    );
}

#[test]
fn head_is_not_implied_by_get() {
    let routes = snapshot(vec![route(
        "read",
        None,
        PathSpec::Prefix("/"),
        &["GET"],
        0,
    )]);
    assert_eq!(
        allow(routes.lookup("", &Method::HEAD, "/x")).as_deref(),
        Some("GET")
    );
}

#[test]
fn higher_priority_wins_over_a_broader_route() {
    let routes = snapshot(vec![
        route("first", None, PathSpec::Prefix("/a"), &["GET", "POST"], 0),
        route(
            "preferred",
            None,
            PathSpec::Prefix("/a/"),
            &["GET", "PUT"],
            5,
        ),
    ]);
    assert_eq!(
        found(routes.lookup("", &Method::GET, "/a")).as_deref(),
        Some("preferred")
    );
    assert_eq!(
        found(routes.lookup("", &Method::PUT, "/a/1")).as_deref(),
        Some("preferred")
    );
    assert_eq!(
        found(routes.lookup("", &Method::POST, "/a/1")).as_deref(),
        Some("first")
    );
}

#[test]
fn nothing_matching_is_not_found_and_empty_configs_route_nothing() {
    let routes = snapshot(vec![route(
        "orders",
        None,
        PathSpec::Prefix("/v1/orders"),
        &[],
        0,
    )]);
    assert!(matches!(
        routes.lookup("", &Method::GET, "/v1/ordersX"),
        Lookup::NotFound
    ));
    assert!(matches!(
        snapshot(vec![]).lookup("", &Method::GET, "/"),
        Lookup::NotFound
    ));
}
