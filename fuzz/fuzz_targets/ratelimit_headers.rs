//! The `RateLimit-Policy`, `RateLimit` and `Retry-After` writers
//! (`portcullis_ratelimit::headers`) with arbitrary names and values, raw or through bucket
//! and quota decisions: never panic, and always write a valid header value that parses as a
//! Structured Field List of sf-strings with two sf-integer parameters, one member per item,
//! names and numbers as the items hold them (non-printable name characters as `?`, numbers
//! capped at 15 digits).
//!
//! The contract lives in `portcullis_fuzz_checks::ratelimit_headers`, which the stable test suite also runs
//! over this target's corpus and regressions.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz_checks::ratelimit_headers::check(data));
