//! Shared helpers of the agent's integration tests: a control-plane stand-in that implements
//! the two data-plane endpoints with the real long-poll semantics, an installer that records
//! what it is given, the log capture, and waiting with deadlines.
#![allow(dead_code)]

pub mod logs;
pub mod stand_in;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis_agent::{
    no_counters, Agent, AgentSettings, RunningAgent, SnapshotIdentity, SnapshotInstaller,
};
use portcullis_config::{checksum, parse_str, Format, ValidatedConfig};
use portcullis_protocol::dataplane::DataPlaneSnapshot;
use tokio::time::Instant;

pub const ENVIRONMENT: &str = "production";
pub const TOKEN: &str = "pct_agent-integration-test-token-0123456789abcdef";
/// How long a test waits for an event before failing: generous, the CI box is loaded.
pub const EVENT_DEADLINE: Duration = Duration::from_secs(15);

/// Agent settings for a test: short intervals, fast retries.
pub fn settings(control_plane: &str, state_dir: &Path) -> AgentSettings {
    let mut settings = AgentSettings::new(control_plane, TOKEN, ENVIRONMENT, state_dir);
    settings.instance_id = "dp-test-1".to_owned();
    settings.heartbeat_interval = Duration::from_millis(200);
    settings.startup_timeout = Duration::from_secs(1);
    settings.retry_initial = Duration::from_millis(20);
    settings.retry_max = Duration::from_millis(200);
    settings
}

/// A valid configuration with one route named `route`, as the control plane publishes it:
/// the parsed model re-serialised, and its checksum.
pub fn config_for(route: &str) -> (serde_json::Value, String) {
    config_from_yaml(&format!(
        "services:\n  orders:\n    visibility: public\n    endpoints: [\"127.0.0.1:18081\"]\n\
         routes:\n  - name: {route}\n    match:\n      pathPrefix: /v1/{route}\n    \
         upstream:\n      service: orders\n    policies:\n      auth: none\n"
    ))
}

pub fn config_from_yaml(yaml: &str) -> (serde_json::Value, String) {
    let (config, _) = parse_str(yaml, Format::Yaml).expect("test configuration parses");
    (
        serde_json::to_value(&config).expect("serialises"),
        checksum(&config),
    )
}

pub fn snapshot_for(version: i64, route: &str) -> DataPlaneSnapshot {
    let (config, checksum) = config_for(route);
    DataPlaneSnapshot {
        environment: ENVIRONMENT.to_owned(),
        pool: "default".to_owned(),
        config_version: version,
        checksum,
        activated_at: Some("2026-04-08T10:15:30.000Z".to_owned()),
        config,
    }
}

/// Records every install; refuses the checksums it is told to, with one reason line.
#[derive(Default)]
pub struct RecordingInstaller {
    attempts: Mutex<Vec<SnapshotIdentity>>,
    installed: Mutex<Vec<SnapshotIdentity>>,
    refuse: Mutex<HashSet<String>>,
}

pub const REFUSAL_LINE: &str =
    "routes[0].upstream: the test data plane cannot build this configuration";

impl RecordingInstaller {
    pub fn new() -> Arc<RecordingInstaller> {
        Arc::new(RecordingInstaller::default())
    }

    pub fn refuse(&self, checksum: &str) {
        self.refuse
            .lock()
            .expect("lock")
            .insert(checksum.to_owned());
    }

    /// Every install asked for, refused ones included.
    pub fn attempts(&self) -> Vec<SnapshotIdentity> {
        self.attempts.lock().expect("lock").clone()
    }

    pub fn installed(&self) -> Vec<SnapshotIdentity> {
        self.installed.lock().expect("lock").clone()
    }

    pub fn installed_checksums(&self) -> Vec<String> {
        self.installed()
            .into_iter()
            .map(|identity| identity.checksum)
            .collect()
    }
}

impl SnapshotInstaller for RecordingInstaller {
    fn install(
        &self,
        _config: ValidatedConfig,
        identity: &SnapshotIdentity,
    ) -> Result<time::OffsetDateTime, Vec<String>> {
        self.attempts.lock().expect("lock").push(identity.clone());
        if self
            .refuse
            .lock()
            .expect("lock")
            .contains(&identity.checksum)
        {
            return Err(vec![REFUSAL_LINE.to_owned()]);
        }
        self.installed.lock().expect("lock").push(identity.clone());
        Ok(time::OffsetDateTime::now_utc())
    }
}

/// Polls `check` every 10 ms until it gives a value; panics naming `what` after `deadline`.
/// `Agent::start` with no route counters; panics when the agent cannot start.
pub async fn start_agent(
    settings: AgentSettings,
    installer: Arc<dyn SnapshotInstaller>,
) -> RunningAgent {
    Agent::start(settings, installer, no_counters())
        .await
        .expect("the agent starts")
}

pub async fn wait_for<T>(
    what: &str,
    deadline: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> T {
    let end = Instant::now() + deadline;
    loop {
        if let Some(value) = check() {
            return value;
        }
        if Instant::now() >= end {
            panic!("timed out after {deadline:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `wait_for` for a condition.
pub async fn wait_until(what: &str, deadline: Duration, mut check: impl FnMut() -> bool) {
    wait_for(what, deadline, || check().then_some(())).await;
}
