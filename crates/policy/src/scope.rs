//! OAuth scopes from tokens and introspection answers (RFC 6749 §3.3):
//! `scope = scope-token *( SP scope-token )`, `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
//!
//! Only the ASCII space (0x20) separates. Splitting on Unicode whitespace would let
//! `"orders:read\u{a0}admin"` (one token for the issuer) grant `admin`; tabs and newlines are
//! likewise never separators. A token outside the scope-token characters (one holding a no-break
//! space, a tab, a quote, or an array member holding a space) is dropped: it matches no route's
//! scope, and it must not reach `x-portcullis-scopes`, where scopes are joined by spaces and an
//! upstream could split it differently (`["orders:read admin"]` read as two scopes).

use serde_json::Value;

/// Whether `token` is an RFC 6749 scope-token: visible ASCII except `"` and `\`.
pub fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e))
}

/// The scope tokens of a space-separated scope string; runs of spaces yield no empty tokens.
pub fn split_scope(text: &str) -> Vec<String> {
    text.split(' ')
        .filter(|token| is_scope_token(token))
        .map(str::to_string)
        .collect()
}

/// Scopes from a claim that is a space-separated string or an array of strings (`scp`); each
/// array member is one token, kept only when it is a valid scope-token.
pub fn scopes_from_value(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => split_scope(text),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .filter(|token| is_scope_token(token))
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_ascii_space_separates_and_invalid_tokens_are_dropped() {
        let cases: [(&str, &[&str]); 9] = [
            ("a b", &["a", "b"]),
            ("  a   b  ", &["a", "b"]),
            ("", &[]),
            ("orders:read\u{a0}admin", &[]),
            ("orders:read\u{a0}admin x", &["x"]),
            ("a\tadmin", &[]),
            ("a\r\nadmin b", &["b"]),
            ("a\u{3000}admin\u{2028}x", &[]),
            ("q\"uote back\\slash ok!#[]~", &["ok!#[]~"]),
        ];
        for (text, expected) in cases {
            assert_eq!(split_scope(text), expected, "{text:?}");
        }
    }

    #[test]
    fn array_members_are_whole_tokens_or_dropped() {
        let value = serde_json::json!(["a", "orders:read admin", "b\u{a0}c", 5, "", "d"]);
        assert_eq!(scopes_from_value(&value), ["a", "d"]);
        assert!(scopes_from_value(&serde_json::json!({"a": 1})).is_empty());
    }
}
