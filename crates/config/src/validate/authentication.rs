//! Rules for the authentication sections added by the authentication issue: JWKS cache bounds,
//! signature keys, mTLS identities, introspection, identity headers and admin path prefixes.

use std::collections::HashMap;

use crate::model::{AuthMode, Config, SignatureAlgorithmName};
use crate::validate::syntax::{is_header_name, path_problem};
use crate::validate::Issues;

/// The longest signature freshness window accepted (one hour).
const MAX_SIGNATURE_SKEW_SECONDS: u64 = 3_600;
/// Introspection calls sit on the request path: the route timeout ceiling applies.
const MAX_INTROSPECTION_TIMEOUT_MS: u64 = 30_000;

pub(crate) fn validate_authentication_extras(config: &Config, issues: &mut Issues) {
    validate_jwt_cache_bounds(config, issues);
    validate_jwt_token_types(config, issues);
    validate_signatures(config, issues);
    validate_mtls(config, issues);
    validate_introspection(config, issues);
    validate_identity_headers(config, issues);
    validate_admin_paths(config, issues);
}

/// A secret reference: `env:NAME` or `file:PATH`.
fn is_secret_reference(value: &str) -> bool {
    match value.split_once(':') {
        Some(("env", name)) => {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }
        Some(("file", path)) => !path.is_empty(),
        _ => false,
    }
}

/// Standard base64 of exactly 32 bytes: 43 alphabet characters and one `=`.
fn is_base64_of_32_bytes(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 44
        && bytes[43] == b'='
        && bytes[..43]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
}

fn validate_jwt_cache_bounds(config: &Config, issues: &mut Issues) {
    let Some(jwt) = &config.authentication.jwt else {
        return;
    };
    for (index, issuer) in jwt.issuers.iter().enumerate() {
        let path = format!("authentication.jwt.issuers[{index}]");
        if issuer.jwks_refresh_min_seconds == 0 {
            issues.error(
                format!("{path}.jwksRefreshMinSeconds"),
                "jwksRefreshMinSeconds 0 would let a key server's `max-age: 0` trigger a fetch per request: use at least 1 (default 60)",
            );
        }
        if issuer.jwks_refresh_min_seconds > issuer.jwks_refresh_max_seconds {
            issues.error(
                format!("{path}.jwksRefreshMaxSeconds"),
                format!(
                    "jwksRefreshMaxSeconds {} is below jwksRefreshMinSeconds {}: raise it or lower the minimum",
                    issuer.jwks_refresh_max_seconds, issuer.jwks_refresh_min_seconds
                ),
            );
        }
        if issuer.unknown_kid_cooldown_seconds == 0 {
            issues.error(
                format!("{path}.unknownKidCooldownSeconds"),
                "unknownKidCooldownSeconds 0 would let every request with a made-up `kid` trigger a JWKS fetch: use at least 1 (default 30)",
            );
        }
        if issuer.max_stale_seconds < issuer.jwks_refresh_max_seconds {
            issues.error(
                format!("{path}.maxStaleSeconds"),
                format!(
                    "maxStaleSeconds {} is shorter than jwksRefreshMaxSeconds {}: keys would expire between two scheduled refreshes; raise it",
                    issuer.max_stale_seconds, issuer.jwks_refresh_max_seconds
                ),
            );
        }
    }
}

/// `allowedTypes`: a non-empty list of media-type-like strings (visible ASCII, no spaces).
fn validate_jwt_token_types(config: &Config, issues: &mut Issues) {
    let Some(jwt) = &config.authentication.jwt else {
        return;
    };
    for (index, issuer) in jwt.issuers.iter().enumerate() {
        let path = format!("authentication.jwt.issuers[{index}].allowedTypes");
        if issuer.allowed_types.is_empty() {
            issues.error(
                path.clone(),
                "allowedTypes is empty, which would accept only tokens without `typ`: list the accepted types or remove the field for the default [JWT, at+jwt, application/at+jwt]",
            );
        }
        for (position, typ) in issuer.allowed_types.iter().enumerate() {
            let visible = !typ.is_empty() && typ.bytes().all(|b| b.is_ascii_graphic());
            if !visible {
                issues.error(
                    format!("{path}[{position}]"),
                    format!(
                        "allowedTypes entry {typ:?} is not a media type: write a non-empty value without spaces, such as `at+jwt`"
                    ),
                );
            }
        }
    }
}

