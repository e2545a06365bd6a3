//! Route lookups at 10, 1,000 and 10,000 routes (DESIGN §4: 10,000 routes cost about what
//! 10 do). Routes spread over tenant hosts, with deep prefixes and some exact paths; requests
//! hit prefixes below several extra segments, so every lookup walks segment boundaries.
//!
//! `cargo bench -p portcullis-router --bench lookup -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use http::Method;
use portcullis_config::{
    AuthMode, Config, Policies, Route, RouteMatch, RouteUpstream, Service, Visibility,
};
use portcullis_router::{canonicalize_path, Lookup, Snapshot};

const ROUTES_PER_HOST: usize = 100;

fn route(n: usize) -> Route {
    let host = format!("tenant{}.api.example.com", n / ROUTES_PER_HOST);
    let team = (n % ROUTES_PER_HOST) / 10;
    let resource = n % 10;
    let (path, path_prefix) = if n % 5 == 0 {
        (
            Some(format!("/v1/team{team}/resource{resource}/status")),
            None,
        )
    } else {
        (None, Some(format!("/v1/team{team}/resource{resource}")))
    };
    Route {
        name: format!("route-{n}"),
        matcher: RouteMatch {
            host: Some(host),
            path,
            path_prefix,
            methods: vec!["GET".into(), "POST".into()],
        },
        priority: 0,
        upstream: RouteUpstream {
            service: "svc".into(),
            ..RouteUpstream::default()
        },
        policies: Policies {
            auth: Some(AuthMode::None),
            ..Policies::default()
        },
        request_policy: None,
    }
}

fn snapshot(route_count: usize) -> Snapshot {
    let mut config = Config {
        routes: (0..route_count).map(route).collect(),
        ..Config::default()
    };
    let service = Service {
        visibility: Visibility::Public,
        endpoints: vec!["127.0.0.1:8080".into()],
        ..Service::default()
    };
    config.services.insert("svc".into(), service);
    let validated = portcullis_config::validate_config(config).expect("bench config is valid");
    Snapshot::compile(&validated).expect("bench config compiles")
}

/// Requests that all find a route: deep paths under existing prefixes, on existing hosts.
fn requests(route_count: usize) -> Vec<(String, String)> {
    (0..64)
        .map(|i| {
            let n = (i * 7_919) % route_count;
            let n = if n % 5 == 0 { (n + 1) % route_count } else { n };
            let n = if n % 5 == 0 { n + 1 } else { n };
            let host = format!("tenant{}.api.example.com", n / ROUTES_PER_HOST);
            let path = format!(
                "/v1/team{}/resource{}/orders/{i}/items/{}/history",
                (n % ROUTES_PER_HOST) / 10,
                n % 10,
                i * 31
            );
            (host, path)
        })
        .collect()
}

fn lookups(c: &mut Criterion) {
    let mut group = c.benchmark_group("lookup");
    for route_count in [10, 1_000, 10_000] {
        let snapshot = snapshot(route_count);
        let requests = requests(route_count);
        for (host, path) in &requests {
            assert!(
                matches!(snapshot.lookup(host, &Method::GET, path), Lookup::Found(_)),
                "bench request {host} {path} must hit a route"
            );
        }
        group.bench_with_input(
            BenchmarkId::from_parameter(route_count),
            &requests,
            |b, requests| {
                let mut next = 0usize;
                b.iter(|| {
                    let (host, path) = &requests[next % requests.len()];
                    next = next.wrapping_add(1);
                    black_box(matches!(
                        snapshot.lookup(black_box(host), &Method::GET, black_box(path)),
                        Lookup::Found(_)
                    ))
                })
            },
        );
    }
    group.finish();
}

fn canonicalisation(c: &mut Criterion) {
    let mut group = c.benchmark_group("canonicalize_path");
    for (label, path) in [
        ("canonical", "/v1/team3/resource7/orders/42/items/9/history"),
        (
            "rewritten",
            "/v1//team3/./resource7/%6Frders/42/../43/items",
        ),
    ] {
        group.bench_function(label, |b| {
            b.iter(|| canonicalize_path(black_box(path), false).map(|p| p.len()))
        });
    }
    group.finish();
}

criterion_group!(benches, lookups, canonicalisation);
criterion_main!(benches);
