//! Text to [`Config`]: YAML or JSON to a `serde_json::Value` with positions, then the Value to
//! the model section by section (and route by route) so that every type error is reported.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use serde_path_to_error::Segment;

use crate::error::{ConfigError, ConfigErrors, Location};
use crate::model::{Config, Quota, RateLimit, Route, Service, Tenant};
use crate::position::{join_index, join_key, PositionMap};
use crate::serde_errors::describe_serde_error;
use crate::yaml::parse_yaml;

/// The syntax of a configuration document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Yaml,
    Json,
}

impl Format {
    /// `.json` files are JSON; everything else is YAML.
    pub fn from_path(path: &Path) -> Format {
        match path.extension().and_then(|extension| extension.to_str()) {
            Some(extension) if extension.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Yaml,
        }
    }
}

/// Parses a document into the model, without validation. Every type error, unknown field and
/// missing field is reported, each with its path and position.
pub fn parse_str(text: &str, format: Format) -> Result<(Config, PositionMap), ConfigErrors> {
    let (value, positions) = match format {
        Format::Yaml => parse_yaml(text),
        Format::Json => parse_json(text),
    }
    .map_err(ConfigErrors::single)?;
    let config = deserialize_config(&value, &positions)?;
    Ok((config, positions))
}

fn parse_json(text: &str) -> Result<(Value, PositionMap), ConfigError> {
    let value: Value = serde_json::from_str(text).map_err(|error| {
        let location = Location {
            line: u32::try_from(error.line()).unwrap_or(u32::MAX),
            column: u32::try_from(error.column()).unwrap_or(u32::MAX),
        };
        let full = error.to_string();
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        let message = full.strip_suffix(&suffix).unwrap_or(&full);
        ConfigError::new("", format!("invalid JSON: {message}")).at(Some(location))
    })?;
    // JSON is YAML flow syntax, so the YAML reader gives the positions, and it also catches
    // duplicate keys, which serde_json would silently merge. The value itself comes from
    // serde_json, which has JSON's exact semantics.
    let positions = match parse_yaml(text) {
        Ok((_, positions)) => positions,
        Err(error) if error.message.starts_with("duplicate key") => return Err(error),
        Err(_) => PositionMap::new(),
    };
    Ok((value, positions))
}

/// The model from a document that is already a JSON value (no text, so no positions): what
/// [`crate::load_value`] parses.
pub(crate) fn parse_value(value: &Value) -> Result<Config, ConfigErrors> {
    deserialize_config(value, &PositionMap::new())
}

fn deserialize_config(value: &Value, positions: &PositionMap) -> Result<Config, ConfigErrors> {
    let Value::Object(sections) = value else {
        return Err(ConfigErrors::single(
            ConfigError::new(
                "",
                format!(
                    "the configuration must be a mapping at the top level (routes:, services:, …), found {}",
                    kind_of(value)
                ),
            )
            .at(positions.get("")),
        ));
    };
    // The whole document first: a valid one (the common case) is deserialized once. Only when
    // that fails is each section and route checked alone, so that every error is reported.
    let whole = match serde_path_to_error::deserialize::<_, Config>(value) {
        Ok(config) => return Ok(config),
        Err(error) => error,
    };
    let mut errors = Vec::new();
    for (key, section) in sections {
        match (key.as_str(), section) {
            ("routes", Value::Array(routes)) => {
                for (index, route) in routes.iter().enumerate() {
                    check::<Route>(route, &join_index("routes", index), positions, &mut errors);
                }
            }
            ("services", Value::Object(entries)) => {
                check_entries::<Service>(key, entries, positions, &mut errors)
            }
            ("rateLimits", Value::Object(entries)) => {
                check_entries::<RateLimit>(key, entries, positions, &mut errors)
            }
            ("quotas", Value::Object(entries)) => {
                check_entries::<Quota>(key, entries, positions, &mut errors)
            }
            ("tenants", Value::Object(entries)) => {
                check_entries::<Tenant>(key, entries, positions, &mut errors)
            }
            _ => {
                // Deserializing `{key: section}` as a whole Config keeps the model's defaults
                // and reports an unknown top-level key like any other unknown field.
                let mut alone = Map::new();
                alone.insert(key.clone(), section.clone());
                check::<Config>(&Value::Object(alone), "", positions, &mut errors);
            }
        }
    }
    if !errors.is_empty() {
        sort_by_location(&mut errors);
        return Err(ConfigErrors::new(errors));
    }
    Err(ConfigErrors::single(describe_serde_error(
        whole, "", positions,
    )))
}

fn check_entries<T: DeserializeOwned>(
    section: &str,
    entries: &Map<String, Value>,
    positions: &PositionMap,
    errors: &mut Vec<ConfigError>,
) {
    for (name, entry) in entries {
        check::<T>(entry, &join_key(section, name), positions, errors);
    }
}

/// At most this many errors are reported per route or section entry.
const MAX_ERRORS_PER_ITEM: usize = 32;

/// Deserializes `value` as `T`, reporting every error: after each one the offending field is
/// removed from a working copy and deserialization is retried, so a typo in one field does not
/// hide a wrong type in the next. A "missing field" that only arises from such a removal is
/// not reported.
fn check<T: DeserializeOwned>(
    value: &Value,
    prefix: &str,
    positions: &PositionMap,
    errors: &mut Vec<ConfigError>,
) {
    let mut working: Option<Value> = None;
    let mut removed: Vec<Vec<String>> = Vec::new();
    for _ in 0..MAX_ERRORS_PER_ITEM {
        let current = working.as_ref().unwrap_or(value);
        let Err(error) = serde_path_to_error::deserialize::<_, T>(current) else {
            return;
        };
        let mut keys: Vec<String> = Vec::new();
        let mut stops_at_sequence = false;
        for segment in error.path().iter() {
            match segment {
                Segment::Map { key } if !stops_at_sequence => keys.push(key.clone()),
                _ => stops_at_sequence = true,
            }
        }
        let inner = error.inner().to_string();
        let quoted = |prefix: &str| {
            inner
                .strip_prefix(prefix)
                .and_then(|rest| rest.split('`').next())
                .map(str::to_string)
        };
        let missing_after_removal = quoted("missing field `").is_some_and(|field| {
            let mut target = keys.clone();
            target.push(field);
            removed.contains(&target)
        });
        if let Some(field) = quoted("unknown field `") {
            if !stops_at_sequence && keys.last() != Some(&field) {
                keys.push(field);
            }
        }
        if !missing_after_removal {
            errors.push(describe_serde_error(error, prefix, positions));
        }
        if keys.is_empty() {
            return;
        }
        let copy = working.get_or_insert_with(|| value.clone());
        if !remove_member(copy, &keys) {
            return;
        }
        removed.push(keys);
    }
}

/// Removes the member at `keys` (a path of mapping keys); false when it is not there.
fn remove_member(value: &mut Value, keys: &[String]) -> bool {
    let Some((last, parents)) = keys.split_last() else {
        return false;
    };
    let mut current = value;
    for key in parents {
        match current.get_mut(key) {
            Some(next) => current = next,
            None => return false,
        }
    }
    current
        .as_object_mut()
        .is_some_and(|members| members.remove(last).is_some())
}

/// Source order; errors without a position keep their relative order at the end.
pub(crate) fn sort_by_location(errors: &mut [ConfigError]) {
    errors.sort_by_key(|error| (error.location.is_none(), error.location));
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
