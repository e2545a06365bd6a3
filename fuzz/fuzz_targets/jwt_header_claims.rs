//! JWT header and claims JSON (`portcullis_policy::jwt`): the input is a header object, a
//! newline, and a claims object (no newline: both are the same bytes). Never panics; the
//! duplicate-refusing parser agrees with `serde_json` on every input without a repeated name;
//! a screened header carries only an allowed `alg` and an accepted `typ`; a token whose claims
//! repeat a name is refused for exactly that; no token verifies without keys; scope tokens
//! never hold a space.
//!
//! The contract lives in `portcullis_fuzz_checks::jwt_header_claims`, which the stable test suite also runs
//! over this target's corpus and regressions.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz_checks::jwt_header_claims::check(data));
