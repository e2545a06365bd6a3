//! Semantic validation of a parsed [`Config`]: every rule reports the field path, the value
//! and the fix, and all problems are collected before returning.

mod authentication;
mod overlap;
mod routes;
mod services;
mod settings;
pub(crate) mod syntax;

use crate::error::{ConfigError, ConfigErrors};
use crate::model::Config;

/// Errors and warnings collected during one validation run.
#[derive(Default)]
pub(crate) struct Issues {
    pub errors: Vec<ConfigError>,
    pub warnings: Vec<ConfigError>,
}

impl Issues {
    pub fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError::new(path, message));
    }

    pub fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(ConfigError::new(path, message));
    }

    /// Reports `name` at `path` unless it is kebab-case.
    pub fn require_kebab(&mut self, path: impl Into<String>, what: &str, name: &str) {
        if !syntax::is_kebab(name) {
            self.error(
                path,
                format!(
                    "{what} name `{name}` is not kebab-case: use lower-case letters, digits and single hyphens, such as `{}`",
                    syntax::kebab_suggestion(name)
                ),
            );
        }
    }
}

/// The name a value has in the configuration file (`tenantId`, `apiKey`).
pub(crate) fn serde_name<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(_) => String::from("?"),
    }
}

/// Checks every rule; on success returns the warnings (paths only, no positions).
pub fn validate(config: &Config) -> Result<Vec<ConfigError>, ConfigErrors> {
    let mut issues = Issues::default();
    services::validate_services(config, &mut issues);
    services::validate_limits(config, &mut issues);
    routes::validate_routes(config, &mut issues);
    overlap::validate_overlaps(config, &mut issues);
    settings::validate_settings(config, &mut issues);
    authentication::validate_authentication_extras(config, &mut issues);
    if issues.errors.is_empty() {
        Ok(issues.warnings)
    } else {
        Err(ConfigErrors::new(issues.errors))
    }
}
