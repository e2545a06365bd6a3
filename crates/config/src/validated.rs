//! The boundary between the file model and everything built from it: a [`ValidatedConfig`] is
//! a [`Config`] that passed validation, with its checksum and warnings, and it cannot be
//! changed afterwards. Only validation makes one ([`crate::load_str`], [`crate::load_file`],
//! [`crate::load_file_text`], and [`validate_config`] for configurations built in code), so
//! whatever takes a `&ValidatedConfig` (the router's compile, the policy material builder,
//! the data plane's prepare step) knows every validation rule held.

use std::sync::Arc;

use crate::checksum::checksum;
use crate::error::{ConfigError, ConfigErrors};
use crate::model::Config;
use crate::position::PositionMap;

/// A configuration that passed validation. Its fields are private and the configuration is
/// shared immutably, so what was validated is exactly what gets built and installed.
#[derive(Debug, Clone)]
pub struct ValidatedConfig {
    config: Arc<Config>,
    /// `sha256:<64 hex>` over the canonical JSON of `config`.
    checksum: String,
    /// Problems that do not stop the config from loading, with positions when known.
    warnings: Vec<ConfigError>,
    /// Where each field is in the source text, when the config came from text: the builders'
    /// errors get the same `line, column` as validation's.
    positions: Option<Arc<PositionMap>>,
}

/// Two validated configurations are equal when their configurations are (however the
/// source text was laid out).
impl PartialEq for ValidatedConfig {
    fn eq(&self, other: &Self) -> bool {
        self.config == other.config
            && self.checksum == other.checksum
            && self.warnings == other.warnings
    }
}

impl ValidatedConfig {
    /// Only validation calls this, after every rule held.
    pub(crate) fn new(
        config: Config,
        warnings: Vec<ConfigError>,
        positions: Option<PositionMap>,
    ) -> ValidatedConfig {
        let checksum = checksum(&config);
        ValidatedConfig {
            config: Arc::new(config),
            checksum,
            warnings,
            positions: positions.map(Arc::new),
        }
    }

    /// `errors` found while building this configuration, with the source position of each
    /// field when the configuration came from text, in source order (as validation reports).
    pub fn locate(&self, mut errors: ConfigErrors) -> ConfigErrors {
        if let Some(positions) = &self.positions {
            crate::attach_positions(&mut errors.errors, positions);
            crate::parse::sort_by_location(&mut errors.errors);
        }
        errors
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The same configuration as a shared handle, for state that keeps it (a snapshot).
    pub fn shared_config(&self) -> Arc<Config> {
        Arc::clone(&self.config)
    }

    /// `sha256:<64 hex>` over the canonical JSON of the configuration.
    pub fn checksum(&self) -> &str {
        &self.checksum
    }

    /// Problems that do not stop the configuration from loading.
    pub fn warnings(&self) -> &[ConfigError] {
        &self.warnings
    }
}

/// Validates a configuration built in code (the quickstart, tests). Errors carry field paths
/// but no positions, since there is no source text.
pub fn validate_config(config: Config) -> Result<ValidatedConfig, ConfigErrors> {
    let warnings = crate::validate::validate(&config)?;
    Ok(ValidatedConfig::new(config, warnings, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_built_configs_are_validated_and_checksummed_like_parsed_ones() {
        let validated = validate_config(Config::default()).expect("the default config is valid");
        let parsed = crate::load_str("{}", crate::Format::Json).expect("empty document");
        assert_eq!(validated.checksum(), parsed.checksum());
        assert_eq!(validated.config(), parsed.config());
        assert!(Arc::ptr_eq(
            &validated.shared_config(),
            &validated.shared_config()
        ));

        let mut invalid = Config::default();
        invalid.defaults.timeout_ms = 0;
        let errors = validate_config(invalid).expect_err("timeout 0 is refused");
        assert!(
            errors
                .iter()
                .any(|error| error.path == "defaults.timeoutMs"),
            "{errors}"
        );
    }

    #[test]
    fn build_errors_get_the_source_positions_of_their_fields_in_source_order() {
        let text = "defaults:\n  timeoutMs: 100\nadmin:\n  address: 127.0.0.1:9901\n";
        let parsed = crate::load_str(text, crate::Format::Yaml).expect("valid");
        let located = parsed.locate(ConfigErrors::new(vec![
            ConfigError::new("admin.address", "second"),
            ConfigError::new("defaults.timeoutMs", "first"),
        ]));
        let lines: Vec<_> = located
            .iter()
            .map(|error| (error.message.as_str(), error.location.map(|at| at.line)))
            .collect();
        assert_eq!(lines, [("first", Some(2)), ("second", Some(4))]);
        let built = validate_config(parsed.config().clone()).expect("valid");
        assert_eq!(built, parsed, "equal whatever the layout");
        let unlocated = built.locate(ConfigErrors::single(ConfigError::new("admin.address", "x")));
        assert_eq!(unlocated.errors[0].location, None);
    }
}
