//! Arbitrary bytes as one HTTP/1 connection through the framing tracker: it never panics,
//! never passes more than it was given, and gives the same verdict however the bytes are
//! cut up (a bad chunk that arrives after its head may break the body instead of refusing
//! the message, at the same chunk error).
//!
//! The contract is `portcullis_fuzz_checks::http1_framing::check`; the stable test suite
//! also runs it over this target's seeds and regressions.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz_checks::http1_framing::check(data));
