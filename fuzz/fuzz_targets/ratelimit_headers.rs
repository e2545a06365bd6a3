//! The `RateLimit-Policy`, `RateLimit` and `Retry-After` writers.
//!
//! The contract is `portcullis_fuzz_checks::ratelimit_headers::check`; the stable test suite
//! also runs it over this target's seeds and regressions.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz_checks::ratelimit_headers::check(data));
