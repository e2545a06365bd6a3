//! Building a snapshot off the request path: the one install path of the data plane.
//!
//! [`Gateway::prepare`] takes a [`ValidatedConfig`] and builds everything that can fail —
//! the compiled routing table (`portcullis-router`), the authentication material with its
//! secrets read (`portcullis-policy`), the rate-limit rules and the limiter, the upstream
//! pool plan, each listener's TLS material — and refuses the configuration with every error
//! (field path, value, fix) when any of it cannot be built. It starts no task and opens no
//! connection: what a refused configuration built is simply dropped. [`Gateway::install`]
//! then swaps the result in and cannot fail. Standalone start and reload, `portcullis
//! validate` and snapshots from the control plane all come this way.

use std::fmt;

use portcullis_config::{ConfigError, ConfigErrors, ValidatedConfig};
use portcullis_policy::material::{self, PolicyMaterial};
use portcullis_router::Snapshot;

use crate::auth::{EnvironmentSecrets, PreparedAuth};
use crate::gateway::Gateway;
use crate::ratelimit::PreparedLimits;
use crate::tls::{self, ListenerTlsMaterial};
use crate::upstream::{PoolPlan, Upstreams};
use crate::LoadedSnapshot;

/// A snapshot's identity, chosen by whoever loads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotMeta {
    /// Standalone: the file's `version` when set, else the count of successful loads. From
    /// the control plane: the version it published.
    pub config_version: u64,
    pub loaded_at: time::OffsetDateTime,
}

/// A configuration with everything built, ready for [`Gateway::install`]. Made only by
/// [`Gateway::prepare`]; dropping it (a refused or superseded configuration) leaves nothing
/// running.
pub struct PreparedSnapshot {
    validated: ValidatedConfig,
    pub(crate) loaded: LoadedSnapshot,
    pub(crate) limits: PreparedLimits,
    pub(crate) auth: PreparedAuth,
    pub(crate) pools: PoolPlan,
    pub(crate) tls: Vec<ListenerTlsMaterial>,
}

impl PreparedSnapshot {
    /// The snapshot as it will be installed (compiled routes, identity).
    pub fn loaded(&self) -> &LoadedSnapshot {
        &self.loaded
    }

    /// The configuration it was built from.
    pub fn validated(&self) -> &ValidatedConfig {
        &self.validated
    }

    /// Validation's warnings about the configuration.
    pub fn warnings(&self) -> &[ConfigError] {
        self.validated.warnings()
    }
}

impl fmt::Debug for PreparedSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedSnapshot")
            .field("config_version", &self.loaded.config_version)
            .field("checksum", &self.loaded.checksum)
            .field("routes", &self.loaded.snapshot.routes().len())
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Builds everything `config` needs, off the request path (blocking: secret and TLS files
    /// are read; call it from a blocking thread on a running gateway). Refused with every
    /// error (in source order, with positions when the configuration came from text) when
    /// anything cannot be built; the running snapshot is untouched either way.
    /// State that outlives snapshots (pools, limiter, JWKS key sets, caches) is reused when
    /// its settings are unchanged, exactly as across a swap. Prepare and install one
    /// configuration at a time, as the reload loop does: a prepared snapshot chose what to
    /// reuse against the snapshot installed when it was prepared.
    pub fn prepare(
        &self,
        config: ValidatedConfig,
        meta: SnapshotMeta,
    ) -> Result<PreparedSnapshot, ConfigErrors> {
        let mut problems = Vec::new();
        let snapshot = Snapshot::compile(&config)
            .map_err(|error| problems.extend(error.to_config_errors(&config).errors))
            .ok();
        let material = build_material(&config, &mut problems);
        let tls = self.prepare_listeners(&config, &mut problems);
        let built = snapshot.and_then(|snapshot| {
            let limits = self
                .rate_limits
                .prepare(config.config(), &snapshot)
                .map_err(|errors| problems.extend(errors))
                .ok();
            let pools = Upstreams::plan(&snapshot)
                .map_err(|errors| problems.extend(errors))
                .ok();
            Some((snapshot, limits?, pools?))
        });
        let (Some((snapshot, limits, pools)), Some(material), true) =
            (built, material, problems.is_empty())
        else {
            return Err(config.locate(ConfigErrors::new(problems)));
        };
        let auth = self
            .auth
            .prepare(material, config.shared_config(), snapshot.routes());
        let loaded = LoadedSnapshot {
            snapshot,
            config: config.shared_config(),
            config_version: meta.config_version,
            checksum: config.checksum().to_string(),
            loaded_at: meta.loaded_at,
        };
        Ok(PreparedSnapshot {
            validated: config,
            loaded,
            limits,
            auth,
            pools,
            tls,
        })
    }

    /// Each listener's TLS material (reused from the installed snapshot when its settings are
    /// unchanged, else read now) and the settings `Server::bind` parses.
    fn prepare_listeners(
        &self,
        config: &ValidatedConfig,
        problems: &mut Vec<ConfigError>,
    ) -> Vec<ListenerTlsMaterial> {
        let mut loaded = Vec::new();
        for (index, listener) in config.config().listeners.iter().enumerate() {
            let Some(settings) = &listener.tls else {
                continue;
            };
            if let Some(material) = self.installed_tls(&listener.name, settings) {
                loaded.push(material);
                continue;
            }
            match tls::load(settings) {
                Ok(acceptor) => loaded.push(ListenerTlsMaterial {
                    listener: listener.name.clone(),
                    settings: settings.clone(),
                    acceptor,
                }),
                Err(problem) => problems.push(problem.at(index)),
            }
        }
        loaded
    }
}

/// The policy material with the data plane's secrets read.
fn build_material(
    config: &ValidatedConfig,
    problems: &mut Vec<ConfigError>,
) -> Option<PolicyMaterial> {
    match material::build(config, &EnvironmentSecrets) {
        Ok(material) if material.is_complete() => Some(material),
        Ok(material) => {
            // The environment source reads every secret; never install half-built material.
            problems.extend(material.deferred().iter().map(|path| {
                ConfigError::new(path.as_str(), "the secret was not read: the gateway installs only configurations whose secrets it has read")
            }));
            None
        }
        Err(errors) => {
            problems.extend(errors.errors);
            None
        }
    }
}
