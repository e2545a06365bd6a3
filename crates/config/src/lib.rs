//! Portcullis configuration: the external model, parsing (YAML and JSON) with line:column
//! errors, validation with field paths, and the canonical checksum.
//!
//! `load_file`/`load_str` are what the gateway and the control plane call: parse, validate,
//! attach source positions to every error, and compute the checksum. What they return, a
//! [`ValidatedConfig`], is the only input the router's compile and the builders after it
//! accept; [`validate_config`] makes one from a configuration built in code.

mod checksum;
pub mod cidr;
mod error;
pub mod model;
mod parse;
mod position;
mod serde_errors;
mod validate;
mod validated;
mod yaml;

use std::path::Path;

pub use checksum::{canonical_json, checksum};
pub use error::{ConfigError, ConfigErrors, Location};
pub use model::*;
pub use parse::{parse_str, Format};
pub use position::PositionMap;
pub use validate::validate;
pub use validated::{validate_config, ValidatedConfig};

/// Reads, parses and validates a file; `.json` is JSON, anything else YAML.
pub fn load_file(path: &Path) -> Result<ValidatedConfig, ConfigErrors> {
    let text = read_file(path)?;
    load_file_text(path, &text)
}

/// Reads a configuration file as UTF-8 text; the error names the file and the cause.
pub fn read_file(path: &Path) -> Result<String, ConfigErrors> {
    std::fs::read_to_string(path).map_err(|error| {
        let source_name = path.display().to_string();
        ConfigErrors::single(ConfigError::new(
            "",
            format!("cannot read configuration file {source_name}: {error}"),
        ))
        .with_source(source_name)
    })
}

/// Parses and validates `text`, already read from `path` (which picks the format and names
/// the source in errors). Callers that must know exactly which bytes they loaded read the
/// file once with [`read_file`] and pass the text here.
pub fn load_file_text(path: &Path, text: &str) -> Result<ValidatedConfig, ConfigErrors> {
    load_str(text, Format::from_path(path))
        .map_err(|errors| errors.with_source(path.display().to_string()))
}

/// Parses and validates a document; validation errors carry the position of their field.
pub fn load_str(text: &str, format: Format) -> Result<ValidatedConfig, ConfigErrors> {
    let (config, positions) = parse_str(text, format)?;
    let warnings = match validate(&config) {
        Ok(warnings) => warnings,
        Err(mut errors) => {
            attach_positions(&mut errors.errors, &positions);
            parse::sort_by_location(&mut errors.errors);
            return Err(errors);
        }
    };
    let mut warnings = warnings;
    attach_positions(&mut warnings, &positions);
    Ok(ValidatedConfig::new(config, warnings, Some(positions)))
}

/// Validates a document that is already a JSON value (the control plane's request bodies and
/// stored versions): the same model, rules, checksum and errors as [`load_str`] of its text,
/// errors in document order, but without source positions. There is no text to point into,
/// and finding positions (a second, YAML, parse of the text) is most of what [`load_str`]
/// costs for a large document.
pub fn load_value(document: &serde_json::Value) -> Result<ValidatedConfig, ConfigErrors> {
    let config = parse::parse_value(document)?;
    match validate(&config) {
        Ok(warnings) => Ok(ValidatedConfig::new(config, warnings, None)),
        Err(mut errors) => {
            let order = PositionMap::document_order(document);
            errors.errors.sort_by_key(|error| {
                let at = order.locate(&error.path);
                (at.is_none(), at)
            });
            Err(errors)
        }
    }
}

pub(crate) fn attach_positions(errors: &mut [ConfigError], positions: &PositionMap) {
    for error in errors {
        if error.location.is_none() {
            error.location = positions.locate(&error.path);
        }
    }
}
