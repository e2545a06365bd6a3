//! Config parsing, validation and everything built from a valid config without the data
//! plane's environment (the compile and the policy material dry run) must never panic,
//! whatever the input.
//!
//! The contract is `portcullis_fuzz_checks::config_parse::check`; the stable test suite
//! also runs it over this target's seeds and regressions.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz_checks::config_parse::check(data));
