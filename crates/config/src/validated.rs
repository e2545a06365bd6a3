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

/// A configuration that passed validation. Its fields are private and the configuration is
/// shared immutably, so what was validated is exactly what gets built and installed.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedConfig {
    config: Arc<Config>,
    /// `sha256:<64 hex>` over the canonical JSON of `config`.
    checksum: String,
    /// Problems that do not stop the config from loading, with positions when known.
    warnings: Vec<ConfigError>,
}

impl ValidatedConfig {
    /// Only validation calls this, after every rule held.
    pub(crate) fn new(config: Config, warnings: Vec<ConfigError>) -> ValidatedConfig {
        let checksum = checksum(&config);
        ValidatedConfig {
            config: Arc::new(config),
            checksum,
            warnings,
        }
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
    Ok(ValidatedConfig::new(config, warnings))
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
}
