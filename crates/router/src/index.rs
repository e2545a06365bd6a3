//! The routing index (DESIGN §4): host group, then path key, then method, then priority.
//!
//! Lookups never scan routes. The host is one hash lookup for the exact name plus one per dot
//! for wildcards (longest suffix first); the path is one lookup for the exact path plus one
//! per segment boundary of the request path, longest first, capped at the deepest prefix the
//! group has. Each path key holds its routes pre-sorted (priority descending, then config
//! order) and its pre-rendered `Allow` value, so a lookup allocates nothing.
//!
//! Decisions written down here:
//! * Once a host group is chosen only its routes are considered, even when none of them
//!   matches the path (404 rather than a fall-back to a less specific host).
//! * Once a path key wins, a method that none of its routes lists answers 405: never a fall
//!   through to a shorter prefix or from an exact path to a prefix.
//! * `HEAD` is not implied by `GET`: a route that lists `GET` only answers `HEAD` with 405.
//!   Routing decides which policy applies, and an implicit method would be a policy the
//!   operator did not write. List `HEAD` explicitly where it is wanted.
//! * A priority tie that survives validation is broken by config order (lowest index wins).

use std::collections::HashMap;

use http::{HeaderValue, Method};

/// Where a route answers: a host pattern and a path pattern, already normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostPattern {
    Any,
    /// Normalised host name (lower-case, no port, no trailing dot).
    Exact(String),
    /// The suffix with its leading dot: `*.example.com` is stored as `.example.com`.
    Wildcard(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathPattern {
    /// Canonical path, matched byte for byte (a trailing slash is significant).
    Exact(String),
    /// Canonical prefix without trailing slashes; the root prefix `/` is the empty string.
    Prefix(String),
}

/// What the index says about a request, before it is mapped to a route reference.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum IndexHit<'a> {
    Route(usize),
    MethodNotAllowed(&'a HeaderValue),
    NotFound,
}

#[derive(Debug, Default)]
pub(crate) struct RouteIndex {
    exact_hosts: HashMap<Box<str>, HostGroup>,
    wildcard_hosts: HashMap<Box<str>, HostGroup>,
    any_host: Option<HostGroup>,
}

#[derive(Debug, Default)]
struct HostGroup {
    exact_paths: HashMap<Box<str>, PathKeyRoutes>,
    prefixes: HashMap<Box<str>, PathKeyRoutes>,
    /// Segments in the deepest prefix of this group; longer request paths start there.
    deepest_prefix_segments: usize,
}

#[derive(Debug, Default)]
struct PathKeyRoutes {
    /// Sorted: priority descending, then route id ascending.
    candidates: Vec<Candidate>,
    /// `None` when some route here accepts every method (405 is then impossible).
    allow: Option<HeaderValue>,
}

#[derive(Debug)]
struct Candidate {
    route_id: usize,
    priority: i32,
    /// Empty means every method.
    methods: Box<[Method]>,
}

impl Candidate {
    fn accepts(&self, method: &Method) -> bool {
        self.methods.is_empty() || self.methods.iter().any(|listed| listed == method)
    }
}

impl RouteIndex {
    /// Add a route. Call [`RouteIndex::finish`] once every route is in.
    pub(crate) fn insert(
        &mut self,
        route_id: usize,
        host: HostPattern,
        path: PathPattern,
        methods: &[Method],
        priority: i32,
    ) {
        let group = match host {
            HostPattern::Any => self.any_host.get_or_insert_with(HostGroup::default),
            HostPattern::Exact(name) => self.exact_hosts.entry(name.into()).or_default(),
            HostPattern::Wildcard(suffix) => self.wildcard_hosts.entry(suffix.into()).or_default(),
        };
        let entry = match path {
            PathPattern::Exact(path) => group.exact_paths.entry(path.into()).or_default(),
            PathPattern::Prefix(prefix) => {
                let segments = prefix.bytes().filter(|&byte| byte == b'/').count();
                group.deepest_prefix_segments = group.deepest_prefix_segments.max(segments);
                group.prefixes.entry(prefix.into()).or_default()
            }
        };
        entry.candidates.push(Candidate {
            route_id,
            priority,
            methods: methods.into(),
        });
    }

    /// Sort candidates and render the `Allow` values. Fails only if a method name cannot be
    /// a header value, which `http::Method` already rules out.
    pub(crate) fn finish(&mut self) -> Result<(), http::header::InvalidHeaderValue> {
        let groups = self
            .exact_hosts
            .values_mut()
            .chain(self.wildcard_hosts.values_mut())
            .chain(self.any_host.as_mut());
        for group in groups {
            for entry in group
                .exact_paths
                .values_mut()
                .chain(group.prefixes.values_mut())
            {
                entry.finish()?;
            }
        }
        Ok(())
    }

    /// Route a request: `host` normalised (see [`crate::normalize_host`]), `path` canonical.
    pub(crate) fn lookup(&self, host: &str, method: &Method, path: &str) -> IndexHit<'_> {
        let Some(group) = self.host_group(host) else {
            return IndexHit::NotFound;
        };
        let Some(entry) = group.path_key(path) else {
            return IndexHit::NotFound;
        };
        match entry
            .candidates
            .iter()
            .find(|candidate| candidate.accepts(method))
        {
            Some(candidate) => IndexHit::Route(candidate.route_id),
            None => match &entry.allow {
                Some(allow) => IndexHit::MethodNotAllowed(allow),
                None => IndexHit::NotFound,
            },
        }
    }

    fn host_group(&self, host: &str) -> Option<&HostGroup> {
        if let Some(group) = self.exact_hosts.get(host) {
            return Some(group);
        }
        if !self.wildcard_hosts.is_empty() {
            // Left to right over the dots = longest suffix first. A dot at position 0 would
            // leave no label for the `*` to stand for.
            for (dot, _) in host.match_indices('.').filter(|&(dot, _)| dot > 0) {
                if let Some(group) = self.wildcard_hosts.get(&host[dot..]) {
                    return Some(group);
                }
            }
        }
        self.any_host.as_ref()
    }
}

