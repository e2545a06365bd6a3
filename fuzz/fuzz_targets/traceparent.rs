//! Arbitrary bytes as `traceparent`/`tracestate` values: never panics, and the context it
//! yields always renders a valid version-00 `traceparent`.
//!
//! The contract is `portcullis_fuzz_checks::traceparent::check`; the stable test suite
//! also runs it over this target's seeds and regressions.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz_checks::traceparent::check(data));
