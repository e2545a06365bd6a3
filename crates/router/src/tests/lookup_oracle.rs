//! The router against a brute-force reference of DESIGN §4, over random route tables and
//! requests. The reference filters and sorts all routes for each request, as plainly as the
//! rules are written; ties at equal priority go to the lowest route index in both. Random
//! tables overlap and shadow routes, which validation refuses, so they are compiled directly.

use http::Method;
use proptest::prelude::*;

use super::common::{config, route, PathSpec};
use super::compile_unvalidated;
use crate::{Lookup, Snapshot};

#[derive(Debug, Clone)]
struct TableRoute {
    host: Option<&'static str>,
    exact: bool,
    path: String,
    methods: Vec<&'static str>,
    priority: i32,
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Route(usize),
    MethodNotAllowed(Vec<String>),
    NotFound,
}

const ROUTE_HOSTS: &[Option<&str>] = &[
    None,
    None,
    Some("api.example.com"),
    Some("API.Example.com"),
    Some("*.example.com"),
    Some("*.eu.example.com"),
    Some("other.org"),
    Some("*.org"),
];
const REQUEST_HOSTS: &[&str] = &[
    "",
    "api.example.com",
    "Api.Example.COM:443",
    "api.example.com.",
    "x.example.com",
    "a.eu.example.com",
    "eu.example.com",
    "example.com",
    "other.org",
    "x.other.org",
    "unknown.net",
];
const SEGMENTS: &[&str] = &["a", "b", "ab"];
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "HEAD"];
const REQUEST_METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"];

fn path(min_segments: usize) -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(SEGMENTS), min_segments..=4),
        any::<bool>(),
    )
        .prop_map(|(segments, trailing_slash)| {
            let mut path = format!("/{}", segments.join("/"));
            if trailing_slash && !segments.is_empty() {
                path.push('/');
            }
            path
        })
}

fn table_route() -> impl Strategy<Value = TableRoute> {
    (
        prop::sample::select(ROUTE_HOSTS),
        any::<bool>(),
        path(0),
        prop::sample::subsequence(METHODS, 0..=3),
        0..3i32,
    )
        .prop_map(|(host, exact, path, methods, priority)| TableRoute {
            host,
            exact,
            path,
            methods,
            priority,
        })
}

fn request() -> impl Strategy<Value = (&'static str, &'static str, String)> {
    (
        prop::sample::select(REQUEST_HOSTS),
        prop::sample::select(REQUEST_METHODS),
        path(0),
    )
}

/// DESIGN §4, the slow and obvious way.
fn reference(table: &[TableRoute], raw_host: &str, method: &str, path: &str) -> Outcome {
    let host = raw_host
        .split(':')
        .next()
        .unwrap_or("")
        .trim_end_matches('.')
        .to_lowercase();
    let route_host = |route: &TableRoute| route.host.map(str::to_lowercase);
    let indexed: Vec<(usize, &TableRoute)> = table.iter().enumerate().collect();

    let exact_host: Vec<_> = indexed
        .iter()
        .filter(|(_, r)| route_host(r).as_deref() == Some(&*host))
        .collect();
    let wildcard_suffix = indexed
        .iter()
        .filter_map(|(_, r)| route_host(r).and_then(|h| h.strip_prefix('*').map(str::to_string)))
        .filter(|suffix| host.ends_with(suffix.as_str()) && host.len() > suffix.len())
        .max_by_key(String::len);
    let group: Vec<(usize, &TableRoute)> = if !exact_host.is_empty() {
        exact_host.into_iter().copied().collect()
    } else if let Some(suffix) = wildcard_suffix {
        let pattern = format!("*{suffix}");
        indexed
            .iter()
            .filter(|(_, r)| route_host(r) == Some(pattern.clone()))
            .copied()
            .collect()
    } else {
        indexed
            .iter()
            .filter(|(_, r)| r.host.is_none())
            .copied()
            .collect()
    };

    let exact_path: Vec<_> = group
        .iter()
        .filter(|(_, r)| r.exact && r.path == path)
        .copied()
        .collect();
    let at_key: Vec<(usize, &TableRoute)> = if !exact_path.is_empty() {
        exact_path
    } else {
        let matches = |prefix: &str| {
            prefix.is_empty() || path == prefix || path.starts_with(&format!("{prefix}/"))
        };
        let prefixes: Vec<_> = group
            .iter()
            .filter(|(_, r)| !r.exact)
            .map(|(id, r)| (*id, *r, r.path.trim_end_matches('/').to_string()))
            .filter(|(_, _, prefix)| matches(prefix))
            .collect();
        let Some(longest) = prefixes.iter().map(|(_, _, prefix)| prefix.len()).max() else {
            return Outcome::NotFound;
        };
        prefixes
            .into_iter()
            .filter(|(_, _, prefix)| prefix.len() == longest)
            .map(|(id, r, _)| (id, r))
            .collect()
    };
    if at_key.is_empty() {
        return Outcome::NotFound;
    }

    let accepting = at_key
        .iter()
        .filter(|(_, r)| r.methods.is_empty() || r.methods.contains(&method));
    match accepting.max_by_key(|(id, r)| (r.priority, std::cmp::Reverse(*id))) {
        Some((id, _)) => Outcome::Route(*id),
        None => {
            let mut allow: Vec<String> = at_key
                .iter()
                .flat_map(|(_, r)| r.methods.iter().map(|m| m.to_string()))
                .collect();
            allow.sort();
            allow.dedup();
            Outcome::MethodNotAllowed(allow)
        }
    }
}

