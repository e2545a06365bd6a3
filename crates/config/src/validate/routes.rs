//! Per-route rules: names, match, upstream, policies.

use std::collections::{HashMap, HashSet};

use crate::model::{AuthMethod, AuthMode, Config, KeyDimension, Route, Visibility};
use crate::validate::services::{version_endpoints, version_names};
use crate::validate::settings::{check_timeout, validate_request_policy};
use crate::validate::syntax::{
    host_covered_by, host_problem, is_header_name, is_method, is_status, parse_endpoint,
    path_problem,
};
use crate::validate::{serde_name, Issues};

const MAX_RETRIES: u32 = 2;

pub(crate) fn validate_routes(config: &Config, issues: &mut Issues) {
    let mut first_index_by_name: HashMap<&str, usize> = HashMap::with_capacity(config.routes.len());
    for (index, route) in config.routes.iter().enumerate() {
        let path = format!("routes[{index}]");
        issues.require_kebab(format!("{path}.name"), "route", &route.name);
        if let Some(first) = first_index_by_name.insert(&route.name, index) {
            // Keep pointing at the first use so a third copy names it too.
            first_index_by_name.insert(&route.name, first);
            issues.error(
                format!("{path}.name"),
                format!("duplicate route name `{}`: routes[{first}] already uses it; give each route a unique name", route.name),
            );
        }
        validate_match(route, &path, issues);
        validate_upstream(config, route, &path, issues);
        validate_policies(config, route, &path, issues);
        if let Some(policy) = &route.request_policy {
            validate_request_policy(policy, &format!("{path}.requestPolicy"), issues);
        }
    }
}

fn validate_match(route: &Route, path: &str, issues: &mut Issues) {
    let matcher = &route.matcher;
    let match_path = format!("{path}.match");
    match (&matcher.path, &matcher.path_prefix) {
        (Some(_), Some(_)) => issues.error(
            &match_path,
            format!("route {} sets both `path` and `pathPrefix`: keep exactly one", route.name),
        ),
        (None, None) => issues.error(
            &match_path,
            format!("route {} sets neither `path` nor `pathPrefix`: add `pathPrefix: /…` (or `path:` for one exact path)", route.name),
        ),
        _ => {}
    }
    for (field, value) in [
        ("path", &matcher.path),
        ("pathPrefix", &matcher.path_prefix),
    ] {
        if let Some(value) = value {
            if let Some(problem) = path_problem(value) {
                issues.error(
                    format!("{match_path}.{field}"),
                    format!("{field} `{value}` {problem}"),
                );
            }
        }
    }
    if let Some(host) = &matcher.host {
        if let Some(problem) = host_problem(host) {
            issues.error(
                format!("{match_path}.host"),
                format!("host `{host}` {problem}"),
            );
        }
    }
    let mut seen = HashSet::new();
    for (index, method) in matcher.methods.iter().enumerate() {
        let method_path = format!("{match_path}.methods[{index}]");
        if !is_method(method) {
            issues.error(
                &method_path,
                format!(
                    "method `{method}` is not an upper-case method token: write `{}`",
                    method.to_ascii_uppercase()
                ),
            );
        }
        if !seen.insert(method.as_str()) {
            issues.error(
                &method_path,
                format!("method {method} is listed twice: remove the repeat"),
            );
        }
    }
}

