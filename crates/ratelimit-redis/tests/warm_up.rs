//! `warm_up` connects now: a standalone store must not wait for its first decision (whose
//! short deadline would then include the connect, and under `failClosed` refuse a request
//! while Redis is healthy).

use std::time::Duration;

use portcullis_ratelimit_redis::{RedisSettings, RedisStore};
use tokio::net::TcpListener;

#[tokio::test]
async fn warm_up_opens_the_connection_before_any_decision() {
    // A listener standing in for Redis: the test only needs to see the connection arrive.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("redis://{}", listener.local_addr().expect("address"));
    let mut settings = RedisSettings::standalone(&url);
    settings.timeout = Duration::from_millis(250);
    let store = RedisStore::new(&settings).expect("valid settings");

    // The stand-in never answers the handshake, so warm-up itself times out; what matters is
    // that it dialled.
    let warming = tokio::spawn(async move { store.warm_up(Duration::from_millis(500)).await });
    let accepted = tokio::time::timeout(Duration::from_secs(10), listener.accept()).await;
    assert!(
        matches!(accepted, Ok(Ok(_))),
        "warm_up made no connection: a lazily connecting store would pay the connect inside its first decision's deadline"
    );
    let _ = warming.await;
}
