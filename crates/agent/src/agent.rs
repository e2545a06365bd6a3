//! Starting the agent and the handle the binary keeps while the data plane runs.

use std::sync::Arc;

use portcullis_protocol::dataplane::LoadedConfig;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::client::ControlPlaneClient;
use crate::clock::now_rfc3339;
use crate::counters::CountersProvider;
use crate::disk::DiskStore;
use crate::error::AgentError;
use crate::heartbeat::{self, HeartbeatLoop};
use crate::install::SnapshotInstaller;
use crate::runner::Runner;
use crate::settings::AgentSettings;
use crate::status::AgentStatus;

/// The data plane's agent; see [`Agent::start`].
#[derive(Debug)]
pub struct Agent;

impl Agent {
    /// Checks the settings, opens the state directory (creating it 0700 when missing) and
    /// starts the agent's two tasks, returning at once:
    ///
    /// * the poller asks the control plane for a snapshot (no `known`) for up to
    ///   `startup_timeout`; when none is installed by then it installs the newest disk
    ///   generation that verifies (else the older); with neither it logs that it waits for
    ///   the control plane. Then it long-polls forever with back-off on errors.
    /// * the heartbeat task reports every `heartbeat_interval` and at once after an install
    ///   or a refusal.
    ///
    /// Await [`RunningAgent::first_install`] before serving traffic. Errors are settings the
    /// agent cannot work with (each names the setting and the fix); the control plane being
    /// unreachable is never one.
    pub async fn start(
        settings: AgentSettings,
        installer: Arc<dyn SnapshotInstaller>,
        counters: CountersProvider,
    ) -> Result<RunningAgent, AgentError> {
        let base = settings.check()?;
        let disk = DiskStore::open(&settings.state_dir, &settings.environment)?;
        let client = Arc::new(ControlPlaneClient::new(&settings, base)?);
        let (sender, receiver) = watch::channel(AgentStatus::default());
        let status = Arc::new(sender);
        let heartbeat_now = Arc::new(Notify::new());
        let heartbeats = tokio::spawn(
            HeartbeatLoop {
                client: Arc::clone(&client),
                status: Arc::clone(&status),
                counters,
                now: Arc::clone(&heartbeat_now),
                interval: settings.heartbeat_interval,
                sender: heartbeat::Sender {
                    instance_id: settings.instance_id.clone(),
                    environment: settings.environment.clone(),
                    pool: settings.pool.clone(),
                    started_at: now_rfc3339(),
                    agent_version: settings.agent_version.clone(),
                },
            }
            .run(),
        );
        let poller = tokio::spawn(
            Runner {
                settings: Arc::new(settings),
                client,
                disk,
                installer,
                status,
                heartbeat_now,
            }
            .run(),
        );
        Ok(RunningAgent {
            status: receiver,
            poller,
            heartbeats,
        })
    }
}

/// The running agent. Dropping it stops the agent (its tasks are aborted): keep it for as
/// long as the data plane serves.
#[must_use = "the agent stops when its RunningAgent is dropped"]
#[derive(Debug)]
pub struct RunningAgent {
    status: watch::Receiver<AgentStatus>,
    poller: JoinHandle<()>,
    heartbeats: JoinHandle<()>,
}

impl RunningAgent {
    /// Resolves once a configuration is installed (from the control plane or the disk copy);
    /// at once if one already is. It never gives up by itself: with neither a control plane
    /// nor a disk copy it waits until the control plane answers (the caller may race it with
    /// a shutdown signal). `Err(Stopped)` only when the agent stopped.
    pub async fn first_install(&self) -> Result<LoadedConfig, AgentError> {
        let mut receiver = self.status.clone();
        let status = receiver
            .wait_for(|status| status.loaded.is_some())
            .await
            .map_err(|_| AgentError::Stopped)?;
        status.loaded.clone().ok_or(AgentError::Stopped)
    }

    /// What the agent knows now.
    pub fn status(&self) -> AgentStatus {
        self.status.borrow().clone()
    }

    /// Changes of [`AgentStatus`] as they happen.
    pub fn subscribe(&self) -> watch::Receiver<AgentStatus> {
        self.status.clone()
    }

    /// Stops the agent's tasks and waits for them to end. An install or a save already
    /// running on a blocking thread runs to its end (a save is atomic either way).
    pub async fn shutdown(mut self) {
        self.poller.abort();
        self.heartbeats.abort();
        let _ = (&mut self.poller).await;
        let _ = (&mut self.heartbeats).await;
    }
}

impl Drop for RunningAgent {
    fn drop(&mut self) {
        self.poller.abort();
        self.heartbeats.abort();
    }
}
