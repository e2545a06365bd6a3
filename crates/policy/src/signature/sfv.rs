//! The subset of RFC 8941 Structured Field Values that message signatures use: dictionaries
//! whose members are items or inner lists, with parameters; integers, strings, tokens, byte
//! sequences and booleans (decimals are refused). Plus serialization of an inner list, which
//! RFC 9421 uses for the `@signature-params` line.
//!
//! Why hand-written rather than the `sfv` crate (evaluated for the hardening issue): the
//! verifier needs the members *in order* with a later duplicate replacing the earlier one in
//! place (RFC 8941 §4.2.2), and the exact parsed items to re-serialize the `@signature-params`
//! line byte for byte; it needs only dictionaries, and it refuses decimals, which signatures
//! never use. `sfv` would bring a general model (lists, items, decimals, dates, display strings
//! in its RFC 9651 versions) and its own types throughout the signature code for no gain in
//! what is checked. This parser is small, allocation-bounded by its input, covered by the
//! `signature_fields` fuzz target (fuzz/) and measured by `benches/sfv.rs`.
//!
//! Two properties matter on input of up to 32 KiB from an attacker: duplicate keys are found
//! through a hash index of keys borrowed from the input, never a linear search per key (which
//! made a header of thousands of distinct keys quadratic), and byte sequences decode with or
//! without `=` padding and with non-zero pad bits, as RFC 8941 §4.2.7 asks of parsers.

use std::collections::HashMap;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine;

/// Decodes byte sequences: standard alphabet, padding optional, pad bits ignored (§4.2.7).
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BareItem {
    Integer(i64),
    String(String),
    Token(String),
    ByteSequence(Vec<u8>),
    Boolean(bool),
}

pub type Parameters = Vec<(String, BareItem)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub bare: BareItem,
    pub params: Parameters,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    Item(Item),
    InnerList(Vec<Item>, Parameters),
}

/// A syntax error; deliberately without detail (the input is attacker-controlled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxError;

struct Parser<'a> {
    text: &'a str,
    input: &'a [u8],
    position: usize,
}

/// An ordered list of keyed entries where a repeated key replaces the earlier value in place,
/// found through a hash index of keys borrowed from the input.
struct Keyed<'a, V> {
    entries: Vec<(String, V)>,
    index: HashMap<&'a str, usize>,
}

