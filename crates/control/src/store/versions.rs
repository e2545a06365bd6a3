//! The lifecycle's transactions: push, validate, activate, rollback. Each runs in one
//! transaction serialised per environment, decides with [`crate::lifecycle`], and writes the
//! audit entry (and the activation history and the change notification) before it commits.

use portcullis_protocol::admin::{Activation, ActivationKind, VersionStatus, VersionSummary};
use sqlx::{Any, Transaction};

use super::{rows, NewAudit, Store};
use crate::error::ApiError;
use crate::lifecycle::{self, ValidateStep};

/// What `push` stores.
#[derive(Debug)]
pub struct NewVersion<'a> {
    pub environment: &'a str,
    /// The checked configuration's JSON text (`validation::CheckedDocument::text`).
    pub document: &'a str,
    /// Its checksum.
    pub checksum: &'a str,
    pub created_by: &'a str,
    pub message: &'a str,
}

impl Store {
    /// Stores a checked configuration as DRAFT, its parent the environment's ACTIVE version.
    pub async fn push(&self, new: NewVersion<'_>) -> Result<VersionSummary, ApiError> {
        let mut transaction = self.begin().await?;
        self.lock_environment(&mut transaction, new.environment)
            .await?;
        let inserted = sqlx::query(&self.sql.insert_version)
            .bind(new.environment)
            .bind(new.document)
            .bind(new.created_by)
            .bind(new.checksum)
            .bind(new.message)
            .fetch_one(&mut *transaction)
            .await?;
        let version = rows::integer(&inserted, "config_version")?;
        let entry = NewAudit::ok(new.created_by, "version.push")
            .environment(new.environment)
            .version(version)
            .detail(serde_json::json!({
                "checksum": new.checksum,
                "message": new.message,
            }));
        self.write_audit(&mut *transaction, &entry).await?;
        let summary = self.summary_in(&mut transaction, version).await?;
        transaction.commit().await?;
        Ok(summary)
    }

    /// DRAFT → VALIDATED (VALIDATED stays). The caller has run the checks.
    pub async fn mark_validated(
        &self,
        version: i64,
        actor: &str,
    ) -> Result<VersionSummary, ApiError> {
        let mut transaction = self.begin().await?;
        let (environment, status) = self.lock_version(&mut transaction, version).await?;
        if lifecycle::validate_step(version, status)? == ValidateStep::Mark {
            sqlx::query(&self.sql.mark_validated)
                .bind(version)
                .execute(&mut *transaction)
                .await?;
            let entry = NewAudit::ok(actor, "version.validate")
                .environment(&environment)
                .version(version);
            self.write_audit(&mut *transaction, &entry).await?;
        }
        let summary = self.summary_in(&mut transaction, version).await?;
        transaction.commit().await?;
        Ok(summary)
    }

    /// VALIDATED → ACTIVE; the previous ACTIVE goes back to VALIDATED.
    pub async fn activate(
        &self,
        version: i64,
        expected_active: Option<i64>,
        actor: &str,
    ) -> Result<Activation, ApiError> {
        let mut transaction = self.begin().await?;
        let (environment, status) = self.lock_version(&mut transaction, version).await?;
        let active = self.active_in(&mut transaction, &environment).await?;
        lifecycle::check_activation(version, status, active, expected_active)?;
        if let Some(previous) = active {
            self.set_status(&mut transaction, previous, VersionStatus::Validated)
                .await?;
        }
        let change = Change {
            environment: &environment,
            version,
            previous: active,
            kind: ActivationKind::Activate,
            actor,
        };
        let activation = self.record_activation(&mut transaction, change).await?;
        transaction.commit().await?;
        Ok(activation)
    }

    /// The ACTIVE version → ROLLED_BACK; the most recent earlier activation that can serve
    /// becomes ACTIVE again.
    pub async fn rollback(
        &self,
        environment: &str,
        expected_active: Option<i64>,
        actor: &str,
    ) -> Result<Activation, ApiError> {
        let mut transaction = self.begin().await?;
        self.lock_environment(&mut transaction, environment).await?;
        let active = self.active_in(&mut transaction, environment).await?;
        let current = lifecycle::check_rollback(environment, active, expected_active)?;
        let history = sqlx::query(&self.sql.activation_statuses)
            .bind(environment)
            .fetch_all(&mut *transaction)
            .await?
            .iter()
            .map(|row| Ok((rows::integer(row, "config_version")?, rows::status(row)?)))
            .collect::<Result<Vec<_>, ApiError>>()?;
        let target = lifecycle::rollback_target(&history, current)
            .ok_or_else(|| lifecycle::no_rollback_target(environment, current))?;
        self.set_status(&mut transaction, current, VersionStatus::RolledBack)
            .await?;
        let change = Change {
            environment,
            version: target,
            previous: Some(current),
            kind: ActivationKind::Rollback,
            actor,
        };
        let activation = self.record_activation(&mut transaction, change).await?;
        transaction.commit().await?;
        Ok(activation)
    }

