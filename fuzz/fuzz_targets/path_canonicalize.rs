//! Fuzz `canonicalize_path`: it must never panic, and a canonical path must be a fixed point
//! (canonicalising it again returns it unchanged, borrowed) free of `//`, `/./` and `/../`.
//!
//! The contract is `portcullis_fuzz_checks::path_canonicalize::check`; the stable test suite
//! also runs it over this target's seeds and regressions.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz_checks::path_canonicalize::check(data));
