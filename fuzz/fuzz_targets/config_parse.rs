//! Config parsing and validation must never panic, whatever the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_config::{load_str, Format};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = load_str(text, Format::Yaml);
        let _ = load_str(text, Format::Json);
    }
});
