//! Heartbeats: every interval, and at once after an install or a refusal, the agent tells the
//! control plane what it serves, what it refused, and its per-route counters.

use std::sync::Arc;
use std::time::Duration;

use portcullis_protocol::dataplane::Heartbeat;
use tokio::sync::{watch, Notify};

use crate::client::{encode_heartbeat, ControlPlaneClient};
use crate::counters::CountersProvider;
use crate::status::AgentStatus;

/// Who this data plane is, the same in every heartbeat.
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    pub(crate) instance_id: String,
    pub(crate) environment: String,
    pub(crate) pool: String,
    pub(crate) started_at: String,
    pub(crate) agent_version: String,
}

pub(crate) struct HeartbeatLoop {
    pub(crate) client: Arc<ControlPlaneClient>,
    pub(crate) status: Arc<watch::Sender<AgentStatus>>,
    pub(crate) counters: CountersProvider,
    /// Notified after an install or a refusal: send now rather than at the next interval.
    pub(crate) now: Arc<Notify>,
    pub(crate) interval: Duration,
    pub(crate) sender: Sender,
}

impl HeartbeatLoop {
    pub(crate) async fn run(self) {
        let mut failing = false;
        loop {
            self.send_one(&mut failing).await;
            tokio::select! {
                () = tokio::time::sleep(self.interval) => {}
                () = self.now.notified() => {}
            }
        }
    }

    async fn send_one(&self, failing: &mut bool) {
        let status = self.status.borrow().clone();
        let mut heartbeat = Heartbeat {
            instance_id: self.sender.instance_id.clone(),
            environment: self.sender.environment.clone(),
            pool: self.sender.pool.clone(),
            started_at: self.sender.started_at.clone(),
            agent_version: self.sender.agent_version.clone(),
            loaded: status.loaded,
            refusal: status.refusal,
            routes: Vec::new(),
        };
        let counters = Arc::clone(&self.counters);
        // The provider walks every route and the body may be megabytes: both off the
        // runtime's threads, which serve traffic.
        let encoded = tokio::task::spawn_blocking(move || {
            heartbeat.routes = counters();
            encode_heartbeat(&heartbeat)
        })
        .await;
        let body = match encoded {
            Ok(Ok(body)) => body,
            Ok(Err(error)) => {
                tracing::error!("heartbeat not sent: {}", self.client.describe(&error));
                return;
            }
            Err(error) => {
                tracing::error!("heartbeat not sent: the route counters provider failed: {error}");
                return;
            }
        };
        match self.client.heartbeat(body).await {
            Ok(_) => {
                if *failing {
                    tracing::info!(
                        "heartbeats reach the control plane at {} again",
                        self.client.base()
                    );
                }
                *failing = false;
                self.status
                    .send_modify(|status| status.heartbeats_sent += 1);
            }
            Err(error) => {
                let text = self.client.describe(&error);
                if error.needs_operator() {
                    tracing::error!("heartbeat not accepted: {text}");
                } else if !*failing {
                    tracing::warn!("heartbeat not delivered: {text}; retrying every interval");
                } else {
                    tracing::debug!("heartbeat not delivered: {text}");
                }
                *failing = true;
            }
        }
    }
}