impl<'a, V> Keyed<'a, V> {
    fn new() -> Self {
        Keyed {
            entries: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn insert(&mut self, key: &'a str, value: V) {
        match self.index.get(key) {
            Some(&slot) => self.entries[slot].1 = value,
            None => {
                self.index.insert(key, self.entries.len());
                self.entries.push((key.to_string(), value));
            }
        }
    }
}

/// Parses a dictionary field value. Later duplicates replace earlier ones (RFC 8941 §4.2.2).
pub fn parse_dictionary(input: &str) -> Result<Vec<(String, Member)>, SyntaxError> {
    let mut parser = Parser {
        text: input,
        input: input.as_bytes(),
        position: 0,
    };
    parser.skip_spaces();
    let mut members: Keyed<'_, Member> = Keyed::new();
    while !parser.at_end() {
        let key = parser.key()?;
        let member = if parser.eat(b'=') {
            parser.member()?
        } else {
            Member::Item(Item {
                bare: BareItem::Boolean(true),
                params: parser.parameters()?,
            })
        };
        members.insert(key, member);
        parser.skip_whitespace();
        if parser.at_end() {
            break;
        }
        if !parser.eat(b',') {
            return Err(SyntaxError);
        }
        parser.skip_whitespace();
        if parser.at_end() {
            return Err(SyntaxError);
        }
    }
    Ok(members.entries)
}

impl<'a> Parser<'a> {
    fn at_end(&self) -> bool {
        self.position >= self.input.len()
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.position).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn skip_spaces(&mut self) {
        while self.eat(b' ') {}
    }

    fn skip_whitespace(&mut self) {
        while self.eat(b' ') || self.eat(b'\t') {}
    }

    fn member(&mut self) -> Result<Member, SyntaxError> {
        if !self.eat(b'(') {
            return Ok(Member::Item(self.item()?));
        }
        let mut items = Vec::new();
        loop {
            self.skip_spaces();
            if self.eat(b')') {
                return Ok(Member::InnerList(items, self.parameters()?));
            }
            items.push(self.item()?);
            if !matches!(self.peek(), Some(b' ') | Some(b')')) {
                return Err(SyntaxError);
            }
        }
    }

    fn item(&mut self) -> Result<Item, SyntaxError> {
        let bare = self.bare_item()?;
        Ok(Item {
            bare,
            params: self.parameters()?,
        })
    }

    fn parameters(&mut self) -> Result<Parameters, SyntaxError> {
        let mut params: Keyed<'a, BareItem> = Keyed::new();
        while self.eat(b';') {
            self.skip_spaces();
            let key = self.key()?;
            let value = if self.eat(b'=') {
                self.bare_item()?
            } else {
                BareItem::Boolean(true)
            };
            params.insert(key, value);
        }
        Ok(params.entries)
    }

    /// A key, borrowed from the input (keys are ASCII, so the slice is on char boundaries).
    fn key(&mut self) -> Result<&'a str, SyntaxError> {
        let start = self.position;
        match self.peek() {
            Some(b'a'..=b'z' | b'*') => self.position += 1,
            _ => return Err(SyntaxError),
        }
        while let Some(b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*') = self.peek() {
            self.position += 1;
        }
        self.text.get(start..self.position).ok_or(SyntaxError)
    }

    fn bare_item(&mut self) -> Result<BareItem, SyntaxError> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.integer(),
            Some(b'"') => self.string(),
            Some(b':') => self.byte_sequence(),
            Some(b'?') => self.boolean(),
            Some(b'*' | b'a'..=b'z' | b'A'..=b'Z') => self.token(),
            _ => Err(SyntaxError),
        }
    }

    fn integer(&mut self) -> Result<BareItem, SyntaxError> {
        let negative = self.eat(b'-');
        let start = self.position;
        while let Some(b'0'..=b'9') = self.peek() {
            self.position += 1;
        }
        let digits = &self.input[start..self.position];
        // 15 digits at most; a `.` would make it a decimal, which signatures never use.
        if digits.is_empty() || digits.len() > 15 || self.peek() == Some(b'.') {
            return Err(SyntaxError);
        }
        let text = std::str::from_utf8(digits).map_err(|_| SyntaxError)?;
        let value: i64 = text.parse().map_err(|_| SyntaxError)?;
        Ok(BareItem::Integer(if negative { -value } else { value }))
    }

    fn string(&mut self) -> Result<BareItem, SyntaxError> {
        self.position += 1;
        let mut value = String::new();
        loop {
            match self.peek() {
                None => return Err(SyntaxError),
                Some(b'"') => {
                    self.position += 1;
                    return Ok(BareItem::String(value));
                }
                Some(b'\\') => {
                    self.position += 1;
                    match self.peek() {
                        Some(escaped @ (b'"' | b'\\')) => {
                            value.push(char::from(escaped));
                            self.position += 1;
                        }
                        _ => return Err(SyntaxError),
                    }
                }
                Some(byte @ 0x20..=0x7e) => {
                    value.push(char::from(byte));
                    self.position += 1;
                }
                Some(_) => return Err(SyntaxError),
            }
        }
    }

    fn token(&mut self) -> Result<BareItem, SyntaxError> {
        let start = self.position;
        self.position += 1;
        while let Some(byte) = self.peek() {
            let tchar = byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&byte);
            if !tchar {
                break;
            }
            self.position += 1;
        }
        Ok(BareItem::Token(
            String::from_utf8_lossy(&self.input[start..self.position]).into_owned(),
        ))
    }

    fn byte_sequence(&mut self) -> Result<BareItem, SyntaxError> {
        self.position += 1;
        let start = self.position;
        while let Some(byte) = self.peek() {
            if byte == b':' {
                let encoded = &self.input[start..self.position];
                self.position += 1;
                let bytes = LENIENT_BASE64.decode(encoded).map_err(|_| SyntaxError)?;
                return Ok(BareItem::ByteSequence(bytes));
            }
            if !(byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/' | b'=')) {
                return Err(SyntaxError);
            }
            self.position += 1;
        }
        Err(SyntaxError)
    }

    fn boolean(&mut self) -> Result<BareItem, SyntaxError> {
        self.position += 1;
        let value = match self.peek() {
            Some(b'0') => false,
            Some(b'1') => true,
            _ => return Err(SyntaxError),
        };
        self.position += 1;
        Ok(BareItem::Boolean(value))
    }
}

fn serialize_bare_item(item: &BareItem, out: &mut String) {
    match item {
        BareItem::Integer(value) => out.push_str(&value.to_string()),
        BareItem::String(value) => {
            out.push('"');
            for character in value.chars() {
                if matches!(character, '"' | '\\') {
                    out.push('\\');
                }
                out.push(character);
            }
            out.push('"');
        }
        BareItem::Token(value) => out.push_str(value),
        BareItem::ByteSequence(bytes) => {
            out.push(':');
            out.push_str(&STANDARD.encode(bytes));
            out.push(':');
        }
        BareItem::Boolean(value) => out.push_str(if *value { "?1" } else { "?0" }),
    }
}

fn serialize_parameters(params: &Parameters, out: &mut String) {
    for (key, value) in params {
        out.push(';');
        out.push_str(key);
        if *value != BareItem::Boolean(true) {
            out.push('=');
            serialize_bare_item(value, out);
        }
    }
}

