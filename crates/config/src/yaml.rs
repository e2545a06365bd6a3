//! YAML text to a `serde_json::Value` plus a [`PositionMap`], from yaml-rust2's event stream.
//!
//! The events are consumed in a loop with an explicit stack (yaml-rust2's own loader recurses,
//! which deep nesting in hostile input would turn into a stack overflow), nesting is bounded,
//! and alias expansion is budgeted so that a "billion laughs" document is refused.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::error::{ConfigError, Location};
use crate::position::{join_index, join_key, PositionMap};

/// Deeper nesting than any real configuration needs.
const MAX_DEPTH: usize = 64;
/// Nodes that aliases may copy in, in total.
const MAX_ALIAS_NODES: usize = 100_000;

pub(crate) fn location_of(marker: &Marker) -> Location {
    Location {
        line: u32::try_from(marker.line()).unwrap_or(u32::MAX),
        column: u32::try_from(marker.col().saturating_add(1)).unwrap_or(u32::MAX),
    }
}

enum Frame {
    Sequence {
        path: String,
        items: Vec<Value>,
        anchor: usize,
    },
    Mapping {
        path: String,
        members: Map<String, Value>,
        pending_key: Option<String>,
        anchor: usize,
    },
}

struct Builder {
    stack: Vec<Frame>,
    positions: PositionMap,
    anchors: HashMap<usize, (Value, usize)>,
    alias_nodes: usize,
    root: Option<Value>,
}

/// Parses one YAML document. An empty document is an empty mapping.
pub(crate) fn parse_yaml(text: &str) -> Result<(Value, PositionMap), ConfigError> {
    let mut parser = Parser::new_from_str(text);
    let mut builder = Builder {
        stack: Vec::new(),
        positions: PositionMap::new(),
        anchors: HashMap::new(),
        alias_nodes: 0,
        root: None,
    };
    let mut documents = 0usize;
    loop {
        let (event, marker) = parser.next_token().map_err(|error| {
            ConfigError::new("", format!("invalid YAML: {}", error.info()))
                .at(Some(location_of(error.marker())))
        })?;
        match event {
            Event::StreamEnd => break,
            Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(ConfigError::new(
                        "",
                        "the file holds more than one YAML document: keep one configuration per file and remove the extra `---`",
                    )
                    .at(Some(location_of(&marker))));
                }
            }
            other => builder.on_node_event(other, &marker)?,
        }
    }
    let root = builder
        .root
        .take()
        .unwrap_or_else(|| Value::Object(Map::new()));
    Ok((root, builder.positions))
}

impl Builder {
    fn current_path(&self) -> Result<String, ()> {
        Ok(match self.stack.last() {
            None => String::new(),
            Some(Frame::Sequence { path, items, .. }) => join_index(path, items.len()),
            Some(Frame::Mapping {
                path,
                pending_key: Some(key),
                ..
            }) => join_key(path, key),
            Some(Frame::Mapping {
                pending_key: None, ..
            }) => return Err(()),
        })
    }

