//! What the agent knows right now, shared between its tasks and the binary through a
//! `watch` channel.

use portcullis_protocol::dataplane::{LoadedConfig, Refusal};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentStatus {
    /// The configuration being served; `None` until the first install.
    pub loaded: Option<LoadedConfig>,
    /// The last snapshot refused, until a later one is installed.
    pub refusal: Option<Refusal>,
    /// Checksum of the last snapshot received from the control plane, installed or refused:
    /// the `known` of the next long-poll.
    pub last_received: Option<String>,
    /// Why the last long-poll failed, with the fix when an operator must act; `None` once a
    /// long-poll is answered.
    pub control_plane_error: Option<String>,
    /// Snapshots received from the control plane (200 answers).
    pub snapshots_received: u64,
    /// Heartbeats the control plane acknowledged.
    pub heartbeats_sent: u64,
}
