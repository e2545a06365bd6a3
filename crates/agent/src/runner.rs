//! The poller: start-up (control plane first, then the disk copy), then the long-poll loop,
//! and what happens to each snapshot received (check, install or refuse, save, heartbeat).

use std::sync::Arc;

use portcullis_protocol::dataplane::{ConfigSource, DataPlaneSnapshot, LoadedConfig, Refusal};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::backoff::Backoff;
use crate::client::{ControlPlaneClient, PollOutcome};
use crate::clock::{now_rfc3339, rfc3339};
use crate::disk::DiskStore;
use crate::install::{check_config, SnapshotIdentity, SnapshotInstaller};
use crate::settings::AgentSettings;
use crate::status::AgentStatus;

/// Unreachable control plane: warn on the first failure and on every this-many after it,
/// so a long outage logs a line about every minute and a half at the 10 s cap, not per try.
const WARN_EVERY_FAILURES: u32 = 10;

pub(crate) struct Runner {
    pub(crate) settings: Arc<AgentSettings>,
    pub(crate) client: Arc<ControlPlaneClient>,
    pub(crate) disk: DiskStore,
    pub(crate) installer: Arc<dyn SnapshotInstaller>,
    pub(crate) status: Arc<watch::Sender<AgentStatus>>,
    pub(crate) heartbeat_now: Arc<Notify>,
}

enum Step {
    Received(Box<DataPlaneSnapshot>),
    Again,
}

impl Runner {
    pub(crate) async fn run(self) {
        let mut backoff = Backoff::new(self.settings.retry_initial, self.settings.retry_max);
        // The checksum last received from the control plane (installed or refused); a disk
        // copy never sets it, so after a disk start the control plane answers at once.
        let mut known: Option<String> = None;
        let startup_deadline = Instant::now() + self.settings.startup_timeout;
        let mut disk_considered = false;
        tracing::info!(
            "asking the control plane at {} for environment {:?}, pool {:?}",
            self.client.base(),
            self.settings.environment,
            self.settings.pool
        );
        loop {
            let starting = !disk_considered && !self.has_loaded();
            let step = if starting {
                tokio::select! {
                    step = self.poll_step(&mut backoff, known.as_deref()) => Some(step),
                    () = tokio::time::sleep_until(startup_deadline) => None,
                }
            } else {
                Some(self.poll_step(&mut backoff, known.as_deref()).await)
            };
            match step {
                None => {
                    disk_considered = true;
                    let reason = format!(
                        "the control plane at {} did not provide a configuration within {:?}",
                        self.client.base(),
                        self.settings.startup_timeout
                    );
                    self.start_from_disk(&reason).await;
                }
                Some(Step::Again) => {}
                Some(Step::Received(snapshot)) => {
                    known = Some(snapshot.checksum.clone());
                    let installed = self.receive(*snapshot).await;
                    if !installed && !disk_considered && !self.has_loaded() {
                        disk_considered = true;
                        self.start_from_disk("the control plane's configuration was refused")
                            .await;
                    }
                }
            }
        }
    }

    fn has_loaded(&self) -> bool {
        self.status.borrow().loaded.is_some()
    }

    /// One long-poll; on failure, the back-off sleep too.
    async fn poll_step(&self, backoff: &mut Backoff, known: Option<&str>) -> Step {
        match self.client.poll(known).await {
            Ok(outcome) => {
                backoff.reset();
                let received = matches!(outcome, PollOutcome::Snapshot(_));
                let mut recovered = false;
                self.status.send_if_modified(|status| {
                    recovered = status.control_plane_error.take().is_some();
                    if received {
                        status.snapshots_received += 1;
                    }
                    received || recovered
                });
                if recovered {
                    tracing::info!("the control plane at {} answers again", self.client.base());
                }
                match outcome {
                    PollOutcome::Snapshot(snapshot) => Step::Received(snapshot),
                    PollOutcome::NotModified => Step::Again,
                }
            }
            Err(error) => {
                let delay = backoff.next_delay();
                let attempt = backoff.failures();
                let text = self.client.describe(&error).to_string();
                if error.needs_operator() {
                    tracing::error!("{text}; retrying in {delay:.1?} (attempt {attempt})");
                } else if attempt % WARN_EVERY_FAILURES == 1 {
                    tracing::warn!("{text}; retrying in {delay:.1?} (attempt {attempt})");
                } else {
                    tracing::debug!("{text}; retrying in {delay:.1?} (attempt {attempt})");
                }
                self.status
                    .send_modify(|status| status.control_plane_error = Some(text));
                tokio::time::sleep(delay).await;
                Step::Again
            }
        }
    }

