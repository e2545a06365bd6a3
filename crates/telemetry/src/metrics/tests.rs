use std::collections::BTreeMap;

use super::registry::RouteCounters;
use super::*;
use std::time::Duration;

use http::Method;

/// One parsed sample line: metric name, labels (unescaped), value.
type Sample = (String, BTreeMap<String, String>, f64);

/// A strict reader of the text format: every line is a `# HELP`/`# TYPE` comment or a
/// sample whose labels are quoted with the format's escapes and whose value is a number.
fn parse_exposition(text: &str) -> Vec<Sample> {
    assert!(text.ends_with('\n'), "exposition ends with a newline");
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix("# ") {
            assert!(
                comment.starts_with("HELP portcullis_") || comment.starts_with("TYPE portcullis_"),
                "bad comment line {line:?}"
            );
            continue;
        }
        samples.push(parse_sample(line));
    }
    samples
}

fn parse_sample(line: &str) -> Sample {
    let name_end = line.find(['{', ' ']).expect("sample has a name");
    let name = &line[..name_end];
    assert!(name.starts_with("portcullis_"), "{line}");
    assert!(
        name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "{line}"
    );
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(after_brace) = rest.strip_prefix('{') {
        let mut chars = after_brace.char_indices();
        loop {
            let (start, _) = chars.next().expect("label or closing brace");
            if after_brace[start..].starts_with('}') {
                rest = &after_brace[start + 1..];
                break;
            }
            let equals = after_brace[start..].find("=\"").expect("label=\"") + start;
            let key = after_brace[start..equals].to_string();
            for _ in start..equals + 1 {
                chars.next();
            }
            let mut value = String::new();
            loop {
                match chars.next().expect("label value ends") {
                    (_, '\\') => match chars.next().expect("escape").1 {
                        'n' => value.push('\n'),
                        escaped @ ('\\' | '"') => value.push(escaped),
                        other => panic!("bad escape \\{other} in {line}"),
                    },
                    (_, '"') => break,
                    (_, '\n') => panic!("raw newline in {line}"),
                    (_, other) => value.push(other),
                }
            }
            labels.insert(key, value);
            let mut peek = chars.clone();
            if let Some((_, ',')) = peek.next() {
                chars.next();
            }
        }
    }
    let value = rest.strip_prefix(' ').expect("space before value");
    let value: f64 = value
        .parse()
        .unwrap_or_else(|_| panic!("bad value in {line}"));
    (name.to_string(), labels, value)
}

fn find(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .find(|(sample_name, sample_labels, _)| {
            sample_name == name
                && sample_labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(key, value)| sample_labels.get(*key).map(String::as_str) == Some(*value))
        })
        .map(|(_, _, value)| *value)
}

#[test]
fn encoded_output_parses_and_carries_every_family() {
    let metrics = Metrics::new();
    let route = metrics.route("checkout-orders");
    route.observe(&Method::POST, 201, Duration::from_millis(84));
    route.observe(&Method::POST, 201, Duration::from_millis(2));
    route.observe(
        &Method::from_bytes(b"PURGE").expect("method"),
        405,
        Duration::ZERO,
    );
    route.rejected("rate_limited");
    metrics
        .unmatched()
        .observe(&Method::GET, 404, Duration::from_micros(10));
    let upstream = metrics.upstream("checkout-api");
    upstream.observe_latency(Duration::from_millis(80));
    upstream.connect_failure();
    metrics.set_config_info(41, "sha256:old");
    metrics.set_config_info(42, "sha256:abc");
    metrics.config_load(true);
    metrics.config_load(false);
    metrics.config_load(true);
    metrics.access_log_dropped();
    let _in_flight = metrics.track_in_flight();

    let samples = parse_exposition(&metrics.encode());
    let route_labels = |method, status| {
        [
            ("route", "checkout-orders"),
            ("method", method),
            ("status", status),
        ]
    };
    assert_eq!(
        find(
            &samples,
            "portcullis_requests_total",
            &route_labels("POST", "201")
        ),
        Some(2.0)
    );
    assert_eq!(
        find(
            &samples,
            "portcullis_requests_total",
            &route_labels("other", "405")
        ),
        Some(1.0)
    );
    assert_eq!(
        find(
            &samples,
            "portcullis_requests_total",
            &[("route", ""), ("method", "GET"), ("status", "404")]
        ),
        Some(1.0)
    );
    let route_only = [("route", "checkout-orders")];
    assert_eq!(
        find(
            &samples,
            "portcullis_request_duration_seconds_count",
            &route_only
        ),
        Some(3.0)
    );
    let sum = find(
        &samples,
        "portcullis_request_duration_seconds_sum",
        &route_only,
    )
    .expect("sum");
    assert!((sum - 0.086).abs() < 1e-9, "{sum}");
    let bucket = |le| [("route", "checkout-orders"), ("le", le)];
    assert_eq!(
        find(
            &samples,
            "portcullis_request_duration_seconds_bucket",
            &bucket("0.0005")
        ),
        Some(1.0)
    );
    assert_eq!(
        find(
            &samples,
            "portcullis_request_duration_seconds_bucket",
            &bucket("0.05")
        ),
        Some(2.0)
    );
    assert_eq!(
        find(
            &samples,
            "portcullis_request_duration_seconds_bucket",
            &bucket("0.1")
        ),
        Some(3.0)
    );
    assert_eq!(
        find(
            &samples,
            "portcullis_request_duration_seconds_bucket",
            &bucket("+Inf")
        ),
        Some(3.0)
    );
    assert_eq!(
        find(
            &samples,
            "portcullis_request_rejections_total",
            &[("route", "checkout-orders"), ("reason", "rate_limited")]
        ),
        Some(1.0)
    );
    let service = [("service", "checkout-api")];
    assert_eq!(
        find(
            &samples,
            "portcullis_upstream_duration_seconds_count",
            &service
        ),
        Some(1.0)
    );
    assert_eq!(
        find(
            &samples,
            "portcullis_upstream_connect_failures_total",
            &service
        ),
        Some(1.0)
    );
    assert_eq!(
        find(
            &samples,
            "portcullis_config_info",
            &[("version", "42"), ("checksum", "sha256:abc")]
        ),
        Some(1.0)
    );
    let config_infos = samples
        .iter()
        .filter(|(name, _, _)| name == "portcullis_config_info")
        .count();
    assert_eq!(config_infos, 1, "only the current config is exported");
    assert_eq!(
        find(
            &samples,
            "portcullis_config_loads_total",
            &[("result", "success")]
        ),
        Some(2.0)
    );
    assert_eq!(
        find(
            &samples,
            "portcullis_config_loads_total",
            &[("result", "failure")]
        ),
        Some(1.0)
    );
    assert_eq!(
        find(&samples, "portcullis_access_log_dropped_total", &[]),
        Some(1.0)
    );
    assert_eq!(
        find(&samples, "portcullis_in_flight_requests", &[]),
        Some(1.0)
    );
}