    fn expecting_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Mapping {
                pending_key: None,
                ..
            })
        )
    }

    fn on_node_event(&mut self, event: Event, marker: &Marker) -> Result<(), ConfigError> {
        let location = location_of(marker);
        if self.expecting_key() {
            return self.on_key(event, location);
        }
        let path = self.current_path().unwrap_or_default();
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                self.positions.insert_value(&path, location);
                let value = resolve_scalar(text, style, tag.as_ref());
                self.remember_anchor(anchor, &value);
                self.attach(value)
            }
            Event::Alias(anchor) => {
                self.positions.insert_value(&path, location);
                let Some((value, size)) = self.anchors.get(&anchor) else {
                    return Err(ConfigError::new(path, "alias refers to an unknown anchor: define the anchor (`&name`) before using it").at(Some(location)));
                };
                self.alias_nodes = self.alias_nodes.saturating_add(*size);
                if self.alias_nodes > MAX_ALIAS_NODES {
                    return Err(ConfigError::new(
                        path,
                        format!("aliases expand to more than {MAX_ALIAS_NODES} values: write the repeated sections out or use fewer aliases"),
                    )
                    .at(Some(location)));
                }
                let value = value.clone();
                self.attach(value)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(ConfigError::new(
                        path,
                        format!("nesting is deeper than {MAX_DEPTH} levels: flatten the document"),
                    )
                    .at(Some(location)));
                }
                self.positions.insert_value(&path, location);
                let frame = if matches!(event, Event::SequenceStart(..)) {
                    Frame::Sequence {
                        path,
                        items: Vec::new(),
                        anchor,
                    }
                } else {
                    Frame::Mapping {
                        path,
                        members: Map::new(),
                        pending_key: None,
                        anchor,
                    }
                };
                self.stack.push(frame);
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, anchor) = match self.stack.pop() {
                    Some(Frame::Sequence { items, anchor, .. }) => (Value::Array(items), anchor),
                    Some(Frame::Mapping {
                        members, anchor, ..
                    }) => (Value::Object(members), anchor),
                    None => return Ok(()),
                };
                self.remember_anchor(anchor, &value);
                self.attach(value)
            }
            _ => Ok(()),
        }
    }

    fn on_key(&mut self, event: Event, location: Location) -> Result<(), ConfigError> {
        if event == Event::MappingEnd {
            return self.on_end_of_mapping();
        }
        let Some(Frame::Mapping {
            path,
            members,
            pending_key,
            ..
        }) = self.stack.last_mut()
        else {
            return Ok(());
        };
        let key = match event {
            // Keys are always strings in the model; the raw text is the key (`123:` is "123").
            Event::Scalar(text, ..) => text,
            _ => {
                return Err(ConfigError::new(
                    path.clone(),
                    "a mapping key must be a plain string, not a list, mapping or alias",
                )
                .at(Some(location)))
            }
        };
        let key_path = join_key(path, &key);
        if members.contains_key(&key) {
            return Err(ConfigError::new(
                key_path,
                format!("duplicate key `{key}`: each key may appear once in a mapping; remove or merge the repeated one"),
            )
            .at(Some(location)));
        }
        self.positions.insert_key(&key_path, location);
        *pending_key = Some(key);
        Ok(())
    }

    fn on_end_of_mapping(&mut self) -> Result<(), ConfigError> {
        let Some(Frame::Mapping {
            members, anchor, ..
        }) = self.stack.pop()
        else {
            return Ok(());
        };
        let value = Value::Object(members);
        self.remember_anchor(anchor, &value);
        self.attach(value)
    }

    fn remember_anchor(&mut self, anchor: usize, value: &Value) {
        if anchor > 0 {
            self.anchors
                .insert(anchor, (value.clone(), count_nodes(value)));
        }
    }

    fn attach(&mut self, value: Value) -> Result<(), ConfigError> {
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Sequence { items, .. }) => items.push(value),
            Some(Frame::Mapping {
                members,
                pending_key,
                ..
            }) => {
                if let Some(key) = pending_key.take() {
                    members.insert(key, value);
                }
            }
        }
        Ok(())
    }
}

fn count_nodes(value: &Value) -> usize {
    let mut count = 0usize;
    let mut pending = vec![value];
    while let Some(node) = pending.pop() {
        count += 1;
        match node {
            Value::Array(items) => pending.extend(items.iter()),
            Value::Object(members) => pending.extend(members.values()),
            _ => {}
        }
    }
    count
}

/// YAML 1.2 core schema for plain scalars; quoted scalars and `!!str` are always strings, so
/// `stable`, `ACTIVE` and `GET` stay strings and `"503"` is not a number.
fn resolve_scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    let forced_string = tag.is_some_and(|tag| tag.suffix == "str");
    if style != TScalarStyle::Plain || forced_string {
        return Value::String(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(number) = resolve_integer(&text) {
        return Value::Number(number);
    }
    if looks_like_float(&text) {
        if let Some(number) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(number);
        }
    }
    // `.inf`, `.nan` and everything else stay strings: the model has no use for non-finite
    // numbers, and a string in a number field is reported as a type error with its path.
    Value::String(text)
}

