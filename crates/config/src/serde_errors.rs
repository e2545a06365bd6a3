//! serde's messages rewritten for people: the field path, its position, and what to write.

use serde_path_to_error::Segment;

use crate::error::ConfigError;
use crate::position::{join_index, join_key, parent_path, PositionMap};

pub(crate) fn describe_serde_error(
    error: serde_path_to_error::Error<serde_json::Error>,
    prefix: &str,
    positions: &PositionMap,
) -> ConfigError {
    let mut path = prefix.to_string();
    for segment in error.path().iter() {
        path = match segment {
            Segment::Seq { index } => join_index(&path, *index),
            Segment::Map { key } => join_key(&path, key),
            Segment::Enum { variant } => join_key(&path, variant),
            Segment::Unknown => path,
        };
    }
    let message = error.into_inner().to_string();

    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = split_quoted(rest);
        // The path may or may not already end with the unknown key; report at its mapping.
        let (field_path, mapping_path) = if path == field || path.ends_with(&format!(".{field}")) {
            (path.clone(), parent_path(&path).to_string())
        } else {
            (join_key(&path, field), path.clone())
        };
        let location = positions
            .key(&field_path)
            .or_else(|| positions.locate(&mapping_path));
        let suggestion = suggest(field, expected)
            .map(|name| format!(" (did you mean `{name}`?)"))
            .unwrap_or_default();
        let known = expected.trim_start_matches(", ");
        let message = if known.is_empty() || known == "there are no fields" {
            format!("unknown field `{field}`{suggestion}: this mapping takes no fields; remove it")
        } else {
            format!(
                "unknown field `{field}` at {}{suggestion}; {known}",
                display_path(&mapping_path)
            )
        };
        return ConfigError::new(mapping_path, message).at(location);
    }

    let location = positions.locate(&path);
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (variant, expected) = split_quoted(rest);
        let suggestion = suggest(variant, expected)
            .map(|name| format!(" (did you mean `{name}`?)"))
            .unwrap_or_default();
        let known = expected.trim_start_matches(", ");
        return ConfigError::new(
            path,
            format!("unknown value `{variant}`{suggestion}; {known}"),
        )
        .at(location);
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let (field, _) = split_quoted(rest);
        return ConfigError::new(
            path,
            format!("missing field `{field}`: add `{field}:` here"),
        )
        .at(location);
    }
    if message.starts_with("invalid type")
        || message.starts_with("invalid value")
        || message.starts_with("invalid length")
    {
        let hint = type_hint(&message);
        return ConfigError::new(path, format!("{message}{hint}")).at(location);
    }
    ConfigError::new(path, message).at(location)
}

fn display_path(path: &str) -> &str {
    if path.is_empty() {
        "the top level"
    } else {
        path
    }
}

/// `name`, rest` → (`name`, `, rest`).
fn split_quoted(text: &str) -> (&str, &str) {
    match text.find('`') {
        Some(end) => (&text[..end], &text[end + 1..]),
        None => (text, ""),
    }
}

fn type_hint(message: &str) -> &'static str {
    let expected = message.rsplit("expected ").next().unwrap_or("");
    if ["u64", "u32", "u16", "u8", "i64", "i32"]
        .iter()
        .any(|kind| expected.starts_with(kind))
    {
        if expected.starts_with("u16") {
            "; write a whole number from 0 to 65535"
        } else if expected.starts_with('u') {
            "; write a whole number of at least 0, without quotes"
        } else {
            "; write a whole number, without quotes"
        }
    } else if expected.starts_with("f64") {
        "; write a finite number, without quotes"
    } else if expected.starts_with("a string") {
        "; write a string (put values such as 1.0, 42 or true in quotes to keep them strings)"
    } else if expected.starts_with("a boolean") {
        "; write true or false"
    } else if expected.starts_with("a sequence") {
        "; write a list, such as [a, b] or one `- item` per line"
    } else if expected.starts_with("struct") || expected.starts_with("a map") {
        "; write a mapping of `key: value` entries"
    } else {
        ""
    }
}

/// The expected name a typo most likely meant: same letters in another case, or at most two
/// edits away.
fn suggest<'a>(typed: &str, expected: &'a str) -> Option<&'a str> {
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    if let Some(same) = candidates
        .iter()
        .find(|candidate| candidate.eq_ignore_ascii_case(typed))
    {
        return Some(same);
    }
    candidates
        .iter()
        .map(|candidate| (edit_distance(typed, candidate), *candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (i, left_char) in left.chars().enumerate() {
        let mut current = vec![i + 1; right.len() + 1];
        for (j, right_char) in right.iter().enumerate() {
            let substitution = previous[j] + usize::from(left_char != *right_char);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[right.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_prefer_case_insensitive_matches() {
        assert_eq!(
            suggest(
                "timeoutMS",
                ", expected one of `auth`, `timeoutMs`, `retries`"
            ),
            Some("timeoutMs")
        );
        assert_eq!(
            suggest(
                "retires",
                ", expected one of `auth`, `timeoutMs`, `retries`"
            ),
            Some("retries")
        );
        assert_eq!(
            suggest("zzzzzzzz", ", expected one of `auth`, `timeoutMs`"),
            None
        );
    }

    #[test]
    fn edit_distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "ab"), 2);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