impl HostGroup {
    fn path_key(&self, path: &str) -> Option<&PathKeyRoutes> {
        if let Some(entry) = self.exact_paths.get(path) {
            return Some(entry);
        }
        if self.prefixes.is_empty() {
            return None;
        }
        // A prefix ignores the request's trailing slash: `/v1/orders` matches `/v1/orders/`.
        let mut candidate = path.trim_end_matches('/');
        // Segments deeper than any prefix cannot match; skip them without hashing each one,
        // so a very deep request path costs one scan, not one hash per segment.
        if let Some((cut, _)) = candidate
            .match_indices('/')
            .nth(self.deepest_prefix_segments)
        {
            candidate = &candidate[..cut];
        }
        loop {
            if let Some(entry) = self.prefixes.get(candidate) {
                return Some(entry);
            }
            let boundary = candidate.rfind('/')?;
            candidate = &candidate[..boundary];
        }
    }
}

impl PathKeyRoutes {
    fn finish(&mut self) -> Result<(), http::header::InvalidHeaderValue> {
        self.candidates.sort_by(|left, right| {
            right
                .priority
                .cmp(&left.priority)
                .then(left.route_id.cmp(&right.route_id))
        });
        if self
            .candidates
            .iter()
            .any(|candidate| candidate.methods.is_empty())
        {
            self.allow = None;
            return Ok(());
        }
        let mut names: Vec<&str> = self
            .candidates
            .iter()
            .flat_map(|candidate| candidate.methods.iter().map(Method::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        self.allow = Some(HeaderValue::from_str(&names.join(", "))?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(routes: &[(HostPattern, PathPattern, &[Method], i32)]) -> RouteIndex {
        let mut index = RouteIndex::default();
        for (id, (host, path, methods, priority)) in routes.iter().enumerate() {
            index.insert(id, host.clone(), path.clone(), methods, *priority);
        }
        index.finish().expect("allow values render");
        index
    }

    fn prefix(value: &str) -> PathPattern {
        PathPattern::Prefix(value.to_string())
    }

    #[test]
    fn prefixes_are_segment_aware() {
        let index = index(&[(HostPattern::Any, prefix("/v1/orders"), &[], 0)]);
        for path in [
            "/v1/orders",
            "/v1/orders/",
            "/v1/orders/7",
            "/v1/orders/7/items",
        ] {
            assert_eq!(
                index.lookup("", &Method::GET, path),
                IndexHit::Route(0),
                "{path}"
            );
        }
        for path in ["/v1/ordersX", "/v1/order", "/v1", "/"] {
            assert_eq!(
                index.lookup("", &Method::GET, path),
                IndexHit::NotFound,
                "{path}"
            );
        }
    }

    #[test]
    fn deep_request_paths_start_at_the_deepest_prefix() {
        let index = index(&[(HostPattern::Any, prefix("/a/b"), &[], 0)]);
        let deep = format!("/a/b{}", "/x".repeat(5_000));
        assert_eq!(index.lookup("", &Method::GET, &deep), IndexHit::Route(0));
        assert_eq!(
            index.lookup("", &Method::GET, "/a/bb/c"),
            IndexHit::NotFound
        );
    }

    #[test]
    fn root_prefix_matches_everything() {
        let index = index(&[(HostPattern::Any, prefix(""), &[], 0)]);
        for path in ["/", "/a", "/a/b/", "/ordersX"] {
            assert_eq!(
                index.lookup("", &Method::GET, path),
                IndexHit::Route(0),
                "{path}"
            );
        }
    }

    #[test]
    fn wildcards_take_the_longest_suffix_and_need_a_label() {
        let index = index(&[
            (
                HostPattern::Wildcard(".example.com".into()),
                prefix(""),
                &[],
                0,
            ),
            (
                HostPattern::Wildcard(".eu.example.com".into()),
                prefix(""),
                &[],
                0,
            ),
        ]);
        assert_eq!(
            index.lookup("a.example.com", &Method::GET, "/"),
            IndexHit::Route(0)
        );
        assert_eq!(
            index.lookup("a.b.example.com", &Method::GET, "/"),
            IndexHit::Route(0)
        );
        assert_eq!(
            index.lookup("a.eu.example.com", &Method::GET, "/"),
            IndexHit::Route(1)
        );
        assert_eq!(
            index.lookup("eu.example.com", &Method::GET, "/"),
            IndexHit::Route(0)
        );
        assert_eq!(
            index.lookup("example.com", &Method::GET, "/"),
            IndexHit::NotFound
        );
        assert_eq!(
            index.lookup(".example.com", &Method::GET, "/"),
            IndexHit::NotFound
        );
    }

    #[test]
    fn allow_is_sorted_unique_and_absent_when_a_route_takes_all_methods() {
        let index = index(&[
            (
                HostPattern::Any,
                prefix("/a"),
                &[Method::POST, Method::GET],
                0,
            ),
            (
                HostPattern::Any,
                prefix("/a"),
                &[Method::GET, Method::DELETE],
                1,
            ),
            (HostPattern::Any, prefix("/b"), &[Method::GET], 0),
            (HostPattern::Any, prefix("/b"), &[], 0),
        ]);
        match index.lookup("", &Method::PUT, "/a/1") {
            IndexHit::MethodNotAllowed(allow) => assert_eq!(allow, "DELETE, GET, POST"),
            other => panic!("expected 405, got {other:?}"),
        }
        assert_eq!(
            index.lookup("", &Method::GET, "/a"),
            IndexHit::Route(1),
            "priority"
        );
        assert_eq!(index.lookup("", &Method::PUT, "/b"), IndexHit::Route(3));
        assert_eq!(
            index.lookup("", &Method::GET, "/b"),
            IndexHit::Route(2),
            "lowest index"
        );
    }
}