#[test]
fn in_flight_guard_decrements_on_drop() {
    let metrics = Metrics::new();
    let first = metrics.track_in_flight();
    let second = metrics.track_in_flight();
    assert_eq!(metrics.in_flight(), 2);
    drop(first);
    drop(second);
    assert_eq!(metrics.in_flight(), 0);
}

#[test]
fn label_values_are_escaped() {
    let metrics = Metrics::new();
    let awkward = "quote\" back\\slash\nnewline";
    metrics
        .route(awkward)
        .observe(&Method::GET, 200, Duration::from_millis(1));
    let text = metrics.encode();
    assert!(
        text.contains(r#"route="quote\" back\\slash\nnewline""#),
        "{text}"
    );
    let samples = parse_exposition(&text);
    assert_eq!(
        find(
            &samples,
            "portcullis_requests_total",
            &[("route", awkward), ("method", "GET"), ("status", "200")]
        ),
        Some(1.0)
    );
}

#[test]
fn handles_for_the_same_name_share_counters() {
    let metrics = Metrics::new();
    metrics
        .route("orders")
        .observe(&Method::GET, 200, Duration::ZERO);
    // A reload takes a fresh handle for the same route: counts continue.
    metrics
        .route("orders")
        .observe(&Method::GET, 200, Duration::ZERO);
    metrics.upstream("api").connect_failure();
    metrics.upstream("api").connect_failure();
    let samples = parse_exposition(&metrics.encode());
    assert_eq!(
        find(
            &samples,
            "portcullis_requests_total",
            &[("route", "orders"), ("method", "GET"), ("status", "200")]
        ),
        Some(2.0)
    );
    assert_eq!(
        find(
            &samples,
            "portcullis_upstream_connect_failures_total",
            &[("service", "api")]
        ),
        Some(2.0)
    );
}

#[test]
fn concurrent_observations_add_up() {
    let metrics = Metrics::new();
    let route = metrics.route("busy");
    let methods = [Method::GET, Method::POST, Method::DELETE, Method::TRACE];
    std::thread::scope(|scope| {
        for thread in 0..4u16 {
            let route = route.clone();
            let methods = &methods;
            scope.spawn(move || {
                for index in 0..5_000u16 {
                    let method = &methods[usize::from(index % 4)];
                    let status = 200 + (index + thread) % 12;
                    route.observe(method, status, Duration::from_micros(u64::from(index)));
                    if index % 10 == 0 {
                        route.rejected(if index % 20 == 0 {
                            "rate_limited"
                        } else {
                            "too_large"
                        });
                    }
                }
            });
        }
    });
    let samples = parse_exposition(&metrics.encode());
    let total: f64 = samples
        .iter()
        .filter(|(name, labels, _)| {
            name == "portcullis_requests_total" && labels["route"] == "busy"
        })
        .map(|(_, _, value)| value)
        .sum();
    assert_eq!(total, 20_000.0);
    let series = samples
        .iter()
        .filter(|(name, labels, _)| {
            name == "portcullis_requests_total" && labels["route"] == "busy"
        })
        .count();
    assert_eq!(series, 4 * 12, "each (method, status) pair is one series");
    assert_eq!(
        find(
            &samples,
            "portcullis_request_duration_seconds_count",
            &[("route", "busy")]
        ),
        Some(20_000.0)
    );
    let rejections = |reason| {
        find(
            &samples,
            "portcullis_request_rejections_total",
            &[("route", "busy"), ("reason", reason)],
        )
    };
    assert_eq!(rejections("rate_limited"), Some(4.0 * 250.0));
    assert_eq!(rejections("too_large"), Some(4.0 * 250.0));
}

#[test]
fn idle_routes_export_no_histogram_and_stay_small() {
    let metrics = Metrics::new();
    metrics.route("idle");
    let text = metrics.encode();
    assert!(!text.contains("route=\"idle\""), "{text}");
    // 10,000 routes must fit in a few MiB: the inline part of a route stays small.
    assert!(
        std::mem::size_of::<RouteCounters>() <= 320,
        "{}",
        std::mem::size_of::<RouteCounters>()
    );
}

#[test]
fn auth_failures_and_denials_are_counted_by_route_and_reason() {
    let metrics = Metrics::new();
    let route = metrics.route("orders");
    route.auth_failure("expired");
    route.auth_failure("expired");
    route.auth_failure("unknown_kid");
    route.authorization_denial("insufficient_scope");
    let quiet = metrics.route("quiet");
    quiet.observe(&Method::GET, 200, Duration::ZERO);

    let samples = parse_exposition(&metrics.encode());
    let failures = |reason| {
        find(
            &samples,
            "portcullis_auth_failures_total",
            &[("route", "orders"), ("reason", reason)],
        )
    };
    assert_eq!(failures("expired"), Some(2.0));
    assert_eq!(failures("unknown_kid"), Some(1.0));
    assert_eq!(
        find(
            &samples,
            "portcullis_authorization_denials_total",
            &[("route", "orders"), ("reason", "insufficient_scope")],
        ),
        Some(1.0)
    );
    assert!(
        samples
            .iter()
            .all(|(name, labels, _)| !(name.starts_with("portcullis_auth")
                && labels.iter().any(|(_, value)| value == "quiet"))),
        "a route without failures exports no auth series"
    );
}

#[test]
fn rate_limit_series_render_by_route_and_limit() {
    let metrics = Metrics::new();
    let empty = parse_exposition(&metrics.encode());
    assert_eq!(
        find(&empty, "portcullis_rate_limit_breaker_state", &[]),
        Some(-1.0)
    );
    let per_ip = metrics.rate_limit_rejections("checkout-orders", "per-ip");
    per_ip.inc();
    per_ip.inc();
    // The same pair resolved again (a reload) shares the series.
    metrics
        .rate_limit_rejections("checkout-orders", "per-ip")
        .inc();
    metrics.rate_limit_rejections("a\"b", "monthly").inc();
    metrics.rate_limit_store_errors(4);
    metrics.rate_limit_fallback();
    metrics.set_rate_limit_breaker_state(BREAKER_OPEN);

    let samples = parse_exposition(&metrics.encode());
    let rejections = |route, limit| {
        find(
            &samples,
            "portcullis_rate_limit_rejections_total",
            &[("route", route), ("limit", limit)],
        )
    };
    assert_eq!(rejections("checkout-orders", "per-ip"), Some(3.0));
    assert_eq!(rejections("a\"b", "monthly"), Some(1.0));
    assert_eq!(
        find(&samples, "portcullis_rate_limit_store_errors_total", &[]),
        Some(4.0)
    );
    assert_eq!(
        find(&samples, "portcullis_rate_limit_fallback_total", &[]),
        Some(1.0)
    );
    assert_eq!(
        find(&samples, "portcullis_rate_limit_breaker_state", &[]),
        Some(2.0)
    );
    assert_eq!(metrics.rate_limit_fallback_count(), 1);
}

#[test]
fn listener_connection_series_by_listener() {
    let metrics = Metrics::new();
    let public = metrics.listener("public");
    let first = public.track_open();
    let _second = public.track_open();
    public.refused();
    public.refused();
    public.write_timeout();
    public.reset_flood();
    drop(first);
    let _ = metrics.listener("internal \"b\"");
    let samples = parse_exposition(&metrics.encode());
    let value = |name: &str, listener: &str| {
        samples
            .iter()
            .find(|(sample, labels, _)| sample == name && labels["listener"] == listener)
            .map(|(_, _, value)| *value)
    };
    assert_eq!(value("portcullis_connections_open", "public"), Some(1.0));
    assert_eq!(
        value("portcullis_connections_refused_total", "public"),
        Some(2.0)
    );
    assert_eq!(
        value("portcullis_connections_write_timeouts_total", "public"),
        Some(1.0)
    );
    assert_eq!(
        value("portcullis_connections_reset_floods_total", "public"),
        Some(1.0)
    );
    assert_eq!(
        value("portcullis_connections_refused_total", "internal \"b\""),
        Some(0.0)
    );
    assert_eq!(public.open_count(), 1);
}
