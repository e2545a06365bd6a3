//! Config parsing, validation and everything built from a valid config without the data
//! plane's environment (the compile and the policy material dry run) must never panic,
//! whatever the input.

use portcullis_config::{load_str, Format};

/// The target's contract for one input; panics on a violation.
pub fn check(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        for format in [Format::Yaml, Format::Json] {
            if let Ok(validated) = load_str(text, format) {
                let _ = portcullis_router::Snapshot::compile(&validated);
                let _ = portcullis_policy::material::dry_run(&validated);
            }
        }
    }
}
