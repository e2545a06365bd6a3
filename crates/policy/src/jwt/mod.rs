//! JSON Web Tokens: bearer extraction, header screening before any crypto, JWKS key sets,
//! signature and claim verification, and the verified-token cache.

mod bearer;
mod cache;
mod header;
mod keys;
mod refresh;
mod strict_json;
mod token_type;
mod verify;

pub use bearer::{bearer_token, MAX_TOKEN_BYTES};
pub use cache::{token_digest, TokenCache};
pub use header::{decode_json_segment, screen_header, ScreenedHeader};
pub use keys::{JwksError, KeyKind, KeySet, VerificationKey};
pub use refresh::{max_age, KidRefreshGate, RefreshPolicy};
pub use strict_json::{parse_object, JsonRefusal};
pub use token_type::TokenTypes;
pub use verify::{IssuerPolicy, JwtVerifier, VerifiedToken, DEFAULT_ALGORITHMS};
