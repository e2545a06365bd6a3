//! A configuration's identity: `sha256:` over its canonical JSON, so the control plane and
//! every data plane compute the same string for the same model whatever the source looked like.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::Config;

/// `sha256:<64 lower-case hex>` over [`canonical_json`] of the model.
pub fn checksum(config: &Config) -> String {
    let digest = Sha256::digest(canonical_json(config).as_bytes());
    format!("sha256:{}", hex::encode(digest))
}

/// The model as JSON with object keys sorted (by bytes) at every level and no whitespace.
pub fn canonical_json(config: &Config) -> String {
    // The model is plain data (strings, numbers, maps with string keys), so serializing it to
    // a Value cannot fail; should it ever, the checksum of `null` still changes with nothing
    // else and is never confused with a real config's.
    let value = serde_json::to_value(config).unwrap_or(Value::Null);
    let mut out = String::new();
    write_canonical(&value, &mut out);
    out
}

/// Writes `value` canonically. Iterative, so nesting depth never matters.
pub fn write_canonical(value: &Value, out: &mut String) {
    enum Step<'a> {
        Value(&'a Value),
        Text(&'static str),
        Key(&'a str),
    }
    let mut pending = vec![Step::Value(value)];
    while let Some(step) = pending.pop() {
        match step {
            Step::Text(text) => out.push_str(text),
            Step::Key(key) => {
                write_string(key, out);
                out.push(':');
            }
            Step::Value(Value::Array(items)) => {
                out.push('[');
                pending.push(Step::Text("]"));
                for (index, item) in items.iter().enumerate().rev() {
                    pending.push(Step::Value(item));
                    if index > 0 {
                        pending.push(Step::Text(","));
                    }
                }
            }
            Step::Value(Value::Object(members)) => {
                out.push('{');
                pending.push(Step::Text("}"));
                let mut keys: Vec<&String> = members.keys().collect();
                keys.sort_unstable();
                for (index, key) in keys.iter().enumerate().rev() {
                    if let Some(member) = members.get(key.as_str()) {
                        pending.push(Step::Value(member));
                    }
                    pending.push(Step::Key(key));
                    if index > 0 {
                        pending.push(Step::Text(","));
                    }
                }
            }
            Step::Value(Value::String(text)) => write_string(text, out),
            Step::Value(scalar) => out.push_str(&scalar.to_string()),
        }
    }
}

/// JSON string with the minimal escapes (quote, backslash, control characters).
fn write_string(text: &str, out: &mut String) {
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            control if u32::from(control) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", u32::from(control)))
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canonical(value: &Value) -> String {
        let mut out = String::new();
        write_canonical(value, &mut out);
        out
    }

    #[test]
    fn keys_are_sorted_at_every_level_without_whitespace() {
        let value =
            json!({"b": {"z": 1, "a": [true, null, {"y": "x", "c": 2.5}]}, "a": "q\"\n\u{1}"});
        assert_eq!(
            canonical(&value),
            r#"{"a":"q\"\n\u0001","b":{"a":[true,null,{"c":2.5,"y":"x"}],"z":1}}"#
        );
    }

    #[test]
    fn canonical_output_is_valid_json_of_the_same_value() {
        let value = json!({"k": ["a", {"n": -3, "m": 18446744073709551615u64}], "e": {}, "l": []});
        let text = canonical(&value);
        let reparsed: Value = serde_json::from_str(&text).expect("canonical json parses");
        assert_eq!(reparsed, value);
    }

    #[test]
    fn checksum_has_the_sha256_prefix_and_64_hex_digits() {
        let sum = checksum(&Config::default());
        let digits = sum.strip_prefix("sha256:").expect("prefix");
        assert_eq!(digits.len(), 64);
        assert!(digits
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte)));
    }
}
