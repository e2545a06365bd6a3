//! The audit log: one row per change (and per refused change), written in the same
//! transaction as the change it records.

use sqlx::{Any, Executor};

use super::Store;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The request was turned down (409, 422, ...).
    Refused,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
        }
    }
}

/// An entry to write.
#[derive(Debug, Clone)]
pub struct NewAudit<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub outcome: Outcome,
    pub environment: Option<&'a str>,
    pub config_version: Option<i64>,
    pub detail: serde_json::Value,
}

impl<'a> NewAudit<'a> {
    pub fn ok(actor: &'a str, action: &'a str) -> Self {
        NewAudit {
            actor,
            action,
            outcome: Outcome::Ok,
            environment: None,
            config_version: None,
            detail: serde_json::json!({}),
        }
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn environment(mut self, environment: &'a str) -> Self {
        self.environment = Some(environment);
        self
    }

    pub fn version(mut self, config_version: i64) -> Self {
        self.config_version = Some(config_version);
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

impl Store {
    /// Writes `entry` through `executor`: the caller's transaction, or the pool for entries
    /// that stand alone (refusals).
    pub(super) async fn write_audit<'e, E>(
        &self,
        executor: E,
        entry: &NewAudit<'_>,
    ) -> Result<(), ApiError>
    where
        E: Executor<'e, Database = Any>,
    {
        sqlx::query(&self.sql.insert_audit)
            .bind(entry.actor.to_string())
            .bind(entry.action.to_string())
            .bind(entry.outcome.as_str())
            .bind(entry.environment.map(str::to_string))
            .bind(entry.config_version)
            .bind(entry.detail.to_string())
            .execute(executor)
            .await?;
        Ok(())
    }

    /// Records a refused request on its own (the change itself was rolled back or never
    /// began). Best effort: the caller already has the error to answer with.
    pub async fn audit_refusal(&self, entry: NewAudit<'_>) {
        let entry = entry.outcome(Outcome::Refused);
        if let Err(error) = self.write_audit(&self.pool, &entry).await {
            tracing::warn!(action = entry.action, %error, "could not write the audit entry of a refused request");
        }
    }
}
