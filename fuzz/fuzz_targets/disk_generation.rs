//! The data plane's last-known-good file parser (`portcullis_agent::disk::decode`) reads a
//! file that a crash or a full disk may have cut short or damaged. Whatever the bytes, it
//! never panics, and a file it accepts ends with a `sha256:` trailer line that matches the
//! bytes before it (checked here independently), holding a document of the current format.
//!
//! Random bytes almost never carry a matching trailer, so each input is also tried as a
//! document under a correct trailer (which reaches the document's parsing), and that file
//! cut at an input-chosen length (a write cut short).
//!
//! The contract is `portcullis_fuzz_checks::disk_generation::check`; the stable test suite
//! also runs it over this target's seeds and regressions.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz_checks::disk_generation::check(data));
