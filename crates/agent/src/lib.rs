//! The data plane's link to the control plane.
//!
//! [`Agent::start`] long-polls the control plane for the snapshot of this data plane's
//! environment and pool, checks each one (parse, validation, checksum) and hands it to the
//! binary's [`SnapshotInstaller`]; a snapshot that installs is kept on disk as the
//! last-known-good copy ([`disk`]), one that does not is refused and reported while the old one
//! keeps serving. Heartbeats report what is loaded, the last refusal and per-route counters.
//! When the control plane cannot be reached at start, the disk copy is served.
//!
//! The agent never links the proxy: the binary implements [`SnapshotInstaller`] and passes
//! a [`CountersProvider`] (usually [`metrics_counters`]).

mod agent;
mod backoff;
mod client;
mod clock;
mod counters;
pub mod disk;
mod error;
mod heartbeat;
mod install;
mod runner;
mod settings;
mod status;
#[cfg(test)]
mod test_configs;

pub use agent::{Agent, RunningAgent};
pub use counters::{metrics_counters, no_counters, route_counters, CountersProvider};
pub use error::AgentError;
pub use install::{SnapshotIdentity, SnapshotInstaller};
pub use settings::{
    default_instance_id, AgentSettings, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_POLL_DEADLINE,
    DEFAULT_POOL, DEFAULT_REQUEST_TIMEOUT, DEFAULT_RETRY_INITIAL, DEFAULT_RETRY_MAX,
    DEFAULT_STARTUP_TIMEOUT,
};
pub use status::AgentStatus;
