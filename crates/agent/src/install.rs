//! The boundary between the agent and the data plane: the installer trait the binary
//! implements, and the one check every configuration passes before it reaches it (parse,
//! validate, recompute the checksum).

use portcullis_config::{load_value, ConfigError, ValidatedConfig};
use portcullis_protocol::dataplane::ConfigSource;

/// Which configuration an install is: shown by the data plane (`/admin/config-version`) and
/// reported in heartbeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotIdentity {
    pub config_version: i64,
    /// `sha256:<64 hex>`, equal to the validated configuration's checksum.
    pub checksum: String,
    pub source: ConfigSource,
}

/// Implemented by the binary: builds a configuration into the data plane and swaps it in.
pub trait SnapshotInstaller: Send + Sync + 'static {
    /// Validate, compile and build `config`, then swap it in. Ok: the time the data plane
    /// reports as the configuration's `loadedAt` (heartbeats report the same instant). Err:
    /// every reason, one line each with its field path; the running configuration must be
    /// untouched.
    ///
    /// Called on a blocking thread (`spawn_blocking`), one install at a time.
    fn install(
        &self,
        config: ValidatedConfig,
        identity: &SnapshotIdentity,
    ) -> Result<time::OffsetDateTime, Vec<String>>;
}

/// Why a configuration document did not pass [`check_config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConfigRefusal {
    /// It does not parse or validate: every error, `path: message`.
    Invalid(Vec<String>),
    /// It validates, but its checksum is not the one it came with.
    ChecksumMismatch { expected: String, computed: String },
}

impl ConfigRefusal {
    /// One line per reason, as the refusal in a heartbeat carries them.
    pub(crate) fn into_lines(self) -> Vec<String> {
        match self {
            ConfigRefusal::Invalid(lines) => lines,
            ConfigRefusal::ChecksumMismatch { expected, computed } => vec![format!(
                "checksum: the snapshot says {expected} but its configuration hashes to \
                 {computed}; the control plane must publish the checksum of the configuration \
                 it sends"
            )],
        }
    }
}

/// Parses and validates `config` exactly as a gateway file is (JSON is a gateway document),
/// then compares its checksum with `expected_checksum`.
///
/// Runs for every snapshot and every disk generation; slow for a large configuration, so
/// callers run it on a blocking thread.
pub(crate) fn check_config(
    config: &serde_json::Value,
    expected_checksum: &str,
) -> Result<ValidatedConfig, ConfigRefusal> {
    // `load_value`, not `load_str` of the text: there is no text anyone wrote to point a
    // line:column into, and finding positions is most of the cost of a large document.
    let validated = load_value(config).map_err(|errors| {
        ConfigRefusal::Invalid(errors.errors.iter().map(refusal_line).collect())
    })?;
    let computed = validated.checksum();
    if computed != expected_checksum {
        return Err(ConfigRefusal::ChecksumMismatch {
            expected: expected_checksum.to_owned(),
            computed: computed.to_owned(),
        });
    }
    Ok(validated)
}

/// `path: message`, without the line and column: they would point into JSON text that was
/// written here and that nobody sees.
fn refusal_line(error: &ConfigError) -> String {
    if error.path.is_empty() {
        error.message.clone()
    } else {
        format!("{}: {}", error.path, error.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_configs::{document, ROUTE_A};

    #[test]
    fn a_valid_document_with_its_checksum_passes() {
        let (config, checksum) = document(ROUTE_A);
        let validated = check_config(&config, &checksum).expect("valid");
        assert_eq!(validated.checksum(), checksum);
    }

    #[test]
    fn a_checksum_mismatch_names_both_checksums() {
        let (config, checksum) = document(ROUTE_A);
        let wrong = format!("sha256:{}", "0".repeat(64));
        let refusal = check_config(&config, &wrong).expect_err("mismatch");
        let lines = refusal.into_lines();
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].contains(&wrong) && lines[0].contains(&checksum),
            "{lines:?}"
        );
    }

    #[test]
    fn an_invalid_document_lists_every_error_with_its_path_and_no_position() {
        let mut config = document(ROUTE_A).0;
        config["routes"][0]["policies"]["timeoutMs"] = serde_json::json!(0);
        config["routes"][0]["upstream"]["service"] = serde_json::json!("nowhere");
        let refusal = check_config(&config, "sha256:whatever").expect_err("invalid");
        let lines = refusal.into_lines();
        assert!(lines.len() >= 2, "{lines:?}");
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with("routes[0].upstream.service")),
            "{lines:?}"
        );
        assert!(
            lines.iter().all(|line| !line.contains("line 1")),
            "{lines:?}"
        );
    }

    #[test]
    fn a_document_that_is_not_a_configuration_is_refused() {
        let refusal =
            check_config(&serde_json::json!(["not", "a", "config"]), "sha256:x").expect_err("x");
        assert!(matches!(refusal, ConfigRefusal::Invalid(lines) if !lines.is_empty()));
    }
}
