//! Services, rate limits and quotas.

use crate::model::{Config, Service, DEFAULT_VERSION_NAME};
use crate::validate::syntax::parse_endpoint;
use crate::validate::Issues;

/// The version names a route may pin or split across: the `versions` keys, or `default` for a
/// service written with plain `endpoints`.
pub(crate) fn version_names(service: &Service) -> Vec<&str> {
    if service.versions.is_empty() {
        vec![DEFAULT_VERSION_NAME]
    } else {
        service.versions.keys().map(String::as_str).collect()
    }
}

/// The endpoints of one version (`default` is the plain `endpoints` list).
pub(crate) fn version_endpoints<'a>(service: &'a Service, version: &str) -> &'a [String] {
    if service.versions.is_empty() {
        if version == DEFAULT_VERSION_NAME {
            &service.endpoints
        } else {
            &[]
        }
    } else {
        service
            .versions
            .get(version)
            .map(|v| v.endpoints.as_slice())
            .unwrap_or(&[])
    }
}

pub(crate) fn validate_services(config: &Config, issues: &mut Issues) {
    for (name, service) in &config.services {
        let path = format!("services.{name}");
        issues.require_kebab(&path, "service", name);
        match (service.endpoints.is_empty(), service.versions.is_empty()) {
            (true, true) => issues.error(
                &path,
                format!("service {name} has no endpoints: set `endpoints: [host:port, …]`, or `versions:` with endpoints per version"),
            ),
            (false, false) => issues.error(
                &path,
                format!("service {name} sets both `endpoints` and `versions`: keep one (move the plain endpoints into a version)"),
            ),
            _ => {}
        }
        check_endpoints(&format!("{path}.endpoints"), &service.endpoints, issues);
        for (version, entry) in &service.versions {
            let version_path = format!("{path}.versions.{version}");
            if version.is_empty()
                || !version
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
            {
                issues.error(
                    &version_path,
                    format!("version name `{version}` may only use letters, digits, `-`, `_` and `.`: rename it, such as `stable`"),
                );
            }
            if entry.endpoints.is_empty() {
                issues.error(
                    format!("{version_path}.endpoints"),
                    format!("version {version} of service {name} has no endpoints: list at least one `host:port`"),
                );
            }
            check_endpoints(
                &format!("{version_path}.endpoints"),
                &entry.endpoints,
                issues,
            );
        }
        if service.connect_timeout_ms == 0 {
            issues.error(
                format!("{path}.connectTimeoutMs"),
                "connectTimeoutMs 0 never connects: use a positive value such as 1000",
            );
        }
        if service.max_concurrent_requests == Some(0) {
            issues.error(
                format!("{path}.maxConcurrentRequests"),
                "maxConcurrentRequests 0 rejects every request: use a positive limit or remove the field",
            );
        }
    }
}

fn check_endpoints(path: &str, endpoints: &[String], issues: &mut Issues) {
    for (index, endpoint) in endpoints.iter().enumerate() {
        if let Err(problem) = parse_endpoint(endpoint) {
            issues.error(
                format!("{path}[{index}]"),
                format!(
                    "endpoint `{endpoint}` {problem}; write `host:port`, `host` or `[v6]:port`"
                ),
            );
        }
    }
}

pub(crate) fn validate_limits(config: &Config, issues: &mut Issues) {
    for (name, limit) in &config.rate_limits {
        let path = format!("rateLimits.{name}");
        issues.require_kebab(&path, "rate limit", name);
        for (field, value) in [
            ("capacity", limit.capacity),
            ("refillPerSecond", limit.refill_per_second),
        ] {
            if !value.is_finite() || value <= 0.0 {
                issues.error(
                    format!("{path}.{field}"),
                    format!("{field} {value} must be a finite number above 0, such as 100"),
                );
            }
        }
    }
    for (name, quota) in &config.quotas {
        let path = format!("quotas.{name}");
        issues.require_kebab(&path, "quota", name);
        if quota.limit == 0 {
            issues.error(
                format!("{path}.limit"),
                "limit 0 admits no request: use a positive limit",
            );
        }
    }
}