fn snapshot(table: &[TableRoute]) -> Snapshot {
    let routes = table
        .iter()
        .enumerate()
        .map(|(id, r)| {
            let spec = if r.exact {
                PathSpec::Exact(&r.path)
            } else {
                PathSpec::Prefix(&r.path)
            };
            route(&format!("route-{id}"), r.host, spec, &r.methods, r.priority)
        })
        .collect();
    compile_unvalidated(&config(routes)).expect("generated tables compile")
}

fn outcome(lookup: Lookup<'_>) -> Outcome {
    match lookup {
        Lookup::Found(route) => Outcome::Route(route.id),
        Lookup::MethodNotAllowed { allow } => Outcome::MethodNotAllowed(
            allow
                .to_str()
                .expect("ASCII")
                .split(", ")
                .map(str::to_string)
                .collect(),
        ),
        Lookup::NotFound => Outcome::NotFound,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn lookup_agrees_with_the_reference(
        table in prop::collection::vec(table_route(), 1..16),
        requests in prop::collection::vec(request(), 40),
    ) {
        let snapshot = snapshot(&table);
        for (host, method, path) in &requests {
            let method_value = Method::from_bytes(method.as_bytes()).expect("valid method");
            let actual = outcome(snapshot.lookup(host, &method_value, path));
            let expected = reference(&table, host, method, path);
            prop_assert_eq!(actual, expected, "{} {} {}", host, method, path);
        }
    }
}

/// The reference is only worth something if it disagrees with a wrong answer: a fixed case
/// for each rule, checked against both.
#[test]
fn reference_and_router_agree_on_the_rules_written_out() {
    let table = vec![
        TableRoute {
            host: None,
            exact: false,
            path: "/a".into(),
            methods: vec![],
            priority: 0,
        },
        TableRoute {
            host: None,
            exact: false,
            path: "/a/b".into(),
            methods: vec!["GET"],
            priority: 0,
        },
        TableRoute {
            host: None,
            exact: true,
            path: "/a/b/ab".into(),
            methods: vec!["POST"],
            priority: 0,
        },
        TableRoute {
            host: Some("*.example.com"),
            exact: false,
            path: "/".into(),
            methods: vec!["GET"],
            priority: 0,
        },
    ];
    let snapshot = snapshot(&table);
    let cases = [
        ("", "GET", "/a/b/c", Outcome::Route(1)),
        // Never fall through to the shorter prefix /a, which accepts every method.
        (
            "",
            "POST",
            "/a/b/c",
            Outcome::MethodNotAllowed(vec!["GET".into()]),
        ),
        // Never fall through from an exact path to a prefix.
        (
            "",
            "GET",
            "/a/b/ab",
            Outcome::MethodNotAllowed(vec!["POST".into()]),
        ),
        ("", "GET", "/a/bb", Outcome::Route(0)),
        ("", "GET", "/b", Outcome::NotFound),
        // A wildcard group is chosen, and it has no route for DELETE: no fall-back to no-host.
        (
            "x.example.com",
            "DELETE",
            "/a",
            Outcome::MethodNotAllowed(vec!["GET".into()]),
        ),
        ("example.com", "DELETE", "/a", Outcome::Route(0)),
    ];
    for (host, method, path, expected) in cases {
        let method_value = Method::from_bytes(method.as_bytes()).expect("valid method");
        assert_eq!(
            reference(&table, host, method, path),
            expected,
            "reference: {host} {method} {path}"
        );
        assert_eq!(
            outcome(snapshot.lookup(host, &method_value, path)),
            expected,
            "router: {host} {method} {path}"
        );
    }
}