fn validate_signatures(config: &Config, issues: &mut Issues) {
    let Some(signatures) = &config.authentication.signatures else {
        return;
    };
    if signatures.max_skew_seconds == 0 || signatures.max_skew_seconds > MAX_SIGNATURE_SKEW_SECONDS
    {
        issues.error(
            "authentication.signatures.maxSkewSeconds",
            format!(
                "maxSkewSeconds {} is outside 1–{MAX_SIGNATURE_SKEW_SECONDS}: use a short window such as 300",
                signatures.max_skew_seconds
            ),
        );
    }
    if signatures.nonce_cache_size == 0 {
        issues.error(
            "authentication.signatures.nonceCacheSize",
            "nonceCacheSize 0 would refuse every request with a nonce: use a positive size such as 100000",
        );
    }
    let mut ids: HashMap<&str, usize> = HashMap::new();
    for (index, key) in signatures.keys.iter().enumerate() {
        let path = format!("authentication.signatures.keys[{index}]");
        if key.key_id.is_empty() {
            issues.error(
                format!("{path}.keyId"),
                "keyId is empty: write the `keyid` partners sign with",
            );
        } else if let Some(first) = ids.insert(&key.key_id, index) {
            issues.error(
                format!("{path}.keyId"),
                format!(
                    "duplicate keyId `{}`: keys[{first}] already uses it",
                    key.key_id
                ),
            );
        }
        if key.subject.is_empty() {
            issues.error(
                format!("{path}.subject"),
                "subject is empty: name the partner this key belongs to",
            );
        }
        match key.algorithm {
            SignatureAlgorithmName::HmacSha256 => {
                match &key.secret {
                    Some(secret) if is_secret_reference(secret) => {}
                    Some(_) => issues.error(
                        format!("{path}.secret"),
                        "secret must be a reference, `env:NAME` or `file:PATH`, never the secret itself",
                    ),
                    None => issues.error(
                        format!("{path}.secret"),
                        "an hmac-sha256 key needs `secret` (`env:NAME` or `file:PATH`)",
                    ),
                }
                if key.public_key.is_some() {
                    issues.error(
                        format!("{path}.publicKey"),
                        "an hmac-sha256 key has no public key: remove `publicKey` (or use algorithm ed25519)",
                    );
                }
            }
            SignatureAlgorithmName::Ed25519 => {
                match key.public_key.as_deref() {
                    Some(file) if file.starts_with("file:") && file.len() > 5 => {}
                    Some(encoded) => {
                        if !is_base64_of_32_bytes(encoded) {
                            issues.error(
                                format!("{path}.publicKey"),
                                format!("`{encoded}` is not a base64 32-byte Ed25519 public key: write the raw key in base64 or `file:PATH`"),
                            );
                        }
                    }
                    None => issues.error(
                        format!("{path}.publicKey"),
                        "an ed25519 key needs `publicKey` (base64 of the 32-byte key, or `file:PATH`)",
                    ),
                }
                if key.secret.is_some() {
                    issues.error(
                        format!("{path}.secret"),
                        "an ed25519 key needs no secret: remove `secret` (the gateway only verifies)",
                    );
                }
            }
        }
    }
}

fn validate_mtls(config: &Config, issues: &mut Issues) {
    let Some(mtls) = &config.authentication.mtls else {
        return;
    };
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, identity) in mtls.identities.iter().enumerate() {
        let path = format!("authentication.mtls.identities[{index}].identity");
        if identity.identity.is_empty() {
            issues.error(
                path,
                "identity is empty: write a SAN URI (spiffe://…), a DNS name or a subject CN",
            );
        } else if let Some(first) = seen.insert(&identity.identity, index) {
            issues.error(
                path,
                format!(
                    "duplicate identity `{}`: identities[{first}] already maps it",
                    identity.identity
                ),
            );
        }
    }
    let client_auth = config.listeners.iter().any(|listener| {
        listener
            .tls
            .as_ref()
            .is_some_and(|tls| tls.client_auth.is_some())
    });
    if !client_auth {
        issues.warn(
            "authentication.mtls",
            "no listener asks for client certificates, so mtls never authenticates: set `tls.clientAuth` on a listener",
        );
    }
}

