//! Signed partner requests: RFC 9421 HTTP Message Signatures with `hmac-sha256` and `ed25519`,
//! RFC 9530 content digests, and nonce replay protection.

mod base;
mod digest;
mod nonce;
pub mod sfv;
mod verify;

pub use base::{component_value, covered_names, signature_base};
pub use digest::{content_digest_header, ContentDigest, ContentDigestCheck, CONTENT_DIGEST};
pub use nonce::NonceCache;
pub use verify::{
    ed25519_public_key, KeyMaterial, SignatureAlgorithm, SignatureKey, SignatureVerifier,
    DEFAULT_MAX_SKEW_SECONDS,
};
