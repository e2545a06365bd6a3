//! OAuth2 token introspection (RFC 7662), the pure half: the request the proxy sends and the
//! reading of the answer. The HTTP call, its timeout and the cache live in the proxy.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use portcullis_config::model::IntrospectionAuthentication;
use serde_json::{Map, Value};

use crate::failure::AuthFailure;
use crate::principal::{AuthMethod, Principal};

/// What the endpoint said about a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Introspected {
    Active {
        principal: Principal,
        /// The token's `exp`, when the endpoint gave one.
        expires_at: Option<u64>,
    },
    Inactive,
}

impl Introspected {
    /// Until when (Unix seconds) this answer may be cached: active tokens until the earlier of
    /// `exp` and the TTL, inactive ones for the short inactive TTL.
    pub fn cache_until(&self, config: &IntrospectionAuthentication, now: u64) -> u64 {
        match self {
            Introspected::Active { expires_at, .. } => {
                let ttl_end = now.saturating_add(config.cache_ttl_seconds);
                expires_at.map_or(ttl_end, |exp| exp.min(ttl_end))
            }
            Introspected::Inactive => now.saturating_add(config.inactive_cache_ttl_seconds),
        }
    }

    /// The authentication result of this answer.
    pub fn principal(&self) -> Result<&Principal, AuthFailure> {
        match self {
            Introspected::Active { principal, .. } => Ok(principal),
            Introspected::Inactive => Err(AuthFailure::TokenInactive),
        }
    }
}

/// `application/x-www-form-urlencoded` body for the introspection call.
pub fn request_body(token: &str) -> String {
    format!("token={}&token_type_hint=access_token", form_encode(token))
}

/// `Authorization: Basic …` for the gateway's client credentials (RFC 6749 §2.3.1: both parts
/// form-encoded before base64).
pub fn basic_authorization(client_id: &str, client_secret: &str) -> String {
    let credentials = format!("{}:{}", form_encode(client_id), form_encode(client_secret));
    format!("Basic {}", STANDARD.encode(credentials))
}

fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Reads a 200 response body. A body that is not a JSON object with a boolean `active` is an
/// error (the proxy treats it like an unreachable endpoint: 503, fail closed). An active token
/// whose `exp` has passed is inactive.
pub fn parse_response(
    body: &[u8],
    config: &IntrospectionAuthentication,
    now: u64,
) -> Result<Introspected, String> {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) else {
        return Err("introspection response is not a JSON object".to_string());
    };
    match fields.get("active") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => return Ok(Introspected::Inactive),
        _ => return Err("introspection response has no boolean `active`".to_string()),
    }
    let expires_at = fields.get("exp").and_then(Value::as_u64);
    if expires_at.is_some_and(|exp| exp <= now) {
        return Ok(Introspected::Inactive);
    }
    let subject = ["sub", "client_id", "username"]
        .iter()
        .find_map(|name| fields.get(*name).and_then(Value::as_str))
        .unwrap_or_default()
        .to_string();
    let principal = Principal {
        subject,
        tenant_id: fields
            .get(&config.tenant_claim)
            .and_then(Value::as_str)
            .map(str::to_string),
        scopes: scopes(&fields, &config.scopes_claim),
        key_id: None,
        products: Vec::new(),
        method: AuthMethod::Introspection,
    };
    Ok(Introspected::Active {
        principal,
        expires_at,
    })
}

fn scopes(fields: &Map<String, Value>, claim: &str) -> Vec<String> {
    fields
        .get(claim)
        .map(crate::scope::scopes_from_value)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> IntrospectionAuthentication {
        serde_json::from_value(serde_json::json!({
            "endpoint": "http://127.0.0.1:1/introspect",
            "clientId": "gw",
            "clientSecret": "env:SECRET"
        }))
        .expect("config")
    }

    #[test]
    fn active_tokens_become_principals_cached_until_exp_or_ttl() {
        let body =
            br#"{"active": true, "sub": "u1", "scope": "a b", "tenant_id": "acme", "exp": 1060}"#;
        let answer = parse_response(body, &config(), 1_000).expect("parsed");
        let principal = answer.principal().expect("active");
        assert_eq!(principal.subject, "u1");
        assert_eq!(principal.scopes, vec!["a", "b"]);
        assert_eq!(principal.tenant_id.as_deref(), Some("acme"));
        assert_eq!(principal.method, AuthMethod::Introspection);
        assert_eq!(answer.cache_until(&config(), 1_000), 1_060);
        let long =
            parse_response(br#"{"active": true, "sub": "u1"}"#, &config(), 1_000).expect("parsed");
        assert_eq!(long.cache_until(&config(), 1_000), 1_300);
    }

    #[test]
    fn inactive_expired_and_malformed_answers() {
        let inactive = parse_response(br#"{"active": false}"#, &config(), 1_000).expect("parsed");
        assert_eq!(inactive.principal(), Err(AuthFailure::TokenInactive));
        assert_eq!(inactive.cache_until(&config(), 1_000), 1_010);
        let expired =
            parse_response(br#"{"active": true, "exp": 999}"#, &config(), 1_000).expect("parsed");
        assert_eq!(expired, Introspected::Inactive);
        for body in [&b"[]"[..], b"{}", br#"{"active": "true"}"#, b"oops"] {
            assert!(parse_response(body, &config(), 1_000).is_err());
        }
    }

    #[test]
    fn request_encoding_follows_rfc_6749() {
        assert_eq!(
            request_body("a+b/c=="),
            "token=a%2Bb%2Fc%3D%3D&token_type_hint=access_token"
        );
        assert_eq!(
            basic_authorization("gw", "p:ss word"),
            format!("Basic {}", STANDARD.encode("gw:p%3Ass+word"))
        );
    }
}
