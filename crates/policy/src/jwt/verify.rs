//! Verifying a compact JWS token against the configured issuers: header screening, exact-`kid`
//! key lookup, the signature (through `jsonwebtoken`'s crypto), then the registered claims
//! against a caller-supplied clock.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use jsonwebtoken::Algorithm;
use portcullis_config::model::{JwtAuthentication, JwtIssuer};
use serde_json::{Map, Value};

use super::bearer::MAX_TOKEN_BYTES;
use super::header::{decode_json_segment, screen_header};
use super::keys::KeySet;
use super::token_type::TokenTypes;
use crate::failure::AuthFailure;
use crate::principal::{AuthMethod, Principal};

/// Algorithms accepted when an issuer lists none: asymmetric only, never HMAC.
pub const DEFAULT_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

/// One issuer's rules, compiled from `authentication.jwt.issuers[]`.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuerPolicy {
    pub issuer: String,
    /// Accepted `aud` values; empty means the audience is not checked.
    pub audiences: Vec<String>,
    pub algorithms: Vec<Algorithm>,
    pub clock_tolerance_seconds: u64,
    pub tenant_claim: String,
    pub scopes_claim: String,
    /// Accepted header `typ` values (`allowedTypes`).
    pub token_types: TokenTypes,
}

impl IssuerPolicy {
    /// Compiles an issuer entry. Fails (naming the field and value) on an algorithm name that
    /// validation should already have refused.
    pub fn from_config(issuer: &JwtIssuer) -> Result<Self, String> {
        let algorithms = if issuer.algorithms.is_empty() {
            DEFAULT_ALGORITHMS.to_vec()
        } else {
            issuer
                .algorithms
                .iter()
                .map(|name| {
                    Algorithm::from_str(name).map_err(|_| {
                        format!("authentication.jwt.issuers[{}].algorithms: unsupported algorithm `{name}`", issuer.issuer)
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        };
        Ok(IssuerPolicy {
            issuer: issuer.issuer.clone(),
            audiences: issuer.audiences.clone(),
            algorithms,
            clock_tolerance_seconds: issuer.clock_tolerance_seconds,
            tenant_claim: issuer.tenant_claim.clone(),
            scopes_claim: issuer.scopes_claim.clone(),
            token_types: TokenTypes::new(&issuer.allowed_types),
        })
    }
}

/// A token that passed every check, with the time it stops being valid (for caching).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub principal: Principal,
    /// `exp` in Unix seconds (without leeway).
    pub expires_at: u64,
}

/// All configured issuers with their current key sets. The proxy rebuilds it (cheaply: the key
/// sets are shared) whenever a JWKS refresh produces new keys.
#[derive(Debug, Clone, Default)]
pub struct JwtVerifier {
    issuers: Vec<(IssuerPolicy, Arc<KeySet>)>,
}

impl JwtVerifier {
    /// Compiles `authentication.jwt`: inline `jwks` are parsed here; `jwksUri` issuers take their
    /// keys from `fetched` (by issuer), or start with no keys until the first fetch. Returns
    /// the verifier and warnings about skipped keys.
    pub fn from_config(
        config: &JwtAuthentication,
        fetched: &HashMap<String, Arc<KeySet>>,
    ) -> Result<(Self, Vec<String>), String> {
        let mut issuers = Vec::with_capacity(config.issuers.len());
        let mut warnings = Vec::new();
        for (index, issuer) in config.issuers.iter().enumerate() {
            let policy = IssuerPolicy::from_config(issuer)?;
            let keys = match &issuer.jwks {
                Some(inline) => {
                    let (keys, skipped) = KeySet::from_jwks_value(inline).map_err(|error| {
                        format!("authentication.jwt.issuers[{index}].jwks: {error}")
                    })?;
                    warnings.extend(skipped.into_iter().map(|reason| {
                        format!("authentication.jwt.issuers[{index}].jwks.{reason}")
                    }));
                    Arc::new(keys)
                }
                None => fetched.get(&issuer.issuer).cloned().unwrap_or_default(),
            };
            issuers.push((policy, keys));
        }
        Ok((JwtVerifier { issuers }, warnings))
    }

    pub fn new(issuers: Vec<(IssuerPolicy, Arc<KeySet>)>) -> Self {
        JwtVerifier { issuers }
    }

    pub fn issuers(&self) -> impl Iterator<Item = &IssuerPolicy> {
        self.issuers.iter().map(|(policy, _)| policy)
    }

    /// Verifies `token` at `now_unix` (seconds). `Err(UnknownKeyId)` is the proxy's cue to
    /// consider a JWKS refresh (subject to its cooldown).
    pub fn verify(&self, token: &str, now_unix: u64) -> Result<VerifiedToken, AuthFailure> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthFailure::TokenTooLarge);
        }
        let mut segments = token.split('.');
        let (Some(header_segment), Some(payload_segment), Some(signature), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            return Err(AuthFailure::MalformedToken);
        };
        // Reading `iss` before the signature only chooses whose keys to verify with; nothing
        // from the payload is trusted until the signature holds.
        let claims = decode_json_segment(payload_segment)?;
        let issuer = match claims.get("iss") {
            Some(Value::String(issuer)) => issuer.as_str(),
            _ => return Err(AuthFailure::UnknownIssuer),
        };
        let (policy, keys) = self
            .issuers
            .iter()
            .find(|(policy, _)| policy.issuer == issuer)
            .ok_or(AuthFailure::UnknownIssuer)?;
        let header = screen_header(header_segment, &policy.algorithms, &policy.token_types)?;
        let key = keys
            .find(header.key_id.as_deref(), header.algorithm)
            .ok_or(AuthFailure::UnknownKeyId)?;
        if !key.allows(header.algorithm) {
            return Err(AuthFailure::KeyAlgorithmMismatch);
        }
        if signature.is_empty() {
            return Err(AuthFailure::InvalidSignature);
        }
        let signed_len = header_segment.len() + 1 + payload_segment.len();
        let message = &token.as_bytes()[..signed_len];
        match jsonwebtoken::crypto::verify(signature, message, &key.decoding, header.algorithm) {
            Ok(true) => {}
            Ok(false) | Err(_) => return Err(AuthFailure::InvalidSignature),
        }
        let expires_at = check_time_claims(&claims, now_unix, policy.clock_tolerance_seconds)?;
        check_audience(&claims, &policy.audiences)?;
        let principal = Principal {
            subject: subject(&claims)?,
            tenant_id: match claims.get(&policy.tenant_claim) {
                Some(Value::String(tenant)) => Some(tenant.clone()),
                _ => None,
            },
            scopes: scopes(&claims, &policy.scopes_claim),
            key_id: header.key_id,
            products: Vec::new(),
            method: AuthMethod::Jwt,
        };
        Ok(VerifiedToken {
            principal,
            expires_at,
        })
    }
}

