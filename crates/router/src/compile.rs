//! `Snapshot::compile`: resolve every route's policies and upstream, then build the index.
//!
//! Input has passed validation, but nothing here trusts that: every inconsistency becomes a
//! [`CompileError`] naming the route, the field, the value and the fix. Compile is O(routes +
//! endpoints), so 10,000 routes take milliseconds.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderName, Method};
use portcullis_config::{Config, RequestPolicy, Route, RouteMatch};

use crate::compiled::{CompiledRequestPolicy, CompiledRoute};
use crate::index::{HostPattern, PathPattern, RouteIndex};
use crate::upstream::{assign_pool_keys, compile_upstream};
use crate::{canonicalize_path, normalize_host, CompileError, Snapshot};

pub(crate) fn compile_snapshot(config: &Config) -> Result<Snapshot, CompileError> {
    let mut routes = Vec::with_capacity(config.routes.len());
    let mut index = RouteIndex::default();
    for (id, route) in config.routes.iter().enumerate() {
        let route_error = |message: String| CompileError::Route {
            route: route.name.clone(),
            message,
        };
        let (host, path) = match_patterns(&route.matcher).map_err(route_error)?;
        let compiled = compile_route(id, route, config).map_err(route_error)?;
        index.insert(id, host, path, &compiled.methods, compiled.priority);
        routes.push(compiled);
    }
    assign_pool_keys(
        routes
            .iter_mut()
            .zip(&config.routes)
            .map(|(compiled, route)| (&mut compiled.upstream, route.upstream.port)),
    );
    index.finish().map_err(|error| CompileError::Route {
        route: String::new(),
        message: format!("cannot render an Allow header: {error}"),
    })?;
    Ok(Snapshot {
        routes: routes.into_iter().map(Arc::new).collect(),
        index,
    })
}

fn compile_route(id: usize, route: &Route, config: &Config) -> Result<CompiledRoute, String> {
    let policies = &route.policies;
    let auth = policies
        .auth
        .ok_or("policies.auth is missing: set auth to required, optional or none")?;
    let rate_limits = unique_names(policies.rate_limit.iter().chain(&policies.rate_limits));
    for name in &rate_limits {
        if !config.rate_limits.contains_key(&**name) {
            return Err(format!("policies.rateLimit {name:?} is not defined under rateLimits: add it or fix the name"));
        }
    }
    let quotas = unique_names(policies.quotas.iter());
    for name in &quotas {
        if !config.quotas.contains_key(&**name) {
            return Err(format!(
                "policies.quotas {name:?} is not defined under quotas: add it or fix the name"
            ));
        }
    }
    let request_policy = route
        .request_policy
        .as_ref()
        .or(config.request_policy.as_ref())
        .map(compile_request_policy)
        .transpose()?
        .unwrap_or_default();
    Ok(CompiledRoute {
        id,
        name: route.name.as_str().into(),
        timeout: Duration::from_millis(policies.timeout_ms.unwrap_or(config.defaults.timeout_ms)),
        retries: policies.retries.unwrap_or(0),
        retry_on: policies.retry_on.clone(),
        auth,
        auth_methods: policies.auth_methods.clone(),
        rate_limits,
        quotas,
        authorization: policies.authorization.clone(),
        forward_authorization: policies.forward_authorization.unwrap_or(false),
        request_policy,
        upstream: compile_upstream(config, &route.upstream)?,
        rate_limit_headers: policies.rate_limit_headers,
        methods: compile_methods(&route.matcher.methods)?,
        priority: route.priority,
    })
}

/// Names in first-seen order without repeats.
fn unique_names<'a>(names: impl Iterator<Item = &'a String>) -> Vec<Arc<str>> {
    let mut seen = HashSet::new();
    names
        .filter(|name| seen.insert(name.as_str()))
        .map(|name| name.as_str().into())
        .collect()
}

fn compile_methods(methods: &[String]) -> Result<Vec<Method>, String> {
    let mut compiled = Vec::with_capacity(methods.len());
    for name in methods {
        let method = Method::from_bytes(name.to_ascii_uppercase().as_bytes()).map_err(|_| {
            format!("match.methods {name:?} is not an HTTP method name: use e.g. GET")
        })?;
        if !compiled.contains(&method) {
            compiled.push(method);
        }
    }
    Ok(compiled)
}

fn match_patterns(matcher: &RouteMatch) -> Result<(HostPattern, PathPattern), String> {
    let host = match matcher.host.as_deref() {
        None => HostPattern::Any,
        Some(raw) => host_pattern(raw)?,
    };
    let path = match (&matcher.path, &matcher.path_prefix) {
        (Some(path), None) => PathPattern::Exact(config_path(path, "match.path")?),
        (None, Some(prefix)) => {
            let canonical = config_path(prefix, "match.pathPrefix")?;
            PathPattern::Prefix(canonical.trim_end_matches('/').to_string())
        }
        (Some(_), Some(_)) => return Err("match sets both path and pathPrefix: keep one".into()),
        (None, None) => {
            return Err(
                "match sets neither path nor pathPrefix: add one (pathPrefix: / matches all)"
                    .into(),
            )
        }
    };
    Ok((host, path))
}

fn host_pattern(raw: &str) -> Result<HostPattern, String> {
    let normalized = normalize_host(raw);
    let invalid = || {
        format!("match.host {raw:?} is not a host name or *.suffix wildcard: write e.g. api.example.com or *.example.com")
    };
    if normalized.is_empty() {
        return Err(invalid());
    }
    if let Some(suffix) = normalized.strip_prefix('*') {
        // `*.example.com` → `.example.com`: the key wildcard lookups walk the host's dots to.
        if !suffix.starts_with('.') || suffix.len() < 2 || suffix.contains('*') {
            return Err(invalid());
        }
        return Ok(HostPattern::Wildcard(suffix.to_string()));
    }
    if normalized.contains('*') {
        return Err(invalid());
    }
    Ok(HostPattern::Exact(normalized.into_owned()))
}

/// Config paths are canonicalised like request paths, so that `/v1/%7Euser` in a config
/// matches the `/v1/~user` every request for it becomes. Encoded slashes are accepted here:
/// whether they reach a route is the listener's decision.
fn config_path(raw: &str, field: &str) -> Result<String, String> {
    canonicalize_path(raw, true)
        .map(|canonical| canonical.into_owned())
        .map_err(|error| {
            format!("{field} {raw:?} is not a valid path ({error}): write it as /segment/segment")
        })
}

fn compile_request_policy(policy: &RequestPolicy) -> Result<CompiledRequestPolicy, String> {
    let header_names = |names: &[String], field: &str| -> Result<Vec<HeaderName>, String> {
        names
            .iter()
            .map(|name| {
                HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|_| {
                    format!("requestPolicy.{field} {name:?} is not a valid header name")
                })
            })
            .collect()
    };
    Ok(CompiledRequestPolicy {
        max_body_bytes: policy.max_body_bytes,
        allowed_content_types: policy
            .allowed_content_types
            .iter()
            .map(|media_type| {
                let essence = media_type.split(';').next().unwrap_or_default();
                essence.trim().to_ascii_lowercase()
            })
            .collect(),
        require_headers: header_names(&policy.require_headers, "requireHeaders")?,
        allowed_headers: policy
            .allowed_headers
            .as_deref()
            .map(|names| header_names(names, "allowedHeaders"))
            .transpose()?,
    })
}
