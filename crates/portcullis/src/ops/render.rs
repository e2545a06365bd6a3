//! Human output: aligned tables and one-line values. Text from the control plane (names,
//! messages, errors) is shown as stored, except that control characters are written as
//! escapes, so a stored value can never drive the operator's terminal.

use std::fmt::Write;

/// Columns separated by two spaces, each as wide as its widest cell; no trailing spaces.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers
        .iter()
        .map(|header| header.chars().count())
        .collect();
    for row in rows {
        for (index, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(index) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let header_cells: Vec<String> = headers.iter().map(|header| header.to_string()).collect();
    for row in std::iter::once(&header_cells).chain(rows) {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate() {
            if index > 0 {
                line.push_str("  ");
            }
            let width = widths.get(index).copied().unwrap_or(0);
            let _ = write!(line, "{cell:<width$}");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `value` with every control character (C0, DEL, C1) written as `\u{..}` (or `\n`, `\t`).
pub fn printable(value: &str) -> String {
    if !value.chars().any(char::is_control) {
        return value.to_string();
    }
    value
        .chars()
        .map(|character| match character {
            '\n' => "\\n".to_string(),
            '\t' => "\\t".to_string(),
            '\r' => "\\r".to_string(),
            control if control.is_control() => control.escape_unicode().to_string(),
            other => other.to_string(),
        })
        .collect()
}

/// The first 12 hex digits of a `sha256:` checksum, enough to tell versions apart on screen.
pub fn short_checksum(checksum: &str) -> String {
    match checksum.strip_prefix("sha256:") {
        Some(hex) => format!("sha256:{}", &hex[..hex.len().min(12)]),
        None => printable(checksum),
    }
}

pub fn or_dash(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "-".to_string(), |value| printable(&value.to_string()))
}

/// A JSON value on one line (strings without their quotes).
pub fn compact(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => printable(text),
        other => printable(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns_and_drop_trailing_spaces() {
        let rendered = table(
            &["VERSION", "STATUS", "MESSAGE"],
            &[
                vec!["12".into(), "ACTIVE".into(), "raise the timeout".into()],
                vec!["3".into(), "ROLLED_BACK".into(), String::new()],
            ],
        );
        assert_eq!(
            rendered,
            "VERSION  STATUS       MESSAGE\n\
             12       ACTIVE       raise the timeout\n\
             3        ROLLED_BACK\n"
        );
    }

    #[test]
    fn control_characters_are_escaped_and_everything_else_kept() {
        let cases = [
            (
                "plain 'quoted' \"text\"; DROP TABLE x;--",
                "plain 'quoted' \"text\"; DROP TABLE x;--",
            ),
            ("line\nbreak", "line\\nbreak"),
            ("\u{1b}[31mred", "\\u{1b}[31mred"),
            ("tab\there", "tab\\there"),
            ("\u{9b}csi", "\\u{9b}csi"),
            ("ünïcödé", "ünïcödé"),
        ];
        for (stored, shown) in cases {
            assert_eq!(printable(stored), shown, "{stored:?}");
        }
    }

    #[test]
    fn checksums_are_shortened_to_twelve_digits() {
        let checksum = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(short_checksum(&checksum), "sha256:abababababab");
        assert_eq!(short_checksum("odd"), "odd");
    }
}