fn validate_upstream(config: &Config, route: &Route, path: &str, issues: &mut Issues) {
    let upstream = &route.upstream;
    let upstream_path = format!("{path}.upstream");
    let Some(service) = config.services.get(&upstream.service) else {
        let known: Vec<&str> = config
            .services
            .keys()
            .map(String::as_str)
            .take(10)
            .collect();
        let hint = if known.is_empty() {
            "define it under `services:`".to_string()
        } else {
            format!(
                "define it under `services:` or use one of: {}",
                known.join(", ")
            )
        };
        issues.error(
            format!("{upstream_path}.service"),
            format!(
                "route {} reaches unknown service `{}`: {hint}",
                route.name, upstream.service
            ),
        );
        return;
    };
    let versions = version_names(service);
    if upstream.version.is_some() && !upstream.splits.is_empty() {
        issues.error(
            &upstream_path,
            format!("route {} sets both `version` and `splits`: pin one version or split traffic, not both", route.name),
        );
    }
    if let Some(version) = &upstream.version {
        if !versions.contains(&version.as_str()) {
            issues.error(
                format!("{upstream_path}.version"),
                format!(
                    "unknown version `{version}` of service {}: use one of {}",
                    upstream.service,
                    versions.join(", ")
                ),
            );
        }
    }
    validate_splits(route, &upstream_path, &versions, issues);
    if let Some(split_key) = &upstream.split_key {
        let key_path = format!("{upstream_path}.splitKey");
        match (&split_key.header, split_key.subject) {
            (Some(_), true) | (None, false) => issues.error(
                &key_path,
                "splitKey needs exactly one of `header: <name>` or `subject: true`",
            ),
            _ => {}
        }
        if let Some(header) = &split_key.header {
            if !is_header_name(header) {
                issues.error(
                    format!("{key_path}.header"),
                    format!("`{header}` is not a valid header name: use a token such as x-user-id"),
                );
            }
        }
    }
    validate_ports(route, service, &upstream_path, &versions, issues);
    if service.visibility == Visibility::Internal && is_public(config, route) {
        let host = route.matcher.host.as_deref().unwrap_or("(any host)");
        issues.error(
            format!("{upstream_path}.service"),
            format!(
                "route {} on public host {host} reaches internal service {}: set services.{}.visibility to public, or serve the route on a host listed in internalHosts",
                route.name, upstream.service, upstream.service
            ),
        );
    }
}

/// A route is public unless its host is covered by `internalHosts`; a route with no host
/// answers on every host, so it is public.
fn is_public(config: &Config, route: &Route) -> bool {
    match &route.matcher.host {
        None => true,
        Some(host) => !config
            .internal_hosts
            .iter()
            .any(|pattern| host_covered_by(host, pattern)),
    }
}

fn validate_splits(route: &Route, upstream_path: &str, versions: &[&str], issues: &mut Issues) {
    let splits = &route.upstream.splits;
    if splits.is_empty() {
        return;
    }
    let mut seen = HashSet::new();
    let mut total: u64 = 0;
    for (index, split) in splits.iter().enumerate() {
        let split_path = format!("{upstream_path}.splits[{index}]");
        total += u64::from(split.weight);
        if split.weight == 0 {
            issues.error(format!("{split_path}.weight"), format!("weight 0 for version {} sends it nothing: remove the split or give it a weight above 0", split.version));
        }
        if !versions.contains(&split.version.as_str()) {
            issues.error(
                format!("{split_path}.version"),
                format!(
                    "unknown version `{}` of service {}: use one of {}",
                    split.version,
                    route.upstream.service,
                    versions.join(", ")
                ),
            );
        }
        if !seen.insert(split.version.as_str()) {
            issues.error(
                format!("{split_path}.version"),
                format!(
                    "version {} appears twice in splits: merge the weights into one entry",
                    split.version
                ),
            );
        }
    }
    if total != 10_000 {
        issues.error(
            format!("{upstream_path}.splits"),
            format!("split weights sum to {total}, not 10000: weights are in basis points, so make them add up to exactly 10000"),
        );
    }
}

/// Endpoints given as bare hosts take the route's port; endpoints with a port must agree.
fn validate_ports(
    route: &Route,
    service: &crate::model::Service,
    upstream_path: &str,
    versions: &[&str],
    issues: &mut Issues,
) {
    let upstream = &route.upstream;
    let reachable: Vec<&str> = match (&upstream.version, upstream.splits.is_empty()) {
        (Some(version), _) => vec![version.as_str()],
        (None, false) => upstream
            .splits
            .iter()
            .map(|split| split.version.as_str())
            .collect(),
        (None, true) => versions.to_vec(),
    };
    for version in reachable {
        for endpoint in version_endpoints(service, version) {
            match (parse_endpoint(endpoint), upstream.port) {
                (Ok(None), None) => {
                    issues.error(
                        upstream_path,
                        format!(
                            "service {} endpoint `{endpoint}` (version {version}) has no port and route {} sets no upstream.port: add `port:` to the route's upstream or write the endpoint as host:port",
                            upstream.service, route.name
                        ),
                    );
                    return;
                }
                (Ok(Some(endpoint_port)), Some(route_port)) if endpoint_port != route_port => {
                    issues.error(
                        format!("{upstream_path}.port"),
                        format!(
                            "upstream.port {route_port} disagrees with endpoint `{endpoint}` (version {version}) of service {}: make them equal, or remove upstream.port",
                            upstream.service
                        ),
                    );
                    return;
                }
                _ => {}
            }
        }
    }
}

