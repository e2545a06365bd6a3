//! The store: PostgreSQL or SQLite through one set of queries ([`sql::Sql`]) written from the
//! backend's [`dialect::Dialect`]. Every query is a runtime query with bind parameters, so the
//! build never needs a database. The decisions taken inside the transactions are the pure
//! functions of [`crate::lifecycle`].

mod audit;
mod dialect;
mod environments;
mod instances;
pub mod postgres;
mod reads;
mod rows;
mod sql;
pub mod sqlite;
mod tokens;
mod versions;

use std::sync::Arc;

use sqlx::any::AnyPoolOptions;
use sqlx::{Any, AnyPool, Transaction};

use crate::error::{ApiError, ControlError};

pub use audit::{NewAudit, Outcome};
pub use instances::stale_after;
pub use reads::PublishedRow;
pub use tokens::TokenRecord;
pub use versions::NewVersion;

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Backend, ControlError> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            "sqlite" => Ok(Backend::Sqlite),
            _ => Err(ControlError::DatabaseUrl {
                url: redact(url),
                reason: format!("unknown scheme {scheme:?}"),
            }),
        }
    }
}

/// A URL without its password, for messages and logs.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((credentials, host)) => {
            let user = credentials.split(':').next().unwrap_or_default();
            let hidden = if credentials.contains(':') {
                ":***"
            } else {
                ""
            };
            format!("{scheme}://{user}{hidden}@{host}{path}")
        }
        None => url.to_string(),
    }
}

/// The configuration store (cheap to clone: one pool).
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    sql: Arc<sql::Sql>,
}

impl Store {
    /// Connects and brings the schema up to date (migrations are embedded in the binary).
    pub async fn connect(url: &str) -> Result<Store, ControlError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let (options, connect_url, dialect, migrator): (AnyPoolOptions, String, _, _) =
            match backend {
                Backend::Postgres => (
                    postgres::pool_options(),
                    url.to_string(),
                    &postgres::DIALECT,
                    &postgres::MIGRATOR,
                ),
                Backend::Sqlite => (
                    sqlite::pool_options(),
                    sqlite::connect_url(url),
                    &sqlite::DIALECT,
                    &sqlite::MIGRATOR,
                ),
            };
        let pool = options
            .connect(&connect_url)
            .await
            .map_err(|source| ControlError::Connect {
                url: redact(url),
                source,
            })?;
        migrator.run(&pool).await?;
        Ok(Store {
            pool,
            backend,
            sql: Arc::new(sql::Sql::new(dialect)),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for tests that check the database's own constraints with SQL.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// True when the database answers a query.
    pub async fn ping(&self) -> Result<(), ApiError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin(&self) -> Result<Transaction<'static, Any>, ApiError> {
        Ok(self.pool.begin_with(self.sql.begin).await?)
    }

    /// Tells every replica that `environment`'s assignment changed, when the transaction
    /// commits (PostgreSQL; SQLite has one process and nobody to tell).
    async fn notify(
        &self,
        transaction: &mut Transaction<'static, Any>,
        environment: &str,
    ) -> Result<(), ApiError> {
        if self.backend == Backend::Postgres {
            sqlx::query(postgres::NOTIFY)
                .bind(environment)
                .execute(&mut **transaction)
                .await?;
        }
        Ok(())
    }

    /// Takes the environment's row lock (PostgreSQL) inside a writing transaction; 404 when
    /// the environment does not exist.
    async fn lock_environment(
        &self,
        transaction: &mut Transaction<'static, Any>,
        environment: &str,
    ) -> Result<(), ApiError> {
        self.find_environment(transaction, environment, &self.sql.lock_environment)
            .await
    }

    /// 404 unless the environment exists, without serialising on it (heartbeats).
    async fn require_environment(
        &self,
        transaction: &mut Transaction<'static, Any>,
        environment: &str,
    ) -> Result<(), ApiError> {
        self.find_environment(transaction, environment, &self.sql.environment_exists)
            .await
    }

    async fn find_environment(
        &self,
        transaction: &mut Transaction<'static, Any>,
        environment: &str,
        query: &str,
    ) -> Result<(), ApiError> {
        let found = sqlx::query(query)
            .bind(environment)
            .fetch_optional(&mut **transaction)
            .await?;
        match found {
            Some(_) => Ok(()),
            None => Err(ApiError::environment_not_found(environment)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend_and_lose_their_password_in_messages() {
        assert_eq!(
            Backend::of_url("postgres://u@h/db").ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::of_url("postgresql://h/db").ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::of_url("sqlite:///tmp/x.db").ok(),
            Some(Backend::Sqlite)
        );
        assert!(Backend::of_url("mysql://h/db").is_err());
        assert_eq!(
            redact("postgres://user:secret@db:5432/x"),
            "postgres://user:***@db:5432/x"
        );
        assert_eq!(redact("postgres://user@db/x"), "postgres://user@db/x");
        assert_eq!(
            redact("sqlite:///data/control.db"),
            "sqlite:///data/control.db"
        );
    }
}
