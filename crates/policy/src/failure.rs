//! Why authentication or authorization failed, as closed sets of reason codes.
//!
//! The codes are stable snake_case strings used as metrics labels and as the only detail a
//! client sees: nothing from the credential (token text, key, claim values) ever reaches a
//! response, a log line or a `Debug` print through these types.

use http::HeaderValue;
use portcullis_error::{ErrorKind, GatewayError, Phase};

/// A 401 reason. Each variant has exactly one code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthFailure {
    /// No credential of an accepted kind was presented.
    MissingCredentials,
    /// More than one `Authorization` header.
    MultipleAuthorizationHeaders,
    /// `Authorization` is not `Bearer <token>` or is not valid text.
    MalformedAuthorizationHeader,
    TokenTooLarge,
    /// Not three base64url segments of JSON objects.
    MalformedToken,
    /// The header or claims JSON repeats a member name (at any depth).
    DuplicateMember,
    /// The header's `typ` is not one the issuer accepts (`refresh+jwt`, `id_token+jwt`, ...).
    TokenType,
    /// `alg: none` in any casing.
    AlgorithmNone,
    /// An algorithm the issuer does not allow (or no algorithm at all).
    AlgorithmNotAllowed,
    /// The key named by `kid` cannot be used with the header's algorithm (e.g. HS256 with an
    /// RSA key).
    KeyAlgorithmMismatch,
    /// A `crit` header names an extension the gateway does not implement.
    UnsupportedCriticalHeader,
    /// No key in the issuer's key set has this exact `kid`.
    UnknownKeyId,
    /// `iss` is missing or names no configured issuer.
    UnknownIssuer,
    InvalidSignature,
    MissingExpiry,
    Expired,
    NotYetValid,
    IssuedInFuture,
    WrongAudience,
    /// A registered claim has the wrong type (`exp` as a string, `aud` as a number, ...).
    InvalidClaims,
    ApiKeyNotFound,
    ApiKeyRevoked,
    ApiKeyExpired,
    /// `Signature-Input`/`Signature` missing, duplicated, or not valid structured fields.
    SignatureMalformed,
    /// A component the gateway requires is not covered by the signature.
    SignatureMissingComponent,
    /// `created` outside the allowed window, or `expires` passed.
    SignatureStale,
    SignatureUnknownKey,
    /// `alg` parameter differs from the key's configured algorithm.
    SignatureAlgorithmMismatch,
    SignatureInvalid,
    ContentDigestMissing,
    ContentDigestMismatch,
    NonceReplayed,
    /// The replay cache is full of live nonces; failing closed keeps replays out.
    NonceCacheFull,
    /// No identity of the client certificate is mapped under `authentication.mtls`.
    ClientCertificateUnmapped,
    /// The introspection endpoint says the token is not active.
    TokenInactive,
}

impl AuthFailure {
    /// Every variant, for tests and for pre-registering metrics label values.
    pub const ALL: [AuthFailure; 35] = [
        AuthFailure::MissingCredentials,
        AuthFailure::MultipleAuthorizationHeaders,
        AuthFailure::MalformedAuthorizationHeader,
        AuthFailure::TokenTooLarge,
        AuthFailure::MalformedToken,
        AuthFailure::DuplicateMember,
        AuthFailure::TokenType,
        AuthFailure::AlgorithmNone,
        AuthFailure::AlgorithmNotAllowed,
        AuthFailure::KeyAlgorithmMismatch,
        AuthFailure::UnsupportedCriticalHeader,
        AuthFailure::UnknownKeyId,
        AuthFailure::UnknownIssuer,
        AuthFailure::InvalidSignature,
        AuthFailure::MissingExpiry,
        AuthFailure::Expired,
        AuthFailure::NotYetValid,
        AuthFailure::IssuedInFuture,
        AuthFailure::WrongAudience,
        AuthFailure::InvalidClaims,
        AuthFailure::ApiKeyNotFound,
        AuthFailure::ApiKeyRevoked,
        AuthFailure::ApiKeyExpired,
        AuthFailure::SignatureMalformed,
        AuthFailure::SignatureMissingComponent,
        AuthFailure::SignatureStale,
        AuthFailure::SignatureUnknownKey,
        AuthFailure::SignatureAlgorithmMismatch,
        AuthFailure::SignatureInvalid,
        AuthFailure::ContentDigestMissing,
        AuthFailure::ContentDigestMismatch,
        AuthFailure::NonceReplayed,
        AuthFailure::NonceCacheFull,
        AuthFailure::ClientCertificateUnmapped,
        AuthFailure::TokenInactive,
    ];

