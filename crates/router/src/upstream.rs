//! Resolve a route's `upstream` against `services`: versions, endpoints, splits, pool keys.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderName;
use portcullis_config::{Config, RouteUpstream, Service, DEFAULT_VERSION_NAME};

use crate::compiled::{CompiledUpstream, Endpoint, SplitKeySource, UpstreamTarget};
use crate::split::SPLIT_BUCKETS;

/// The version a route reaches when it neither pins one nor splits: the only one, else the
/// one named `stable`.
const STABLE_VERSION_NAME: &str = "stable";
const DEFAULT_SPLIT_HEADER: &str = "x-user-id";

/// Compile one route's upstream. Pool keys are provisional (`service/version`) until
/// [`assign_pool_keys`] has seen every route.
pub(crate) fn compile_upstream(
    config: &Config,
    upstream: &RouteUpstream,
) -> Result<CompiledUpstream, String> {
    let service_name = upstream.service.as_str();
    let service = config.services.get(service_name).ok_or_else(|| {
        format!("upstream.service {service_name:?} is not defined under services: add it or fix the name")
    })?;
    if !service.endpoints.is_empty() && !service.versions.is_empty() {
        return Err(format!(
            "service {service_name:?} sets both endpoints and versions: keep one of them"
        ));
    }
    let (versions, cumulative_weights) = chosen_versions(service_name, service, upstream)?;
    let mut targets = Vec::with_capacity(versions.len());
    for version in versions {
        let raw_endpoints = version_endpoints(service, version).ok_or_else(|| {
            format!("service {service_name:?} has no version {version:?}: add it under services.{service_name}.versions or fix the name")
        })?;
        if raw_endpoints.is_empty() {
            return Err(format!(
                "service {service_name:?} version {version:?} has no endpoints: list at least one host:port"
            ));
        }
        let endpoints = raw_endpoints
            .iter()
            .map(|raw| parse_endpoint(raw, upstream.port))
            .collect::<Result<Vec<_>, _>>()?;
        targets.push(UpstreamTarget {
            version: version.into(),
            pool_key: format!("{service_name}/{version}").into(),
            endpoints,
        });
    }
    Ok(CompiledUpstream {
        service: service_name.into(),
        protocol: service.protocol,
        balancing: service.balancing,
        connect_timeout: Duration::from_millis(service.connect_timeout_ms),
        max_concurrent_requests: service.max_concurrent_requests,
        pool: service.pool.clone(),
        targets,
        split_key: split_key_source(upstream)?,
        cumulative_weights,
    })
}

/// The versions a route reaches, in order, with cumulative weights when it splits.
fn chosen_versions<'a>(
    service_name: &str,
    service: &'a Service,
    upstream: &'a RouteUpstream,
) -> Result<(Vec<&'a str>, Vec<u32>), String> {
    if upstream.version.is_some() && !upstream.splits.is_empty() {
        return Err(
            "upstream.version and upstream.splits are both set: pin a version or split, not both"
                .into(),
        );
    }
    if let Some(version) = &upstream.version {
        return Ok((vec![version.as_str()], Vec::new()));
    }
    if !upstream.splits.is_empty() {
        let mut cumulative = Vec::with_capacity(upstream.splits.len());
        let mut total: u32 = 0;
        for split in &upstream.splits {
            total = total.saturating_add(split.weight);
            cumulative.push(total);
        }
        if total != SPLIT_BUCKETS {
            return Err(format!(
                "upstream.splits weights sum to {total}: they must sum to {SPLIT_BUCKETS}"
            ));
        }
        let versions = upstream
            .splits
            .iter()
            .map(|split| split.version.as_str())
            .collect::<Vec<_>>();
        // A split with one entry always picks it: skip the hash on the hot path.
        let cumulative = if versions.len() == 1 {
            Vec::new()
        } else {
            cumulative
        };
        return Ok((versions, cumulative));
    }
    if service.versions.is_empty() {
        return Ok((vec![DEFAULT_VERSION_NAME], Vec::new()));
    }
    if service.versions.len() == 1 {
        let only = service
            .versions
            .keys()
            .next()
            .map(String::as_str)
            .unwrap_or(DEFAULT_VERSION_NAME);
        return Ok((vec![only], Vec::new()));
    }
    if service.versions.contains_key(STABLE_VERSION_NAME) {
        return Ok((vec![STABLE_VERSION_NAME], Vec::new()));
    }
    Err(format!(
        "service {service_name:?} has several versions and none is named {STABLE_VERSION_NAME:?}: set upstream.version or upstream.splits"
    ))
}

fn version_endpoints<'a>(service: &'a Service, version: &str) -> Option<&'a [String]> {
    if service.versions.is_empty() {
        (version == DEFAULT_VERSION_NAME).then_some(service.endpoints.as_slice())
    } else {
        service
            .versions
            .get(version)
            .map(|found| found.endpoints.as_slice())
    }
}

fn split_key_source(upstream: &RouteUpstream) -> Result<SplitKeySource, String> {
    let Some(split_key) = &upstream.split_key else {
        return Ok(SplitKeySource::Header(HeaderName::from_static(
            DEFAULT_SPLIT_HEADER,
        )));
    };
    match (&split_key.header, split_key.subject) {
        (Some(header), true) => Err(format!(
            "upstream.splitKey sets both header {header:?} and subject: choose one"
        )),
        (None, true) => Ok(SplitKeySource::Subject),
        (Some(header), false) => HeaderName::from_bytes(header.to_ascii_lowercase().as_bytes())
            .map(SplitKeySource::Header)
            .map_err(|_| format!("upstream.splitKey.header {header:?} is not a valid header name")),
        (None, false) => Ok(SplitKeySource::Header(HeaderName::from_static(
            DEFAULT_SPLIT_HEADER,
        ))),
    }
}

