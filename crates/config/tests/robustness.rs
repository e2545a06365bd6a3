//! Arbitrary input never panics, and validation scales with the number of routes.

use std::time::{Duration, Instant};

use portcullis_config::{
    load_str, validate, AuthMode, Config, Format, Policies, Route, RouteMatch, RouteUpstream,
    Service, Visibility,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = load_str(&text, Format::Yaml);
        let _ = load_str(&text, Format::Json);
    }

    #[test]
    fn yaml_like_text_never_panics(text in "[a-zA-Z0-9:\\-\\[\\]{},&*!|>'\" \n]{0,300}") {
        let _ = load_str(&text, Format::Yaml);
        let _ = load_str(&text, Format::Json);
    }

    #[test]
    fn mutated_valid_config_never_panics(cut in 0usize..600, insert in "[a-z:\\- \n\\[{]{0,8}") {
        let base = include_str!("fixtures/seed.yaml");
        let mut position = cut.min(base.len());
        while !base.is_char_boundary(position) {
            position -= 1;
        }
        let text = format!("{}{}{}", &base[..position], insert, &base[position..]);
        let _ = load_str(&text, Format::Yaml);
    }
}

fn many_routes(count: usize) -> Config {
    let mut config = Config::default();
    config.services.insert(
        "backend".to_string(),
        Service {
            visibility: Visibility::Public,
            endpoints: vec!["10.0.0.1:8080".to_string()],
            ..Service::default()
        },
    );
    for index in 0..count {
        config.routes.push(Route {
            name: format!("route-{index}"),
            matcher: RouteMatch {
                host: Some(format!("host-{}.example.com", index % 100)),
                path_prefix: Some(format!("/api/v1/resource-{index}")),
                methods: vec!["GET".to_string(), "POST".to_string()],
                ..RouteMatch::default()
            },
            priority: 0,
            upstream: RouteUpstream {
                service: "backend".to_string(),
                ..RouteUpstream::default()
            },
            policies: Policies {
                auth: Some(AuthMode::Required),
                timeout_ms: Some(1000),
                ..Policies::default()
            },
            request_policy: None,
        });
    }
    config
}

/// The fastest of three runs of `work`: the least disturbed by whatever else the machine runs.
fn fastest<T>(mut work: impl FnMut() -> T) -> Duration {
    (0..3)
        .map(|_| {
            let started = Instant::now();
            drop(work());
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// Four times the routes may take at most eight times as long (quadratic cost would take
/// sixteen). A ratio, not a wall-clock bound, so a loaded test machine does not fail it.
fn assert_linear(small: Duration, large: Duration) {
    assert!(
        large < small * 8,
        "10,000 routes took {large:?}, 2,500 took {small:?}: more than linear growth"
    );
}

#[test]
fn ten_thousand_routes_validate_in_linear_time() {
    let large = many_routes(10_000);
    let warnings = validate(&large).unwrap_or_else(|errors| panic!("{errors}"));
    assert!(warnings.is_empty());
    let small = many_routes(2_500);
    assert_linear(fastest(|| validate(&small)), fastest(|| validate(&large)));
}

fn overlapping(count: usize) -> Config {
    let mut config = many_routes(count);
    for route in &mut config.routes {
        route.matcher.path_prefix = Some("/same".to_string());
        route.matcher.host = Some("api.example.com".to_string());
    }
    config
}

#[test]
fn ten_thousand_overlapping_routes_are_reported_without_quadratic_cost() {
    let large = overlapping(10_000);
    let errors = validate(&large).expect_err("all overlap");
    assert_eq!(errors.errors.len(), 9_999);
    let small = overlapping(2_500);
    assert_linear(fastest(|| validate(&small)), fastest(|| validate(&large)));
}
