//! Slow clients: a request body that stops arriving (`bodyReadTimeoutMs`), a client that
//! stops reading its response (`writeTimeoutMs`), and more connections than
//! `maxConnections`. (Slow request heads: `connections.rs`.)

#[path = "../common/mod.rs"]
mod common;

mod body_read;
mod connection_limit;
mod write_timeout;

use std::time::Duration;

/// Poll `condition` every 10 ms until it holds, failing after `bound` with `what`.
pub async fn wait_for(bound: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + bound;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {bound:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A listener with the defaults, shaped by `adjust`, in front of `endpoint`.
pub async fn gateway(
    endpoint: &str,
    adjust: impl FnOnce(&mut portcullis_config::Listener),
) -> common::TestGateway {
    let mut listener = common::listener();
    adjust(&mut listener);
    common::start_with(
        &common::single_route(endpoint, "/", "", ""),
        listener,
        portcullis_telemetry::access_log::AccessLog::disabled(),
    )
    .await
}
