//! Fuzz `canonicalize_path`: it must never panic, and a canonical path must be a fixed point
//! (canonicalising it again returns it unchanged, borrowed) free of `//`, `/./` and `/../`.
//!
//! The contract lives in `portcullis_fuzz_checks::path_canonicalize`, which the stable test suite also runs
//! over this target's corpus and regressions.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz_checks::path_canonicalize::check(data));
