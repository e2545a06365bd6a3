//! Defaults (each one is listed in docs/configuration.md).

pub const DEFAULT_VERSION_NAME: &str = "default";

pub fn default_timeout_ms() -> u64 {
    15_000
}
pub fn default_connect_timeout_ms() -> u64 {
    1_000
}
pub fn default_pool_max_idle() -> u32 {
    256
}
pub fn default_pool_idle_timeout_ms() -> u64 {
    60_000
}
pub fn default_clock_tolerance_seconds() -> u64 {
    30
}
pub fn default_tenant_claim() -> String {
    "tenant_id".to_string()
}
pub fn default_scopes_claim() -> String {
    "scope".to_string()
}
pub fn default_api_key_header() -> String {
    "x-api-key".to_string()
}
pub fn default_token_cache_size() -> u32 {
    10_000
}
pub fn default_token_cache_ttl_seconds() -> u64 {
    300
}
pub fn default_jwks_refresh_min_seconds() -> u64 {
    60
}
pub fn default_jwks_refresh_max_seconds() -> u64 {
    3_600
}
pub fn default_unknown_kid_cooldown_seconds() -> u64 {
    30
}
pub fn default_jwks_max_stale_seconds() -> u64 {
    86_400
}
pub fn default_signature_max_skew_seconds() -> u64 {
    300
}
pub fn default_nonce_cache_size() -> u32 {
    100_000
}
pub fn default_introspection_timeout_ms() -> u64 {
    2_000
}
pub fn default_introspection_cache_ttl_seconds() -> u64 {
    300
}
pub fn default_introspection_inactive_ttl_seconds() -> u64 {
    10
}
pub fn default_subject_header() -> String {
    "x-portcullis-subject".to_string()
}
pub fn default_tenant_header() -> String {
    "x-portcullis-tenant".to_string()
}
pub fn default_scopes_header() -> String {
    "x-portcullis-scopes".to_string()
}
pub fn default_active_status() -> String {
    "ACTIVE".to_string()
}
pub fn default_max_header_bytes() -> u32 {
    32 * 1024
}
pub fn default_max_headers() -> u32 {
    100
}
pub fn default_header_read_timeout_ms() -> u64 {
    10_000
}
pub fn default_idle_timeout_ms() -> u64 {
    60_000
}
pub fn default_body_read_timeout_ms() -> u64 {
    30_000
}
pub fn default_write_timeout_ms() -> u64 {
    30_000
}
pub fn default_max_connections() -> u32 {
    25_000
}
pub fn default_admin_address() -> String {
    "127.0.0.1:9901".to_string()
}
pub fn default_access_log_path() -> String {
    "stdout".to_string()
}
pub fn default_access_log_queue() -> u32 {
    16_384
}
/// JWT `typ` values accepted when an issuer lists none: access tokens only (RFC 9068 §2.1),
/// never `refresh+jwt` or ID-token types. An absent `typ` is always accepted.
pub const DEFAULT_ALLOWED_TOKEN_TYPES: [&str; 3] = ["JWT", "at+jwt", "application/at+jwt"];
pub fn default_allowed_token_types() -> Vec<String> {
    DEFAULT_ALLOWED_TOKEN_TYPES
        .iter()
        .map(|typ| typ.to_string())
        .collect()
}