/// Serializes an inner list with its parameters (RFC 8941 §4.1.1.1).
pub fn serialize_inner_list(items: &[Item], params: &Parameters) -> String {
    let mut out = String::from("(");
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push(' ');
        }
        serialize_bare_item(&item.bare, &mut out);
        serialize_parameters(&item.params, &mut out);
    }
    out.push(')');
    serialize_parameters(params, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_signature_input_dictionary_and_serializes_it_back() {
        let input = r#"sig1=("@method" "@authority" "content-digest");created=1618884473;keyid="k\"1";nonce="n", sig2=:AAEC:"#;
        let members = parse_dictionary(input).expect("valid");
        assert_eq!(members.len(), 2);
        let Member::InnerList(items, params) = &members[0].1 else {
            panic!("sig1 is an inner list");
        };
        assert_eq!(items.len(), 3);
        assert_eq!(
            params[0],
            ("created".to_string(), BareItem::Integer(1_618_884_473))
        );
        assert_eq!(
            params[1],
            ("keyid".to_string(), BareItem::String("k\"1".into()))
        );
        assert_eq!(
            serialize_inner_list(items, params),
            r#"("@method" "@authority" "content-digest");created=1618884473;keyid="k\"1";nonce="n""#
        );
        assert_eq!(
            members[1].1,
            Member::Item(Item {
                bare: BareItem::ByteSequence(vec![0, 1, 2]),
                params: Vec::new()
            })
        );
    }

    #[test]
    fn bare_keys_are_true_and_duplicates_replace() {
        let members = parse_dictionary("a, b=?0, a=5;x").expect("valid");
        assert_eq!(members.len(), 2);
        assert_eq!(members[0].0, "a");
        assert_eq!(
            members[0].1,
            Member::Item(Item {
                bare: BareItem::Integer(5),
                params: vec![("x".to_string(), BareItem::Boolean(true))]
            })
        );
    }

    #[test]
    fn byte_sequences_decode_with_or_without_padding() {
        let cases: [(&str, &[u8]); 7] = [
            ("s=:AAEC:", &[0, 1, 2]),
            ("s=:AAE=:", &[0, 1]),
            ("s=:AAE:", &[0, 1]),
            ("s=:AA==:", &[0]),
            ("s=:AA:", &[0]),
            // Non-zero pad bits are ignored (RFC 8941 §4.2.7).
            ("s=:AB:", &[0]),
            ("s=::", &[]),
        ];
        for (input, expected) in cases {
            let members = parse_dictionary(input).unwrap_or_else(|_| panic!("{input}"));
            let Member::Item(item) = &members[0].1 else {
                panic!("{input}: an item");
            };
            assert_eq!(
                item.bare,
                BareItem::ByteSequence(expected.to_vec()),
                "{input}"
            );
        }
        // A digest without its padding reads as the padded one.
        let unpadded = parse_dictionary("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE:");
        let padded = parse_dictionary("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
        assert!(padded.is_ok());
        assert_eq!(unpadded, padded);
        for input in ["s=:A:", "s=:AAE=A:", "s=:=AAE:", "s=:AA=E:", "s=:AAE-:"] {
            assert_eq!(parse_dictionary(input), Err(SyntaxError), "{input}");
        }
    }

    #[test]
    fn many_distinct_or_repeated_keys_stay_linear() {
        // 32 KiB of distinct keys, then of one key repeated: each parses, keeping order and the
        // last value, in time linear in the input (checked for scale by the benchmark).
        let distinct: Vec<String> = (0..4000).map(|n| format!("k{n}=1")).collect();
        let members = parse_dictionary(&distinct.join(",")).expect("valid");
        assert_eq!(members.len(), 4000);
        assert_eq!(members[3999].0, "k3999");
        let repeated: Vec<String> = (0..4000).map(|n| format!("k={n}")).collect();
        let members = parse_dictionary(&repeated.join(",")).expect("valid");
        assert_eq!(members.len(), 1);
        assert_eq!(
            members[0].1,
            Member::Item(Item {
                bare: BareItem::Integer(3999),
                params: Vec::new()
            })
        );
        let params: String = (0..4000).map(|n| format!(";p{n}")).collect();
        let members = parse_dictionary(&format!("k=1{params};p0=?0")).expect("valid");
        let Member::Item(item) = &members[0].1 else {
            panic!("an item");
        };
        assert_eq!(item.params.len(), 4000);
        assert_eq!(item.params[0], ("p0".to_string(), BareItem::Boolean(false)));
    }

    #[test]
    fn malformed_values_are_refused() {
        for input in [
            "sig1=(\"@method\"",
            "sig1=:AA",
            "sig1=1.5",
            "Sig1=1",
            "sig1=1,",
            "sig1=\"a",
            "sig1=:!!:",
            "sig1=(\"a\"\"b\")",
            "sig1=1 x",
            "sig1=1234567890123456",
            "sig1=\"\u{e9}\"",
            "sig1=?2",
        ] {
            assert_eq!(parse_dictionary(input), Err(SyntaxError), "{input}");
        }
        assert_eq!(parse_dictionary("  ").map(|members| members.len()), Ok(0));
    }
}