fn validate_introspection(config: &Config, issues: &mut Issues) {
    let Some(introspection) = &config.authentication.introspection else {
        return;
    };
    let path = "authentication.introspection";
    let endpoint = &introspection.endpoint;
    let scheme_ok = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"));
    if scheme_ok.is_none_or(str::is_empty) {
        issues.error(
            format!("{path}.endpoint"),
            format!("`{endpoint}` is not an http(s) URL: write one such as https://auth.example.com/oauth2/introspect"),
        );
    }
    if introspection.client_id.is_empty() {
        issues.error(
            format!("{path}.clientId"),
            "clientId is empty: write the client id the gateway introspects as",
        );
    }
    if !is_secret_reference(&introspection.client_secret) {
        issues.error(
            format!("{path}.clientSecret"),
            "clientSecret must be a reference, `env:NAME` or `file:PATH`, never the secret itself",
        );
    }
    if introspection.timeout_ms == 0 || introspection.timeout_ms > MAX_INTROSPECTION_TIMEOUT_MS {
        issues.error(
            format!("{path}.timeoutMs"),
            format!(
                "timeoutMs {} is outside 1–{MAX_INTROSPECTION_TIMEOUT_MS}: use a short timeout such as 2000",
                introspection.timeout_ms
            ),
        );
    }
    if introspection.cache_ttl_seconds == 0 {
        issues.error(
            format!("{path}.cacheTtlSeconds"),
            "cacheTtlSeconds 0 would call the endpoint on every request: use a positive TTL such as 300",
        );
    }
}

fn validate_identity_headers(config: &Config, issues: &mut Issues) {
    let headers = &config.authentication.identity_headers;
    let mut seen: HashMap<String, &str> = HashMap::new();
    for (field, name) in [
        ("subject", &headers.subject),
        ("tenant", &headers.tenant),
        ("scopes", &headers.scopes),
    ] {
        let path = format!("authentication.identityHeaders.{field}");
        if !is_header_name(name) {
            issues.error(
                path,
                format!(
                    "`{name}` is not a valid header name: use one such as x-portcullis-{field}"
                ),
            );
        } else if let Some(other) = seen.insert(name.to_ascii_lowercase(), field) {
            issues.error(path, format!("header `{name}` is already used for {other}: give each identity header its own name"));
        }
    }
}

/// Segment-aware: `/admin` covers `/admin` and `/admin/x`, never `/administrator`.
fn is_under(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

fn validate_admin_paths(config: &Config, issues: &mut Issues) {
    for (index, prefix) in config.admin_path_prefixes.iter().enumerate() {
        if let Some(problem) = path_problem(prefix) {
            issues.error(
                format!("adminPathPrefixes[{index}]"),
                format!("admin path prefix `{prefix}` {problem}"),
            );
        } else if prefix.trim_end_matches('/').is_empty() {
            issues.error(
                format!("adminPathPrefixes[{index}]"),
                "admin path prefix `/` would make every route an admin route: name a prefix such as /admin",
            );
        }
    }
    for (index, route) in config.routes.iter().enumerate() {
        if route.policies.auth != Some(AuthMode::None) {
            continue;
        }
        let Some(path) = route
            .matcher
            .path
            .as_deref()
            .or(route.matcher.path_prefix.as_deref())
        else {
            continue;
        };
        if let Some(prefix) = config
            .admin_path_prefixes
            .iter()
            .find(|prefix| path_problem(prefix).is_none() && is_under(path, prefix))
        {
            issues.error(
                format!("routes[{index}].policies.auth"),
                format!(
                    "route {} serves {path} under admin path prefix {prefix}, which needs the `admin` scope: set `auth: required`",
                    route.name
                ),
            );
        }
    }
}
