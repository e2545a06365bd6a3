//! Authentication methods, identity headers and tenants (behaviour: `portcullis-policy` and
//! the proxy's auth phase; shape parsed and validated here).

use serde::{Deserialize, Serialize};

use super::defaults::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Authentication {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<JwtAuthentication>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_keys: Option<ApiKeyAuthentication>,
    /// RFC 9421 signed partner requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signatures: Option<SignatureAuthentication>,
    /// Principals from TLS client certificates (the listener sets `tls.clientAuth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtls: Option<MtlsAuthentication>,
    /// OAuth2 token introspection (RFC 7662) for opaque tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introspection: Option<IntrospectionAuthentication>,
    /// Headers the gateway sets upstream after authentication (client-sent copies are stripped).
    #[serde(default)]
    pub identity_headers: IdentityHeaders,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JwtAuthentication {
    #[serde(default)]
    pub issuers: Vec<JwtIssuer>,
    /// Verified tokens remembered per worker thread; 0 disables the cache.
    #[serde(default = "default_token_cache_size")]
    pub token_cache_size: u32,
    /// A cached token is re-verified after this long even if its `exp` is later.
    #[serde(default = "default_token_cache_ttl_seconds")]
    pub token_cache_ttl_seconds: u64,
}

impl Default for JwtAuthentication {
    fn default() -> Self {
        JwtAuthentication {
            issuers: Vec::new(),
            token_cache_size: default_token_cache_size(),
            token_cache_ttl_seconds: default_token_cache_ttl_seconds(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JwtIssuer {
    pub issuer: String,
    #[serde(default)]
    pub audiences: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// An inline JWK Set (`{"keys": [...]}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    #[serde(default)]
    pub algorithms: Vec<String>,
    #[serde(default = "default_clock_tolerance_seconds")]
    pub clock_tolerance_seconds: u64,
    #[serde(default = "default_tenant_claim")]
    pub tenant_claim: String,
    #[serde(default = "default_scopes_claim")]
    pub scopes_claim: String,
    /// Accepted header `typ` values, compared as media types (case-insensitive, `application/`
    /// implied); an absent `typ` is always accepted.
    #[serde(default = "default_allowed_token_types")]
    pub allowed_types: Vec<String>,
    /// Lower bound on the JWKS refresh interval (a shorter `Cache-Control: max-age` is raised).
    #[serde(default = "default_jwks_refresh_min_seconds")]
    pub jwks_refresh_min_seconds: u64,
    /// Upper bound on the JWKS refresh interval (and the interval without `max-age`).
    #[serde(default = "default_jwks_refresh_max_seconds")]
    pub jwks_refresh_max_seconds: u64,
    /// After an unknown `kid` triggered a refresh, further unknown kids fail fast for this long.
    #[serde(default = "default_unknown_kid_cooldown_seconds")]
    pub unknown_kid_cooldown_seconds: u64,
    /// While the JWKS endpoint is down, the last keys stay in use for at most this long.
    #[serde(default = "default_jwks_max_stale_seconds")]
    pub max_stale_seconds: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKeyAuthentication {
    #[serde(default = "default_api_key_header")]
    pub header: String,
    #[serde(default)]
    pub keys: Vec<ApiKey>,
}

impl Default for ApiKeyAuthentication {
    fn default() -> Self {
        ApiKeyAuthentication {
            header: default_api_key_header(),
            keys: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiKey {
    pub id: String,
    /// `sha256:` followed by 64 lower-case hex digits; the key itself is never stored.
    pub hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub products: Vec<String>,
    #[serde(default = "default_active_status")]
    pub status: String,
    /// RFC 3339 expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignatureAuthentication {
    /// How far `created` may be from the gateway's clock, either way.
    #[serde(default = "default_signature_max_skew_seconds")]
    pub max_skew_seconds: u64,
    /// Most nonces remembered at once; when full of live nonces, new ones are refused.
    #[serde(default = "default_nonce_cache_size")]
    pub nonce_cache_size: u32,
    #[serde(default)]
    pub keys: Vec<SignatureKeyConfig>,
}

impl Default for SignatureAuthentication {
    fn default() -> Self {
        SignatureAuthentication {
            max_skew_seconds: default_signature_max_skew_seconds(),
            nonce_cache_size: default_nonce_cache_size(),
            keys: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignatureAlgorithmName {
    #[serde(rename = "hmac-sha256")]
    HmacSha256,
    #[serde(rename = "ed25519")]
    Ed25519,
}

/// One partner key (RFC 9421 `keyid`) and the principal it maps to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignatureKeyConfig {
    pub key_id: String,
    pub algorithm: SignatureAlgorithmName,
    /// hmac-sha256: where the shared secret is, `env:NAME` or `file:PATH` (never inline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// ed25519: the raw 32-byte public key in base64, or `file:PATH` holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// The partner's principal.
    pub subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MtlsAuthentication {
    /// Certificate identities (SAN URI such as a SPIFFE id, else DNS SAN, else subject CN) that
    /// map to principals; a certificate with no mapped identity is refused.
    #[serde(default)]
    pub identities: Vec<MtlsIdentity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MtlsIdentity {
    /// `spiffe://…` or another SAN URI, a DNS name, or a subject CN; matched exactly.
    pub identity: String,
    /// Principal subject; the identity itself when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntrospectionAuthentication {
    /// RFC 7662 endpoint, `http://` or `https://`.
    pub endpoint: String,
    pub client_id: String,
    /// Where the client secret is, `env:NAME` or `file:PATH` (never inline).
    pub client_secret: String,
    #[serde(default = "default_introspection_timeout_ms")]
    pub timeout_ms: u64,
    /// Active tokens are cached until the earlier of `exp` and this.
    #[serde(default = "default_introspection_cache_ttl_seconds")]
    pub cache_ttl_seconds: u64,
    /// Inactive tokens are remembered this long, so a bad token cannot hammer the endpoint.
    #[serde(default = "default_introspection_inactive_ttl_seconds")]
    pub inactive_cache_ttl_seconds: u64,
    #[serde(default = "default_tenant_claim")]
    pub tenant_claim: String,
    #[serde(default = "default_scopes_claim")]
    pub scopes_claim: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdentityHeaders {
    #[serde(default = "default_subject_header")]
    pub subject: String,
    #[serde(default = "default_tenant_header")]
    pub tenant: String,
    #[serde(default = "default_scopes_header")]
    pub scopes: String,
}

impl Default for IdentityHeaders {
    fn default() -> Self {
        IdentityHeaders {
            subject: default_subject_header(),
            tenant: default_tenant_header(),
            scopes: default_scopes_header(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tenant {
    #[serde(default = "default_active_status")]
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
}
