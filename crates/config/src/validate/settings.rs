//! Process-level sections: defaults, request policy, listeners, admin, access log,
//! authentication, tenants and internal hosts.

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::cidr::parse_cidr;
use crate::model::{Config, RequestPolicy};
use crate::validate::syntax::{
    host_problem, is_header_name, is_media_type, is_rfc3339, is_sha256_hash, is_status,
};
use crate::validate::Issues;

const JWT_ALGORITHMS: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA", "HS256",
    "HS384", "HS512",
];

pub(crate) fn validate_settings(config: &Config, issues: &mut Issues) {
    check_timeout("defaults.timeoutMs", config.defaults.timeout_ms, issues);
    if let Some(policy) = &config.request_policy {
        validate_request_policy(policy, "requestPolicy", issues);
    }
    for (index, host) in config.internal_hosts.iter().enumerate() {
        if let Some(problem) = host_problem(host) {
            issues.error(
                format!("internalHosts[{index}]"),
                format!("host `{host}` {problem}"),
            );
        }
    }
    validate_listeners(config, issues);
    if config.admin.address.parse::<SocketAddr>().is_err() {
        issues.error(
            "admin.address",
            format!(
                "`{}` is not an IP:PORT address: write one such as 127.0.0.1:9901",
                config.admin.address
            ),
        );
    }
    if config.access_log.queue_capacity == 0 {
        issues.error(
            "accessLog.queueCapacity",
            "queueCapacity 0 would drop every record: use a positive size such as 16384",
        );
    }
    if config.access_log.path.is_empty() {
        issues.error(
            "accessLog.path",
            "path is empty: write stdout, stderr or a file path",
        );
    }
    validate_authentication(config, issues);
    for (name, tenant) in &config.tenants {
        if !is_status(&tenant.status) {
            issues.error(
                format!("tenants.{name}.status"),
                format!(
                    "tenant status `{}` must be an upper-case word such as ACTIVE or SUSPENDED",
                    tenant.status
                ),
            );
        }
    }
}

/// The most a route (or `defaults.timeoutMs`) may wait for its upstream.
pub(crate) const MAX_TIMEOUT_MS: u64 = 30_000;

pub(crate) fn check_timeout(path: &str, timeout_ms: u64, issues: &mut Issues) {
    if timeout_ms == 0 {
        issues.error(
            path,
            format!("timeoutMs 0 would fail every request: use a value from 1 to {MAX_TIMEOUT_MS}"),
        );
    } else if timeout_ms > MAX_TIMEOUT_MS {
        issues.error(
            path,
            format!("timeoutMs {timeout_ms} is above the {MAX_TIMEOUT_MS} limit; use a value of at most {MAX_TIMEOUT_MS}"),
        );
    }
}

pub(crate) fn validate_request_policy(policy: &RequestPolicy, path: &str, issues: &mut Issues) {
    for (index, header) in policy.require_headers.iter().enumerate() {
        if !is_header_name(header) {
            issues.error(
                format!("{path}.requireHeaders[{index}]"),
                format!("`{header}` is not a valid header name: use a token such as x-request-id"),
            );
        }
    }
    for (index, header) in policy.allowed_headers.iter().flatten().enumerate() {
        if !is_header_name(header) {
            issues.error(
                format!("{path}.allowedHeaders[{index}]"),
                format!("`{header}` is not a valid header name: use a token such as content-type"),
            );
        }
    }
    for (index, media_type) in policy.allowed_content_types.iter().enumerate() {
        if !is_media_type(media_type) {
            issues.error(
                format!("{path}.allowedContentTypes[{index}]"),
                format!("`{media_type}` is not a media type: write type/subtype without parameters, such as application/json"),
            );
        }
    }
}