/// Parse `host:port`, `host`, `[v6]:port` or `[v6]`; a bare host takes the route's port.
pub(crate) fn parse_endpoint(raw: &str, route_port: Option<u16>) -> Result<Endpoint, String> {
    if raw.contains("://") {
        return Err(format!(
            "endpoint {raw:?} has a scheme: write host:port (the service's protocol setting picks HTTP/1.1 or HTTP/2)"
        ));
    }
    let (host, explicit_port, bracketed) = if let Some(rest) = raw.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or_else(|| {
            format!("endpoint {raw:?} opens '[' without ']': write [address]:port")
        })?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or_else(|| {
                format!("endpoint {raw:?} has text after ']': write [address]:port")
            })?),
        };
        (inside, port, true)
    } else {
        match raw.split_once(':') {
            Some((_, port)) if port.contains(':') => {
                return Err(format!(
                    "endpoint {raw:?}: an IPv6 address needs brackets, as in [::1]:8080"
                ))
            }
            Some((host, port)) => (host, Some(port), false),
            None => (raw, None, false),
        }
    };
    let forbidden = |c: char| c.is_whitespace() || c.is_control() || "/?#@[]".contains(c);
    if host.is_empty() || host.contains(forbidden) {
        return Err(format!(
            "endpoint {raw:?} is not host:port (no scheme, path or spaces): write e.g. 10.0.0.5:8080"
        ));
    }
    let explicit_port = match explicit_port {
        Some(port) => Some(
            port.parse::<u16>()
                .ok()
                .filter(|&port| port != 0)
                .ok_or_else(|| {
                    format!("endpoint {raw:?} has port {port:?}: use a number from 1 to 65535")
                })?,
        ),
        None => None,
    };
    let port = match (explicit_port, route_port) {
        (Some(explicit), Some(route)) if explicit != route => {
            return Err(format!(
            "endpoint {raw:?} names port {explicit} but upstream.port is {route}: make them agree"
        ))
        }
        (Some(port), _) | (None, Some(port)) => port,
        (None, None) => {
            return Err(format!(
                "endpoint {raw:?} has no port and upstream.port is not set: add one of them"
            ))
        }
    };
    let host = host.to_ascii_lowercase();
    let authority = if bracketed {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    Ok(Endpoint {
        host: host.into(),
        port,
        authority: authority.into(),
    })
}

/// Final pool keys. Every route reaching `service/version` shares the pools under that key
/// when they all resolve the same endpoints; when their endpoint lists differ (bare hosts
/// with different `upstream.port`s) each list gets its own key, `service/version:port`, so
/// that one pool never serves two endpoint sets.
pub(crate) fn assign_pool_keys<'a>(
    upstreams: impl Iterator<Item = (&'a mut CompiledUpstream, Option<u16>)>,
) {
    let upstreams: Vec<_> = upstreams.collect();
    // First pass: does every route see the same endpoints for this key? O(total endpoints).
    let mut endpoints_by_key: HashMap<Arc<str>, (&[Endpoint], bool)> = HashMap::new();
    for (upstream, _) in &upstreams {
        for target in &upstream.targets {
            let entry = endpoints_by_key
                .entry(target.pool_key.clone())
                .or_insert((target.endpoints.as_slice(), false));
            if entry.0 != target.endpoints.as_slice() {
                entry.1 = true;
            }
        }
    }
    let differing: HashMap<Arc<str>, bool> = endpoints_by_key
        .into_iter()
        .map(|(key, (_, differs))| (key, differs))
        .collect();
    let mut interned: HashMap<String, Arc<str>> = HashMap::new();
    for (upstream, route_port) in upstreams {
        for target in &mut upstream.targets {
            let differs = differing.get(&target.pool_key).copied().unwrap_or(false);
            let key = match (differs, route_port) {
                (true, Some(port)) => format!("{}:{port}", target.pool_key),
                _ => target.pool_key.to_string(),
            };
            target.pool_key = interned
                .entry(key)
                .or_insert_with_key(|key| key.as_str().into())
                .clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_accept_the_four_forms() {
        let with_port = parse_endpoint("api.internal:8080", None).expect("host:port");
        assert_eq!(
            (&*with_port.host, with_port.port, &*with_port.authority),
            ("api.internal", 8080, "api.internal:8080")
        );
        let bare = parse_endpoint("api.internal", Some(9000)).expect("bare host");
        assert_eq!(&*bare.authority, "api.internal:9000");
        let v6 = parse_endpoint("[::1]:8080", None).expect("[v6]:port");
        assert_eq!((&*v6.host, &*v6.authority), ("::1", "[::1]:8080"));
        let bare_v6 = parse_endpoint("[::1]", Some(81)).expect("[v6]");
        assert_eq!(&*bare_v6.authority, "[::1]:81");
    }

    #[test]
    fn endpoint_errors_say_what_to_fix() {
        for (raw, port, needle) in [
            ("api.internal", None, "no port"),
            ("api.internal:80", Some(81), "make them agree"),
            ("::1", None, "brackets"),
            ("[::1", None, "without ']'"),
            ("[::1]x", None, "after ']'"),
            ("http://a:80", None, "scheme"),
            ("a/b:80", None, "host:port"),
            ("a:0", None, "1 to 65535"),
            ("a:99999", None, "1 to 65535"),
            (":80", None, "host:port"),
        ] {
            let error = parse_endpoint(raw, port).expect_err(raw);
            assert!(error.contains(needle), "{raw}: {error}");
        }
    }
}