    /// Stable reason code (metrics label, problem detail, `error_description`).
    pub fn code(self) -> &'static str {
        match self {
            AuthFailure::MissingCredentials => "missing_credentials",
            AuthFailure::MultipleAuthorizationHeaders => "multiple_authorization_headers",
            AuthFailure::MalformedAuthorizationHeader => "malformed_authorization_header",
            AuthFailure::TokenTooLarge => "token_too_large",
            AuthFailure::MalformedToken => "malformed_token",
            AuthFailure::DuplicateMember => "duplicate_member",
            AuthFailure::TokenType => "token_type",
            AuthFailure::AlgorithmNone => "algorithm_none",
            AuthFailure::AlgorithmNotAllowed => "algorithm_not_allowed",
            AuthFailure::KeyAlgorithmMismatch => "key_algorithm_mismatch",
            AuthFailure::UnsupportedCriticalHeader => "unsupported_critical_header",
            AuthFailure::UnknownKeyId => "unknown_kid",
            AuthFailure::UnknownIssuer => "unknown_issuer",
            AuthFailure::InvalidSignature => "invalid_signature",
            AuthFailure::MissingExpiry => "missing_exp",
            AuthFailure::Expired => "expired",
            AuthFailure::NotYetValid => "not_yet_valid",
            AuthFailure::IssuedInFuture => "issued_in_future",
            AuthFailure::WrongAudience => "wrong_audience",
            AuthFailure::InvalidClaims => "invalid_claims",
            AuthFailure::ApiKeyNotFound => "api_key_not_found",
            AuthFailure::ApiKeyRevoked => "api_key_revoked",
            AuthFailure::ApiKeyExpired => "api_key_expired",
            AuthFailure::SignatureMalformed => "signature_malformed",
            AuthFailure::SignatureMissingComponent => "signature_missing_component",
            AuthFailure::SignatureStale => "signature_stale",
            AuthFailure::SignatureUnknownKey => "signature_unknown_key",
            AuthFailure::SignatureAlgorithmMismatch => "signature_algorithm_mismatch",
            AuthFailure::SignatureInvalid => "signature_invalid",
            AuthFailure::ContentDigestMissing => "content_digest_missing",
            AuthFailure::ContentDigestMismatch => "content_digest_mismatch",
            AuthFailure::NonceReplayed => "nonce_replayed",
            AuthFailure::NonceCacheFull => "nonce_cache_full",
            AuthFailure::ClientCertificateUnmapped => "client_certificate_unmapped",
            AuthFailure::TokenInactive => "token_inactive",
        }
    }

    /// The `WWW-Authenticate` value (RFC 6750 §3). A request without credentials gets the bare
    /// challenge; any other failure `error="invalid_token"` with the reason code only.
    pub fn www_authenticate(self) -> HeaderValue {
        match self {
            AuthFailure::MissingCredentials => HeaderValue::from_static("Bearer"),
            other => {
                let value = format!(
                    "Bearer error=\"invalid_token\", error_description=\"{}\"",
                    other.code()
                );
                // Codes are ASCII snake_case, so this cannot fail; fall back to the bare form.
                HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("Bearer"))
            }
        }
    }

    /// The pipeline error for this failure: 401, phase `authenticate`, reason code as detail.
    pub fn to_gateway_error(self) -> GatewayError {
        GatewayError::client(ErrorKind::Unauthenticated, Phase::Authenticate)
            .with_detail(self.code())
    }
}

impl std::fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::error::Error for AuthFailure {}

/// A 403 reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DenyReason {
    /// The route has authorization rules but the request carried no principal (`auth: optional`).
    NoPrincipal,
    InsufficientScope,
    /// The request path is under an admin prefix and the principal lacks the `admin` scope.
    AdminScopeRequired,
    /// The route checks tenant status but the principal has no tenant.
    NoTenant,
    /// The principal's tenant is not in the `tenants` registry.
    UnknownTenant,
    TenantStatusNotAllowed,
    ProductNotAllowed,
}

impl DenyReason {
    pub const ALL: [DenyReason; 7] = [
        DenyReason::NoPrincipal,
        DenyReason::InsufficientScope,
        DenyReason::AdminScopeRequired,
        DenyReason::NoTenant,
        DenyReason::UnknownTenant,
        DenyReason::TenantStatusNotAllowed,
        DenyReason::ProductNotAllowed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            DenyReason::NoPrincipal => "no_principal",
            DenyReason::InsufficientScope => "insufficient_scope",
            DenyReason::AdminScopeRequired => "admin_scope_required",
            DenyReason::NoTenant => "no_tenant",
            DenyReason::UnknownTenant => "unknown_tenant",
            DenyReason::TenantStatusNotAllowed => "tenant_status_not_allowed",
            DenyReason::ProductNotAllowed => "product_not_allowed",
        }
    }
}

impl std::fmt::Display for DenyReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A refused request: the reason plus the challenge the route advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub reason: DenyReason,
    /// `Bearer error="insufficient_scope", scope="…"` (RFC 6750 §3.1), precomputed per route.
    pub www_authenticate: HeaderValue,
}

impl Denial {
    /// The pipeline error for this denial: 403, phase `authorize`, reason code as detail.
    pub fn to_gateway_error(&self) -> GatewayError {
        GatewayError::client(ErrorKind::Forbidden, Phase::Authorize).with_detail(self.reason.code())
    }
}

impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "denied: {}", self.reason.code())
    }
}

impl std::error::Error for Denial {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn reason_codes_are_unique_snake_case_labels() {
        let codes: HashSet<&str> = AuthFailure::ALL
            .iter()
            .map(|failure| failure.code())
            .collect();
        assert_eq!(codes.len(), AuthFailure::ALL.len());
        let deny: HashSet<&str> = DenyReason::ALL.iter().map(|reason| reason.code()).collect();
        assert_eq!(deny.len(), DenyReason::ALL.len());
        for code in codes.iter().chain(deny.iter()) {
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
        }
    }

    #[test]
    fn unauthenticated_challenge_carries_only_the_reason_code() {
        let value = AuthFailure::Expired.www_authenticate();
        assert_eq!(
            value.to_str().expect("ascii"),
            "Bearer error=\"invalid_token\", error_description=\"expired\""
        );
        assert_eq!(AuthFailure::MissingCredentials.www_authenticate(), "Bearer");
        let error = AuthFailure::UnknownKeyId.to_gateway_error();
        assert_eq!(error.status(), http::StatusCode::UNAUTHORIZED);
        assert_eq!(error.phase, Phase::Authenticate);
        assert_eq!(error.detail.as_deref(), Some("unknown_kid"));
    }
}
