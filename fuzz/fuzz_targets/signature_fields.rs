//! `Signature-Input`, `Signature` and `Content-Digest` (RFC 8941 dictionaries, parsed by
//! `portcullis_policy::signature::sfv`): never panics; parsed keys are unique and keep the
//! key grammar; every inner list serializes to a line that parses back to the same list (the
//! `@signature-params` line depends on it); the lines of the input, used as the three headers
//! of a request, never verify against a key the input cannot know.
//!
//! The contract lives in `portcullis_fuzz_checks::signature_fields`, which the stable test suite also runs
//! over this target's corpus and regressions.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz_checks::signature_fields::check(data));