    /// Checks, installs and saves one snapshot, or refuses it. True when it is served.
    async fn receive(&self, snapshot: DataPlaneSnapshot) -> bool {
        let DataPlaneSnapshot {
            environment,
            config_version,
            checksum,
            config,
            ..
        } = snapshot;
        if self.confirm_served(config_version, &checksum) {
            return true;
        }
        let identity = SnapshotIdentity {
            config_version,
            checksum: checksum.clone(),
            source: ConfigSource::ControlPlane,
        };
        let (config, result) = if environment != self.settings.environment {
            let reason = format!(
                "environment: the snapshot is for environment {environment:?}, this data plane \
                 serves {:?}",
                self.settings.environment
            );
            (None, Err(vec![reason]))
        } else {
            self.check_and_install(config, identity).await
        };
        match result {
            Ok(loaded_at) => {
                let loaded = LoadedConfig {
                    config_version,
                    checksum: checksum.clone(),
                    loaded_at: rfc3339(loaded_at),
                    source: ConfigSource::ControlPlane,
                };
                self.status.send_modify(|status| {
                    status.loaded = Some(loaded);
                    status.refusal = None;
                    status.last_received = Some(checksum.clone());
                });
                tracing::info!(
                    "installed configuration version {config_version} ({checksum}) from the \
                     control plane"
                );
                if let Some(config) = config {
                    self.save(config_version, &checksum, config).await;
                }
                self.heartbeat_now.notify_one();
                true
            }
            Err(errors) => {
                let still = match &self.status.borrow().loaded {
                    Some(loaded) => format!(
                        "version {} ({}) keeps serving",
                        loaded.config_version, loaded.checksum
                    ),
                    None => "nothing is served yet".to_owned(),
                };
                tracing::error!(
                    "refused configuration version {config_version} ({checksum}) from the \
                     control plane; {still}; {} reason(s):\n  {}",
                    errors.len(),
                    errors.join("\n  ")
                );
                let refusal = Refusal {
                    config_version,
                    checksum: checksum.clone(),
                    errors,
                    at: now_rfc3339(),
                };
                self.status.send_modify(|status| {
                    status.refusal = Some(refusal);
                    status.last_received = Some(checksum);
                });
                self.heartbeat_now.notify_one();
                false
            }
        }
    }

    /// The control plane sent what is already served (after a start from the disk copy):
    /// nothing to build; it is now the control plane's.
    fn confirm_served(&self, config_version: i64, checksum: &str) -> bool {
        let confirmed = self.status.send_if_modified(|status| {
            let Some(loaded) = status.loaded.as_mut() else {
                return false;
            };
            if loaded.config_version != config_version || loaded.checksum != checksum {
                return false;
            }
            loaded.source = ConfigSource::ControlPlane;
            status.refusal = None;
            status.last_received = Some(checksum.to_owned());
            true
        });
        if confirmed {
            tracing::info!(
                "the control plane's configuration version {config_version} ({checksum}) is the \
                 one already served"
            );
            self.heartbeat_now.notify_one();
        }
        confirmed
    }

    /// Parse, validate and checksum on a blocking thread, then the installer there too; the
    /// document comes back for the save (large documents are neither copied nor dropped on the
    /// runtime's threads).
    async fn check_and_install(
        &self,
        config: serde_json::Value,
        identity: SnapshotIdentity,
    ) -> (
        Option<serde_json::Value>,
        Result<time::OffsetDateTime, Vec<String>>,
    ) {
        let installer = Arc::clone(&self.installer);
        let outcome = tokio::task::spawn_blocking(move || {
            let result = check_config(&config, &identity.checksum)
                .map_err(|refusal| refusal.into_lines())
                .and_then(|validated| installer.install(validated, &identity));
            (config, result)
        })
        .await;
        match outcome {
            Ok((config, result)) => (Some(config), result),
            Err(error) => (
                None,
                Err(vec![format!(
                    "the data plane failed while installing the configuration: {error}"
                )]),
            ),
        }
    }

    async fn save(&self, config_version: i64, checksum: &str, config: serde_json::Value) {
        let disk = self.disk.clone();
        let document = disk.document(&self.settings.pool, config_version, checksum, config);
        let saved = tokio::task::spawn_blocking(move || disk.save(&document)).await;
        let failure = match saved {
            Ok(Ok(())) => return,
            Ok(Err(error)) => error.to_string(),
            Err(error) => error.to_string(),
        };
        tracing::error!(
            "cannot save the last-known-good copy in {}: {failure}; the data plane keeps \
             serving, but a restart while the control plane is down would start from an older \
             copy",
            self.disk.dir().display()
        );
    }

    /// Installs the newest disk generation that verifies and installs, else the older one;
    /// logs loudly when there is none.
    async fn start_from_disk(&self, reason: &str) {
        let disk = self.disk.clone();
        let installer = Arc::clone(&self.installer);
        let installed = tokio::task::spawn_blocking(move || {
            for generation in disk.generations() {
                let stored = generation.snapshot;
                let identity = SnapshotIdentity {
                    config_version: stored.config_version,
                    checksum: stored.checksum.clone(),
                    source: ConfigSource::Disk,
                };
                match installer.install(generation.config, &identity) {
                    Ok(loaded_at) => return Some((generation.path, stored, loaded_at)),
                    Err(errors) => tracing::error!(
                        "the last-known-good copy {} (version {}, {}) verifies but cannot be \
                         installed; trying the older generation; {} reason(s):\n  {}",
                        generation.path.display(),
                        stored.config_version,
                        stored.checksum,
                        errors.len(),
                        errors.join("\n  ")
                    ),
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        match installed {
            Some((path, stored, loaded_at)) => {
                tracing::warn!(
                    "{reason}; serving the last-known-good copy from disk: version {}, \
                     checksum {}, saved at {} ({}); the control plane's configuration replaces \
                     it as soon as it answers",
                    stored.config_version,
                    stored.checksum,
                    stored.saved_at,
                    path.display()
                );
                let loaded = LoadedConfig {
                    config_version: stored.config_version,
                    checksum: stored.checksum,
                    loaded_at: rfc3339(loaded_at),
                    source: ConfigSource::Disk,
                };
                self.status
                    .send_modify(|status| status.loaded = Some(loaded));
                self.heartbeat_now.notify_one();
            }
            None => tracing::error!(
                "{reason}, and the state directory {} holds no usable last-known-good copy; \
                 nothing is served: waiting for the control plane at {} (environment {:?}, \
                 pool {:?})",
                self.disk.dir().display(),
                self.client.base(),
                self.settings.environment,
                self.settings.pool
            ),
        }
    }
}
