//! JSON for JOSE headers and JWT claims, parsed once and refusing any object that repeats a
//! member name.
//!
//! RFC 7515 §4 and RFC 7519 §4 let a parser either refuse duplicate names or keep the last one.
//! Keeping one is dangerous in a gateway: `serde_json` keeps the last `"sub"`, an upstream that
//! re-reads the forwarded token may keep the first, and the two then disagree about who the
//! caller is. So duplicates are refused at every depth (a nested `cnf` or `realm_access` object
//! read differently upstream is the same problem), in the same single pass that builds the
//! `Value`: the visitor below records keys as it inserts them instead of parsing twice.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a segment's JSON was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonRefusal {
    /// Not JSON, or not an object at the top level.
    Malformed,
    /// Some object repeats a member name.
    DuplicateMember,
}

/// The message the visitor raises for a repeated name; matched to tell it from syntax errors.
const DUPLICATE_MEMBER: &str = "duplicate_member";

/// Parses `bytes` as a JSON object, refusing repeated member names at any depth.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, JsonRefusal> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = UniqueValue
        .deserialize(&mut deserializer)
        .map_err(|error| {
            if error.is_data() && error.to_string().starts_with(DUPLICATE_MEMBER) {
                JsonRefusal::DuplicateMember
            } else {
                JsonRefusal::Malformed
            }
        })?;
    deserializer.end().map_err(|_| JsonRefusal::Malformed)?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(JsonRefusal::Malformed),
    }
}

/// Builds a `serde_json::Value` like its own `Deserialize`, except that maps refuse a key they
/// already hold.
#[derive(Clone, Copy)]
struct UniqueValue;

impl<'de> DeserializeSeed<'de> for UniqueValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueValue {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        // JSON has no NaN or infinity, so this is always a number; Null mirrors serde_json.
        Ok(Number::from_f64(value).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element_seed(UniqueValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.contains_key(&key) {
                return Err(de::Error::custom(DUPLICATE_MEMBER));
            }
            let value = map.next_value_seed(UniqueValue)?;
            members.insert(key, value);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_parse_like_serde_json() {
        let text = br#"{"a":1,"b":[true,null,-2,1.5,"s",{"c":{}}],"d":"\u00e9"}"#;
        let expected: Value = serde_json::from_slice(text).expect("valid JSON");
        assert_eq!(parse_object(text).map(Value::Object), Ok(expected));
    }

    #[test]
    fn repeated_names_are_refused_at_every_depth() {
        for text in [
            r#"{"sub":"a","sub":"b"}"#,
            r#"{"scope":"x","iss":"i","scope":"admin"}"#,
            r#"{"alg":"RS256","alg":"none"}"#,
            r#"{"cnf":{"jkt":"a","jkt":"b"}}"#,
            r#"{"list":[{"k":1,"k":2}]}"#,
            // Escapes decode before the comparison: `\u0073ub` is `sub`.
            r#"{"sub":"a","\u0073ub":"b"}"#,
        ] {
            assert_eq!(
                parse_object(text.as_bytes()),
                Err(JsonRefusal::DuplicateMember),
                "{text}"
            );
        }
    }

    #[test]
    fn non_objects_and_bad_syntax_are_malformed() {
        for text in [
            "",
            "[]",
            "null",
            "\"sub\"",
            "{",
            r#"{"a":1} x"#,
            r#"{"a":1,}"#,
            r#"{"duplicate_member":1"#,
        ] {
            assert_eq!(
                parse_object(text.as_bytes()),
                Err(JsonRefusal::Malformed),
                "{text}"
            );
        }
    }

    #[test]
    fn names_differing_in_case_are_distinct() {
        let map = parse_object(br#"{"sub":"a","Sub":"b"}"#).expect("distinct names");
        assert_eq!(map.len(), 2);
    }
}
