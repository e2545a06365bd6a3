//! The contract of every fuzz target, one module per target under the target's name.
//!
//! Each `check(data)` panics when the input breaks the target's contract. The libFuzzer
//! binaries in `fuzz/fuzz_targets/` are one line each calling it, and `tests/corpora.rs` runs
//! it over every file in `fuzz/corpus/<target>/` and `fuzz/regressions/<target>/` on stable,
//! so seeds and past crashes are checked by `cargo test --workspace` without a fuzzer.

pub mod config_parse;
pub mod disk_generation;
pub mod http1_framing;
pub mod jwt_header_claims;
pub mod path_canonicalize;
pub mod ratelimit_headers;
pub mod request_id;
pub mod signature_fields;
pub mod traceparent;

/// A target's name (its binary in fuzz/ and its corpus folders) and contract.
pub type Target = (&'static str, fn(&[u8]));

/// Every fuzz target.
pub const TARGETS: &[Target] = &[
    ("config_parse", config_parse::check),
    ("disk_generation", disk_generation::check),
    ("http1_framing", http1_framing::check),
    ("jwt_header_claims", jwt_header_claims::check),
    ("path_canonicalize", path_canonicalize::check),
    ("ratelimit_headers", ratelimit_headers::check),
    ("request_id", request_id::check),
    ("signature_fields", signature_fields::check),
    ("traceparent", traceparent::check),
];
