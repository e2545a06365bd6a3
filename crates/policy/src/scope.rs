//! OAuth scope strings (RFC 6749 §3.3): `scope-token *( SP scope-token )`, where SP is the
//! ASCII space (0x20) only. Splitting on Unicode whitespace would let a token such as
//! `"orders:read\u{a0}admin"` (one token for the issuer, which matches nothing) grant `admin`;
//! tabs and newlines are likewise part of a token, never separators.

/// The scope tokens of a space-separated scope string; runs of spaces yield no empty tokens.
pub fn split_scope(text: &str) -> Vec<String> {
    text.split(' ')
        .filter(|token| !token.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_ascii_space_separates() {
        let cases: [(&str, &[&str]); 7] = [
            ("a b", &["a", "b"]),
            ("  a   b  ", &["a", "b"]),
            ("", &[]),
            ("orders:read\u{a0}admin", &["orders:read\u{a0}admin"]),
            ("a\tadmin", &["a\tadmin"]),
            ("a\r\nadmin", &["a\r\nadmin"]),
            ("a\u{3000}admin\u{2028}x", &["a\u{3000}admin\u{2028}x"]),
        ];
        for (text, expected) in cases {
            assert_eq!(split_scope(text), expected, "{text:?}");
        }
    }
}
