//! Arbitrary bytes as `traceparent`/`tracestate` values: never panics, and the context it
//! yields always renders a valid version-00 `traceparent`.
//!
//! The contract lives in `portcullis_fuzz_checks::traceparent`, which the stable test suite also runs
//! over this target's corpus and regressions.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz_checks::traceparent::check(data));
