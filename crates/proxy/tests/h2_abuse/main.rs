//! HTTP/2 and connection abuse, driven over real sockets: each attack shows the offending
//! connection closed (GOAWAY with the expected code, or EOF) within a bound, the work it
//! caused bounded (requests reaching the upstream, resident memory), and another client on
//! its own connection still served.

#[path = "../common/mod.rs"]
mod common;
mod frames;
mod support;

mod floods;
mod h2c_upgrade;
mod headers;
mod rapid_reset;
mod streams;

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