    /// Makes `change.version` ACTIVE and writes the history row, the audit entry and the
    /// notification, all in the caller's transaction.
    async fn record_activation(
        &self,
        transaction: &mut Transaction<'static, Any>,
        change: Change<'_>,
    ) -> Result<Activation, ApiError> {
        let activated = sqlx::query(&self.sql.make_active)
            .bind(change.version)
            .fetch_optional(&mut **transaction)
            .await?
            .ok_or_else(|| {
                ApiError::conflict(
                    "concurrent_change",
                    format!(
                        "config version {} changed status while it was being activated; look again",
                        change.version
                    ),
                )
            })?;
        let activated_at = rows::text(&activated, "activated_at")?;
        let kind = match change.kind {
            ActivationKind::Activate => "activate",
            ActivationKind::Rollback => "rollback",
        };
        sqlx::query(&self.sql.insert_activation)
            .bind(change.environment)
            .bind(change.version)
            .bind(change.previous)
            .bind(kind)
            .bind(change.actor)
            .execute(&mut **transaction)
            .await?;
        let action = match change.kind {
            ActivationKind::Activate => "version.activate",
            ActivationKind::Rollback => "environment.rollback",
        };
        let entry = NewAudit::ok(change.actor, action)
            .environment(change.environment)
            .version(change.version)
            .detail(serde_json::json!({ "previousVersion": change.previous }));
        self.write_audit(&mut **transaction, &entry).await?;
        self.notify(transaction, change.environment).await?;
        Ok(Activation {
            environment: change.environment.to_string(),
            config_version: change.version,
            previous_version: change.previous,
            kind: change.kind,
            activated_at,
            actor: change.actor.to_string(),
        })
    }

    /// Locks the version's environment and reads the version's status under that lock.
    async fn lock_version(
        &self,
        transaction: &mut Transaction<'static, Any>,
        version: i64,
    ) -> Result<(String, VersionStatus), ApiError> {
        let environment = self.version_state(transaction, version).await?.0;
        self.lock_environment(transaction, &environment).await?;
        self.version_state(transaction, version).await
    }

    async fn version_state(
        &self,
        transaction: &mut Transaction<'static, Any>,
        version: i64,
    ) -> Result<(String, VersionStatus), ApiError> {
        let row = sqlx::query(&self.sql.version_state)
            .bind(version)
            .fetch_optional(&mut **transaction)
            .await?
            .ok_or_else(|| ApiError::version_not_found(version))?;
        Ok((rows::text(&row, "environment")?, rows::status(&row)?))
    }

    async fn active_in(
        &self,
        transaction: &mut Transaction<'static, Any>,
        environment: &str,
    ) -> Result<Option<i64>, ApiError> {
        let row = sqlx::query(&self.sql.active_version)
            .bind(environment)
            .fetch_optional(&mut **transaction)
            .await?;
        row.map(|row| rows::integer(&row, "config_version"))
            .transpose()
    }

    async fn set_status(
        &self,
        transaction: &mut Transaction<'static, Any>,
        version: i64,
        status: VersionStatus,
    ) -> Result<(), ApiError> {
        sqlx::query(&self.sql.set_status)
            .bind(version)
            .bind(status.as_str())
            .execute(&mut **transaction)
            .await?;
        Ok(())
    }

    async fn summary_in(
        &self,
        transaction: &mut Transaction<'static, Any>,
        version: i64,
    ) -> Result<VersionSummary, ApiError> {
        let row = sqlx::query(&self.sql.version_summary)
            .bind(version)
            .fetch_one(&mut **transaction)
            .await?;
        rows::version_summary(&row)
    }
}

/// One activation or rollback about to be recorded.
struct Change<'a> {
    environment: &'a str,
    version: i64,
    previous: Option<i64>,
    kind: ActivationKind,
    actor: &'a str,
}