/// A NumericDate claim (RFC 7519 §2) as whole seconds; fractions are truncated.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, AuthFailure> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(number)) => match (number.as_u64(), number.as_f64()) {
            (Some(seconds), _) => Ok(Some(seconds)),
            (None, Some(seconds)) if seconds.is_finite() && seconds >= 0.0 => {
                Ok(Some(seconds as u64))
            }
            _ => Err(AuthFailure::InvalidClaims),
        },
        Some(_) => Err(AuthFailure::InvalidClaims),
    }
}

/// `exp` is required; `nbf` and `iat` are checked when present. All with `leeway` seconds.
fn check_time_claims(
    claims: &Map<String, Value>,
    now: u64,
    leeway: u64,
) -> Result<u64, AuthFailure> {
    let expires_at = numeric_date(claims, "exp")?.ok_or(AuthFailure::MissingExpiry)?;
    if now >= expires_at.saturating_add(leeway) {
        return Err(AuthFailure::Expired);
    }
    if let Some(not_before) = numeric_date(claims, "nbf")? {
        if not_before > now.saturating_add(leeway) {
            return Err(AuthFailure::NotYetValid);
        }
    }
    if let Some(issued_at) = numeric_date(claims, "iat")? {
        if issued_at > now.saturating_add(leeway) {
            return Err(AuthFailure::IssuedInFuture);
        }
    }
    Ok(expires_at)
}

/// `aud` as a string or an array of strings; one accepted value is enough (RFC 7519 §4.1.3).
fn check_audience(claims: &Map<String, Value>, accepted: &[String]) -> Result<(), AuthFailure> {
    if accepted.is_empty() {
        return Ok(());
    }
    let matches = |value: &Value| {
        value
            .as_str()
            .is_some_and(|audience| accepted.iter().any(|ok| ok == audience))
    };
    let ok = match claims.get("aud") {
        Some(single @ Value::String(_)) => matches(single),
        Some(Value::Array(values)) => values.iter().any(matches),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(AuthFailure::WrongAudience)
    }
}

