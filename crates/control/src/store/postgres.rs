//! PostgreSQL: the dialect, connection settings, migrations and change notifications.

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

use super::dialect::Dialect;

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// The channel a committed transition notifies, with the environment's name as payload.
pub const CHANNEL: &str = "portcullis_config";

/// Sent inside the transition's transaction, so replicas hear of it only once it commits.
pub const NOTIFY: &str = "SELECT pg_notify('portcullis_config', $1)";

pub const DIALECT: Dialect = Dialect {
    begin: "BEGIN",
    now: "now()",
    lock_row: " FOR UPDATE",
    // Blocks other revocations (and token creation) until commit; readers go on.
    lock_tokens: "LOCK TABLE api_tokens IN EXCLUSIVE MODE",
    timestamp,
    json_in,
    json_out,
};

fn timestamp(column: &str) -> String {
    format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')")
}

fn json_in(parameter: &str) -> String {
    format!("CAST({parameter} AS JSONB)")
}

fn json_out(column: &str) -> String {
    format!("CAST({column} AS TEXT)")
}

pub fn pool_options() -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(10)
        // A request waits this long for a connection while the server is away, then 503.
        .acquire_timeout(Duration::from_secs(3))
        // A connection's socket buffers grow to the largest message it carried (a pushed
        // configuration, a version read back: megabytes) and would keep that size for its
        // life, in each of the pool's connections. Back in the pool, they shrink to their
        // default (a no-op for a connection that carried only small messages).
        .after_release(|connection, _| {
            Box::pin(async move {
                sqlx::Connection::shrink_buffers(connection);
                Ok(true)
            })
        })
}
