//! SQLite, the embedded default: the dialect, connection settings and migrations. One file,
//! one control-plane process (no change notifications between processes).

use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;

use super::dialect::Dialect;

pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

pub const DIALECT: Dialect = Dialect {
    // Take the write lock at BEGIN: concurrent transitions queue on the busy timeout, and the
    // whole database is serialised (which includes "per environment").
    begin: "BEGIN IMMEDIATE",
    now: NOW,
    lock_row: "",
    lock_tokens: "SELECT 1",
    timestamp,
    json_in,
    json_out,
};

/// Timestamps are stored as RFC 3339 text already.
fn timestamp(column: &str) -> String {
    column.to_string()
}

fn json_in(parameter: &str) -> String {
    parameter.to_string()
}

fn json_out(column: &str) -> String {
    column.to_string()
}

/// The URL sqlx needs: the file is created when missing.
pub fn connect_url(url: &str) -> String {
    if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

const PRAGMAS: &[&str] = &[
    "PRAGMA foreign_keys = ON",
    "PRAGMA journal_mode = WAL",
    // FULL: an activation that answered 200 survives a power cut, not only a crash; the
    // control plane writes a few rows a minute, so the fsync per commit costs nothing.
    "PRAGMA synchronous = FULL",
    "PRAGMA busy_timeout = 10000",
];

pub fn pool_options() -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(|connection, _| {
            Box::pin(async move {
                // WAL: readers never wait for the writer. The busy timeout is how long a
                // writer queues behind another (transitions hold the lock for milliseconds).
                for pragma in PRAGMAS {
                    sqlx::Executor::execute(&mut *connection, *pragma).await?;
                }
                Ok(())
            })
        })
}