fn resolve_integer(text: &str) -> Option<Number> {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = if let Some(hex) = digits.strip_prefix("0x") {
        u64::from_str_radix(hex, 16).ok()?
    } else if let Some(octal) = digits.strip_prefix("0o") {
        u64::from_str_radix(octal, 8).ok()?
    } else if !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()) {
        digits.parse::<u64>().ok()?
    } else {
        return None;
    };
    if negative {
        let signed = i64::try_from(magnitude).ok()?;
        Some(Number::from(-signed))
    } else {
        Some(Number::from(magnitude))
    }
}

fn looks_like_float(text: &str) -> bool {
    text.bytes().any(|byte| byte.is_ascii_digit())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || matches!(byte, b'.' | b'e' | b'E' | b'+' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> (Value, PositionMap) {
        parse_yaml(text).expect("valid yaml")
    }

    #[test]
    fn scalars_keep_their_yaml_types() {
        let (value, _) = parse(
            "a: stable\nb: ACTIVE\nc: GET\nd: 503\ne: -7\nf: 1.5\ng: true\nh: ~\ni: \"503\"\nj: 18446744073709551615\nk: yes\nl: !!str 12\n",
        );
        assert_eq!(
            value,
            json!({"a": "stable", "b": "ACTIVE", "c": "GET", "d": 503, "e": -7, "f": 1.5, "g": true,
                   "h": null, "i": "503", "j": 18446744073709551615u64, "k": "yes", "l": "12"})
        );
        assert!(value["d"].is_u64());
    }

    #[test]
    fn non_finite_numbers_stay_strings() {
        let (value, _) = parse("a: .inf\nb: .nan\n");
        assert_eq!(value, json!({"a": ".inf", "b": ".nan"}));
    }

    #[test]
    fn positions_are_one_based_for_values_and_keys() {
        let (_, positions) = parse("routes:\n  - name: a\n    policies:\n      timeoutMs: 45000\n");
        assert_eq!(
            positions.get("routes[0].policies.timeoutMs"),
            Some(Location {
                line: 4,
                column: 18
            })
        );
        assert_eq!(
            positions.key("routes[0].policies.timeoutMs"),
            Some(Location { line: 4, column: 7 })
        );
        assert_eq!(
            positions.get("routes[0].name"),
            Some(Location {
                line: 2,
                column: 11
            })
        );
    }

    #[test]
    fn duplicate_keys_are_errors_with_position() {
        let error = parse_yaml("a: 1\nb: 2\na: 3\n").expect_err("duplicate");
        assert_eq!(error.path, "a");
        assert_eq!(error.location, Some(Location { line: 3, column: 1 }));
        assert!(error.message.contains("duplicate key `a`"), "{error}");
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let error = parse_yaml("a: [1, 2\nb: 3\n").expect_err("unclosed");
        assert!(error.location.is_some());
        assert!(error.message.starts_with("invalid YAML"), "{error}");
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowing() {
        let error = parse_yaml(&"[".repeat(100)).expect_err("too deep");
        assert!(
            error.message.contains("nesting is deeper than 64"),
            "{error}"
        );
        // Far deeper input stops in the scanner's own limit, still as an error.
        let error = parse_yaml(&"[".repeat(100_000)).expect_err("too deep");
        assert!(error.location.is_some(), "{error}");
    }

    #[test]
    fn aliases_copy_values_within_a_budget() {
        let (value, _) = parse("a: &x {k: 1}\nb: *x\n");
        assert_eq!(value, json!({"a": {"k": 1}, "b": {"k": 1}}));
        let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 1..10 {
            let previous = level - 1;
            laughs.push_str(&format!(
                "a{level}: &a{level} [*a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}, *a{previous}]\n"
            ));
        }
        let error = parse_yaml(&laughs).expect_err("billion laughs");
        assert!(error.message.contains("aliases expand"), "{error}");
    }

    #[test]
    fn multiple_documents_are_refused() {
        let error = parse_yaml("a: 1\n---\nb: 2\n").expect_err("two documents");
        assert!(
            error.message.contains("more than one YAML document"),
            "{error}"
        );
    }

    #[test]
    fn empty_text_is_an_empty_mapping() {
        assert_eq!(parse("").0, json!({}));
        assert_eq!(parse("# only a comment\n").0, json!({}));
    }
}
