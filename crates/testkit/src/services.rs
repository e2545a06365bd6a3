//! The shared services tests talk to over real connections, and the one rule for when one
//! is missing: under `CI=true` a test fails loudly; elsewhere it is skipped with a loud line.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The machine's Redis (`.ci/run` starts it when it is not answering).
pub const SHARED_REDIS: &str = "127.0.0.1:6379";

/// True when [`SHARED_REDIS`] accepts connections. When it does not: panics under
/// `CI=true` (a missing service must fail CI), else prints `SKIPPED: …` and returns false.
pub fn shared_redis_reachable() -> bool {
    let reachable = SHARED_REDIS.parse::<SocketAddr>().is_ok_and(|address| {
        TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok()
    });
    if reachable {
        return true;
    }
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!("Redis is not reachable at {SHARED_REDIS} and CI=true: start redis-server");
    }
    eprintln!("SKIPPED: Redis not reachable at {SHARED_REDIS}; this test did not run");
    false
}
