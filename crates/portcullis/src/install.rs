//! The install path every mode shares: the access log a gateway starts with, the numbering
//! and logging of installed configurations, and the settings that only a restart can change.
//! Used by `serve --config` and its reloads (`run`, `reload`), `serve --control-plane`
//! (`managed`), the quickstart and `validate`.

use std::sync::Arc;

use anyhow::Context;
use portcullis_config::{AccessLog as AccessLogSettings, Config, Listener, ValidatedConfig};
use portcullis_proxy::{Gateway, PreparedSnapshot, SnapshotMeta};
use portcullis_telemetry::access_log::{AccessLog, AccessLogGuard, Destination};
use portcullis_telemetry::metrics::Metrics;

/// The settings a running gateway sets up once (listeners, admin listener, access log): a
/// later configuration that changes them is installed, with a warning that these parts wait
/// for a restart.
#[derive(Debug, Clone)]
pub struct RestartOnly {
    listeners: Vec<Listener>,
    admin_address: String,
    access_log: AccessLogSettings,
}

impl RestartOnly {
    pub fn of(config: &Config) -> RestartOnly {
        RestartOnly {
            listeners: config.listeners.clone(),
            admin_address: config.admin.address.clone(),
            access_log: config.access_log.clone(),
        }
    }

    pub fn warn_about_changes(&self, config: &Config, source: &str) {
        if config.listeners != self.listeners {
            tracing::warn!(
                "listeners changed in the {source}; they take effect only after a restart \
                 (the running listeners are kept)"
            );
        }
        if config.admin.address != self.admin_address {
            tracing::warn!(
                "admin.address changed in the {source}; it takes effect only after a restart"
            );
        }
        if config.access_log != self.access_log {
            tracing::warn!(
                "accessLog changed in the {source}; it takes effect only after a restart"
            );
        }
    }
}

pub fn start_access_log(
    config: &Config,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<(AccessLog, Option<AccessLogGuard>)> {
    let settings = &config.access_log;
    if !settings.enabled {
        return Ok((AccessLog::disabled(), None));
    }
    let destination = Destination::parse(&settings.path);
    let capacity = usize::try_from(settings.queue_capacity).unwrap_or(usize::MAX);
    let (log, guard) =
        AccessLog::start(destination, capacity, metrics.clone()).with_context(|| {
            format!(
                "cannot open the access log {:?} (accessLog.path): create its directory, fix its \
             permissions, or set accessLog.path to stdout",
                settings.path
            )
        })?;
    Ok((log, Some(guard)))
}

/// Installs prepared configurations and numbers them.
pub struct Installer {
    gateway: Arc<Gateway>,
    successful_loads: u64,
}

impl Installer {
    pub fn new(gateway: Arc<Gateway>) -> Installer {
        Installer {
            gateway,
            successful_loads: 0,
        }
    }

    /// The identity the next installed configuration gets: the file's `version` when set,
    /// else the count of successful loads including this one (1 for the first).
    pub fn next_meta(&self, validated: &ValidatedConfig) -> SnapshotMeta {
        next_meta(validated, self.successful_loads)
    }

    /// Successful loads so far (for [`next_meta`] on another thread).
    pub fn successful_loads(&self) -> u64 {
        self.successful_loads
    }

    /// Swap `prepared` in atomically and count the load; returns its version.
    pub fn install(&mut self, prepared: PreparedSnapshot) -> u64 {
        self.successful_loads += 1;
        install(&self.gateway, prepared)
    }

    pub fn gateway(&self) -> &Arc<Gateway> {
        &self.gateway
    }
}

/// Swap `prepared` in atomically, count the load and log it; returns its version.
pub fn install(gateway: &Gateway, prepared: PreparedSnapshot) -> u64 {
    let loaded = prepared.loaded();
    let config_version = loaded.config_version;
    let routes = loaded.snapshot.routes().len();
    let checksum = loaded.checksum.clone();
    gateway.install(prepared);
    gateway.metrics().config_load(true);
    // The parser's transient trees are gone now; hand their pages back, on the blocking
    // pool since trimming a large heap takes milliseconds.
    crate::memory::release_freed_memory_in_background();
    tracing::info!(config_version, %checksum, routes, "configuration installed");
    config_version
}

/// The identity of a configuration loaded after `successful_loads` successful ones.
pub fn next_meta(validated: &ValidatedConfig, successful_loads: u64) -> SnapshotMeta {
    SnapshotMeta {
        config_version: config_version(validated.config().version, successful_loads + 1),
        loaded_at: time::OffsetDateTime::now_utc(),
    }
}

/// The reported version: the file's own when it sets one, else the load count.
pub fn config_version(explicit: Option<u64>, successful_loads: u64) -> u64 {
    explicit.unwrap_or(successful_loads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_version_wins_over_load_count() {
        assert_eq!(config_version(Some(42), 3), 42);
        assert_eq!(config_version(None, 3), 3);
    }
}
