//! Arbitrary bytes as `x-request-id`: never panics, a valid id is kept verbatim, and the
//! result is always a valid id.
//!
//! The contract is `portcullis_fuzz_checks::request_id::check`; the stable test suite
//! also runs it over this target's seeds and regressions.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz_checks::request_id::check(data));
