//! Prometheus text exposition primitives: a family's `HELP`/`TYPE` lines and label escaping.

use std::fmt::Write;

pub(super) fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(
        out,
        "# HELP portcullis_{name} {help}\n# TYPE portcullis_{name} {kind}"
    );
}

/// Label values escape backslash, double quote and line feed (exposition format).
pub(super) fn escape_into(out: &mut String, value: &str) {
    for character in value.chars() {
        match character {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            other => out.push(other),
        }
    }
}