/// `sub`, else `client_id` (RFC 9068) or `azp` for client-credential tokens.
fn subject(claims: &Map<String, Value>) -> Result<String, AuthFailure> {
    ["sub", "client_id", "azp"]
        .iter()
        .find_map(|name| claims.get(*name).and_then(Value::as_str))
        .map(str::to_string)
        .ok_or(AuthFailure::InvalidClaims)
}

/// Scopes from the configured claim, read as a space-separated string or an array of strings;
/// when that claim is absent, the standard `scope` string or `scp` array. See `crate::scope`
/// for what separates and what is dropped.
fn scopes(claims: &Map<String, Value>, configured: &str) -> Vec<String> {
    [configured, "scope", "scp"]
        .iter()
        .find_map(|name| claims.get(*name))
        .map(crate::scope::scopes_from_value)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: serde_json::Value) -> Map<String, Value> {
        match json {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn time_claims_use_the_leeway_on_both_sides() {
        let now = 1_000_000;
        let ok = claims(serde_json::json!({"exp": now + 10, "nbf": now + 20, "iat": now + 20}));
        assert_eq!(check_time_claims(&ok, now, 30), Ok(now + 10));
        let expired = claims(serde_json::json!({"exp": now - 31}));
        assert_eq!(
            check_time_claims(&expired, now, 30),
            Err(AuthFailure::Expired)
        );
        let within = claims(serde_json::json!({"exp": now - 29}));
        assert!(check_time_claims(&within, now, 30).is_ok());
        let early = claims(serde_json::json!({"exp": now + 100, "nbf": now + 31}));
        assert_eq!(
            check_time_claims(&early, now, 30),
            Err(AuthFailure::NotYetValid)
        );
        let future = claims(serde_json::json!({"exp": now + 100, "iat": now + 31}));
        assert_eq!(
            check_time_claims(&future, now, 30),
            Err(AuthFailure::IssuedInFuture)
        );
        assert_eq!(
            check_time_claims(&claims(serde_json::json!({})), now, 30),
            Err(AuthFailure::MissingExpiry)
        );
        let text = claims(serde_json::json!({"exp": "2030-01-01"}));
        assert_eq!(
            check_time_claims(&text, now, 30),
            Err(AuthFailure::InvalidClaims)
        );
        let fractional = claims(serde_json::json!({"exp": (now as f64) + 10.5}));
        assert_eq!(check_time_claims(&fractional, now, 0), Ok(now + 10));
    }

    #[test]
    fn scopes_read_strings_and_arrays() {
        let from_string = claims(serde_json::json!({"scope": "a  b c"}));
        assert_eq!(scopes(&from_string, "scope"), vec!["a", "b", "c"]);
        let from_scp = claims(serde_json::json!({"scp": ["x", 1, "y"]}));
        assert_eq!(scopes(&from_scp, "scope"), vec!["x", "y"]);
        let custom = claims(serde_json::json!({"permissions": ["p"], "scope": "ignored"}));
        assert_eq!(scopes(&custom, "permissions"), vec!["p"]);
        assert!(scopes(&claims(serde_json::json!({})), "scope").is_empty());
    }

    #[test]
    fn scope_strings_split_on_the_ascii_space_only() {
        // RFC 6749 §3.3: other whitespace is part of a token, which then matches nothing.
        // Tokens holding other whitespace are not scope-tokens: dropped, never split.
        let cases: [(Value, &[&str]); 6] = [
            (serde_json::json!({"scope": "orders:read\u{a0}admin"}), &[]),
            (serde_json::json!({"scope": "a\tadmin"}), &[]),
            (serde_json::json!({"scope": "a\nadmin b"}), &["b"]),
            (serde_json::json!({"scope": "a\u{2003}admin"}), &[]),
            (serde_json::json!({"scope": " a  b "}), &["a", "b"]),
            // Array members are whole tokens: never split, dropped when not scope-tokens.
            (
                serde_json::json!({"scp": ["a admin", "b\u{a0}c", "d"]}),
                &["d"],
            ),
        ];
        for (json, expected) in cases {
            assert_eq!(scopes(&claims(json.clone()), "scope"), expected, "{json}");
        }
    }

    #[test]
    fn subject_falls_back_to_client_id() {
        assert_eq!(
            subject(&claims(serde_json::json!({"sub": "u"}))),
            Ok("u".into())
        );
        assert_eq!(
            subject(&claims(serde_json::json!({"client_id": "c"}))),
            Ok("c".into())
        );
        assert_eq!(
            subject(&claims(serde_json::json!({"sub": 5}))),
            Err(AuthFailure::InvalidClaims)
        );
    }
}