fn validate_listeners(config: &Config, issues: &mut Issues) {
    if config.listeners.is_empty() {
        issues.error(
            "listeners",
            "no listeners: add one, such as `- {name: default, address: \"0.0.0.0:8080\"}`",
        );
    }
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut addresses: HashMap<SocketAddr, usize> = HashMap::new();
    for (index, listener) in config.listeners.iter().enumerate() {
        let path = format!("listeners[{index}]");
        issues.require_kebab(format!("{path}.name"), "listener", &listener.name);
        if let Some(first) = names.get(listener.name.as_str()) {
            issues.error(
                format!("{path}.name"),
                format!(
                    "duplicate listener name `{}`: listeners[{first}] already uses it",
                    listener.name
                ),
            );
        } else {
            names.insert(&listener.name, index);
        }
        match listener.address.parse::<SocketAddr>() {
            Err(_) => issues.error(
                format!("{path}.address"),
                format!(
                    "`{}` is not an IP:PORT address: write one such as 0.0.0.0:8080 or [::]:8443",
                    listener.address
                ),
            ),
            Ok(address) => {
                if let Some(first) = addresses.get(&address) {
                    issues.error(format!("{path}.address"), format!("duplicate listener address {address}: listeners[{first}] already binds it"));
                } else {
                    addresses.insert(address, index);
                }
            }
        }
        for (field, value) in [
            ("maxHeaderBytes", u64::from(listener.max_header_bytes)),
            ("maxHeaders", u64::from(listener.max_headers)),
            ("headerReadTimeoutMs", listener.header_read_timeout_ms),
            ("idleTimeoutMs", listener.idle_timeout_ms),
            ("bodyReadTimeoutMs", listener.body_read_timeout_ms),
            ("writeTimeoutMs", listener.write_timeout_ms),
            ("maxConnections", u64::from(listener.max_connections)),
        ] {
            if value == 0 {
                issues.error(format!("{path}.{field}"), format!("{field} 0 would refuse every request: use a positive value or remove it for the default"));
            }
        }
        for (proxy_index, proxy) in listener.trusted_proxies.iter().enumerate() {
            if let Err(error) = parse_cidr(proxy) {
                issues.error(
                    format!("{path}.trustedProxies[{proxy_index}]"),
                    error.to_string(),
                );
            }
        }
        if let Some(tls) = &listener.tls {
            let tls_path = format!("{path}.tls");
            if tls.cert_file.is_empty() {
                issues.error(
                    format!("{tls_path}.certFile"),
                    "certFile is empty: name the PEM certificate chain file",
                );
            }
            if tls.key_file.is_empty() {
                issues.error(
                    format!("{tls_path}.keyFile"),
                    "keyFile is empty: name the PEM private key file",
                );
            }
            if tls.client_auth.is_some() && tls.client_ca_file.as_deref().is_none_or(str::is_empty)
            {
                issues.error(format!("{tls_path}.clientCaFile"), "clientAuth needs clientCaFile: name the PEM file of CAs that sign client certificates");
            }
        }
    }
}

fn validate_authentication(config: &Config, issues: &mut Issues) {
    if let Some(jwt) = &config.authentication.jwt {
        let mut issuers: HashMap<&str, usize> = HashMap::new();
        for (index, issuer) in jwt.issuers.iter().enumerate() {
            let path = format!("authentication.jwt.issuers[{index}]");
            if issuer.issuer.is_empty() {
                issues.error(format!("{path}.issuer"), "issuer is empty: write the `iss` value tokens carry, such as https://auth.example.com");
            } else if let Some(first) = issuers.insert(&issuer.issuer, index) {
                issues.error(format!("{path}.issuer"), format!("issuer {} is already configured at issuers[{first}]: merge the two entries", issuer.issuer));
            }
            if issuer.jwks_uri.is_some() == issuer.jwks.is_some() {
                issues.error(&path, "an issuer needs exactly one of `jwksUri` (fetched and cached) or `jwks` (inline keys)");
            }
            for (algorithm_index, algorithm) in issuer.algorithms.iter().enumerate() {
                if !JWT_ALGORITHMS.contains(&algorithm.as_str()) {
                    issues.error(
                        format!("{path}.algorithms[{algorithm_index}]"),
                        format!(
                            "unsupported algorithm `{algorithm}`: use one of {}",
                            JWT_ALGORITHMS.join(", ")
                        ),
                    );
                }
            }
        }
    }
    if let Some(api_keys) = &config.authentication.api_keys {
        if !is_header_name(&api_keys.header) {
            issues.error(
                "authentication.apiKeys.header",
                format!(
                    "`{}` is not a valid header name: use one such as x-api-key",
                    api_keys.header
                ),
            );
        }
        let mut ids: HashMap<&str, usize> = HashMap::new();
        for (index, key) in api_keys.keys.iter().enumerate() {
            let path = format!("authentication.apiKeys.keys[{index}]");
            if key.id.is_empty() {
                issues.error(
                    format!("{path}.id"),
                    "id is empty: give each key an id (it appears in logs instead of the key)",
                );
            } else if let Some(first) = ids.insert(&key.id, index) {
                issues.error(
                    format!("{path}.id"),
                    format!(
                        "duplicate API key id `{}`: keys[{first}] already uses it",
                        key.id
                    ),
                );
            }
            if !is_sha256_hash(&key.hash) {
                issues.error(
                    format!("{path}.hash"),
                    "hash must be `sha256:` followed by 64 lower-case hex digits (the SHA-256 of the key, never the key itself)",
                );
            }
            if !is_status(&key.status) {
                issues.error(
                    format!("{path}.status"),
                    format!(
                        "status `{}` must be an upper-case word such as ACTIVE or REVOKED",
                        key.status
                    ),
                );
            }
            if let Some(expires_at) = &key.expires_at {
                if !is_rfc3339(expires_at) {
                    issues.error(format!("{path}.expiresAt"), format!("`{expires_at}` is not an RFC 3339 time: write one such as 2026-04-08T10:15:30Z"));
                }
            }
        }
    }
}