fn validate_policies(config: &Config, route: &Route, path: &str, issues: &mut Issues) {
    let policies = &route.policies;
    let policies_path = format!("{path}.policies");
    if policies.auth.is_none() {
        issues.error(
            format!("{policies_path}.auth"),
            format!(
                "route {} has no auth policy: set policies.auth to required, optional or none",
                route.name
            ),
        );
    }
    if let Some(timeout) = policies.timeout_ms {
        check_timeout(&format!("{policies_path}.timeoutMs"), timeout, issues);
    }
    if let Some(retries) = policies.retries {
        if retries > MAX_RETRIES {
            issues.error(
                format!("{policies_path}.retries"),
                format!("retries {retries} is above the limit of {MAX_RETRIES}: gateway retries multiply load on a struggling service; use 0, 1 or 2"),
            );
        }
    }
    let mut rate_limit_refs: Vec<(String, &String)> = Vec::new();
    if let Some(name) = &policies.rate_limit {
        rate_limit_refs.push((format!("{policies_path}.rateLimit"), name));
    }
    for (index, name) in policies.rate_limits.iter().enumerate() {
        rate_limit_refs.push((format!("{policies_path}.rateLimits[{index}]"), name));
    }
    for (ref_path, name) in rate_limit_refs {
        match config.rate_limits.get(name) {
            None => issues.error(
                ref_path,
                format!(
                    "unknown rate limit `{name}`: define it under `rateLimits:` or fix the name"
                ),
            ),
            Some(limit) if policies.auth == Some(AuthMode::None) => {
                let principal = limit.key.iter().find(|dimension| {
                    matches!(
                        dimension,
                        KeyDimension::TenantId
                            | KeyDimension::UserId
                            | KeyDimension::ApiKey
                            | KeyDimension::ProductTier
                    )
                });
                if let Some(dimension) = principal {
                    issues.warn(
                        ref_path,
                        format!(
                            "rate limit {name} is keyed by {} but route {} has auth: none, so every caller shares one empty key: key it by clientIp, or require auth",
                            serde_name(dimension),
                            route.name
                        ),
                    );
                }
            }
            Some(_) => {}
        }
    }
    for (index, name) in policies.quotas.iter().enumerate() {
        if !config.quotas.contains_key(name) {
            issues.error(
                format!("{policies_path}.quotas[{index}]"),
                format!("unknown quota `{name}`: define it under `quotas:` or fix the name"),
            );
        }
    }
    for (index, method) in policies.auth_methods.iter().enumerate() {
        let configured = match method {
            AuthMethod::Jwt => config.authentication.jwt.is_some(),
            AuthMethod::ApiKey => config.authentication.api_keys.is_some(),
            AuthMethod::Signature => config.authentication.signatures.is_some(),
            AuthMethod::Mtls => config.authentication.mtls.is_some(),
            AuthMethod::Introspection => config.authentication.introspection.is_some(),
        };
        if !configured {
            issues.error(
                format!("{policies_path}.authMethods[{index}]"),
                format!("auth method {} is not configured: add it under `authentication:` or remove it here", serde_name(method)),
            );
        }
    }
    if let Some(authorization) = &policies.authorization {
        let authorization_path = format!("{policies_path}.authorization");
        for (index, status) in authorization.tenant_status.iter().enumerate() {
            if !is_status(status) {
                issues.error(
                    format!("{authorization_path}.tenantStatus[{index}]"),
                    format!("tenant status `{status}` must be an upper-case word such as ACTIVE or SUSPENDED: write `{}`", status.to_ascii_uppercase()),
                );
            }
        }
        for (index, scope) in authorization.required_scopes.iter().enumerate() {
            if scope.is_empty() || scope.chars().any(char::is_whitespace) {
                issues.error(
                    format!("{authorization_path}.requiredScopes[{index}]"),
                    format!("scope `{scope}` must be one non-empty word without spaces, such as orders:write"),
                );
            }
        }
        if authorization.product.as_deref() == Some("") {
            issues.error(
                format!("{authorization_path}.product"),
                "product is empty: name the product or remove the field",
            );
        }
    }
}
