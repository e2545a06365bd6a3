//! Where a control plane keeps its data: SQLite in its data directory (the embedded default)
//! or a fresh PostgreSQL database, named to the process by `PORTCULLIS_DATABASE_URL`.

use std::sync::Arc;

use portcullis_testkit::postgres::{PostgresServer, TestDatabase};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A data directory and, for PostgreSQL, a database of its own; both removed when dropped.
pub struct Storage {
    pub data_dir: tempfile::TempDir,
    database: Option<TestDatabase>,
}

impl Storage {
    /// `None` (after a `SKIPPED:` line) when PostgreSQL cannot be had outside CI.
    pub async fn new(backend: Backend) -> Option<Storage> {
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::create().await?),
        };
        Some(Storage {
            data_dir: data_dir(),
            database,
        })
    }

    /// A database on a private server the test can stop and start (never the shared one).
    pub async fn on_private_server(server: Arc<PostgresServer>) -> Storage {
        let database = TestDatabase::create_on(&server.url("postgres"), Some(server))
            .await
            .expect("a database on the private PostgreSQL server");
        Storage {
            data_dir: data_dir(),
            database: Some(database),
        }
    }

    /// `PORTCULLIS_DATABASE_URL` for the control plane: the database's URL, or removed so
    /// the embedded SQLite default (`<data-dir>/control.db`) is used.
    pub fn database_url(&self) -> Option<String> {
        self.database
            .as_ref()
            .map(|database| database.url().to_string())
    }
}

fn data_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("portcullis-cp-")
        .tempdir()
        .expect("temporary data directory")
}
