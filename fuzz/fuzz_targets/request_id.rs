//! Arbitrary bytes as `x-request-id`: never panics, a valid id is kept verbatim, and the
//! result is always a valid id.
//!
//! The contract lives in `portcullis_fuzz_checks::request_id`, which the stable test suite also runs
//! over this target's corpus and regressions.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz_checks::request_id::check(data));
