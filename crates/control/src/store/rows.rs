//! Rows into the wire types. A row the schema's constraints should have made impossible (an
//! unknown status, JSON that does not parse) is an internal error naming the column.

use portcullis_protocol::admin::{
    Activation, ActivationKind, AuditEntry, Environment, Role, TokenInfo, VersionStatus,
    VersionSummary,
};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::ApiError;

pub fn text(row: &AnyRow, column: &str) -> Result<String, ApiError> {
    Ok(row.try_get::<String, _>(column)?)
}

pub fn optional_text(row: &AnyRow, column: &str) -> Result<Option<String>, ApiError> {
    Ok(row.try_get::<Option<String>, _>(column)?)
}

pub fn integer(row: &AnyRow, column: &str) -> Result<i64, ApiError> {
    Ok(row.try_get::<i64, _>(column)?)
}

pub fn optional_integer(row: &AnyRow, column: &str) -> Result<Option<i64>, ApiError> {
    Ok(row.try_get::<Option<i64>, _>(column)?)
}

pub fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T, ApiError> {
    let text = text(row, column)?;
    serde_json::from_str(&text).map_err(|error| corrupt(column, error))
}

pub fn optional_json<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    column: &str,
) -> Result<Option<T>, ApiError> {
    optional_text(row, column)?
        .map(|text| serde_json::from_str(&text).map_err(|error| corrupt(column, error)))
        .transpose()
}

pub fn status(row: &AnyRow) -> Result<VersionStatus, ApiError> {
    let stored = text(row, "status")?;
    VersionStatus::parse(&stored).ok_or_else(|| corrupt("status", stored))
}

pub fn role(row: &AnyRow) -> Result<Role, ApiError> {
    let stored = text(row, "role")?;
    Role::parse(&stored).ok_or_else(|| corrupt("role", stored))
}

pub fn version_summary(row: &AnyRow) -> Result<VersionSummary, ApiError> {
    Ok(VersionSummary {
        config_version: integer(row, "config_version")?,
        environment: text(row, "environment")?,
        status: status(row)?,
        checksum: text(row, "checksum")?,
        created_by: text(row, "created_by")?,
        created_at: text(row, "created_at")?,
        activated_at: optional_text(row, "activated_at")?,
        parent_version: optional_integer(row, "parent_version")?,
        message: text(row, "message")?,
    })
}

pub fn environment(row: &AnyRow) -> Result<Environment, ApiError> {
    Ok(Environment {
        name: text(row, "name")?,
        created_at: text(row, "created_at")?,
        created_by: text(row, "created_by")?,
        active_version: optional_integer(row, "active_version")?,
        active_checksum: optional_text(row, "active_checksum")?,
        activated_at: optional_text(row, "activated_at")?,
    })
}

pub fn activation(row: &AnyRow) -> Result<Activation, ApiError> {
    let kind = match text(row, "kind")?.as_str() {
        "activate" => ActivationKind::Activate,
        "rollback" => ActivationKind::Rollback,
        other => return Err(corrupt("kind", other)),
    };
    Ok(Activation {
        environment: text(row, "environment")?,
        config_version: integer(row, "config_version")?,
        previous_version: optional_integer(row, "previous_version")?,
        kind,
        activated_at: text(row, "at")?,
        actor: text(row, "actor")?,
    })
}

pub fn audit_entry(row: &AnyRow) -> Result<AuditEntry, ApiError> {
    Ok(AuditEntry {
        id: integer(row, "id")?,
        at: text(row, "at")?,
        actor: text(row, "actor")?,
        action: text(row, "action")?,
        outcome: text(row, "outcome")?,
        environment: optional_text(row, "environment")?,
        config_version: optional_integer(row, "config_version")?,
        detail: json(row, "detail")?,
    })
}

pub fn token_info(row: &AnyRow) -> Result<TokenInfo, ApiError> {
    Ok(TokenInfo {
        id: integer(row, "id")?,
        name: text(row, "name")?,
        role: role(row)?,
        created_at: text(row, "created_at")?,
        created_by: text(row, "created_by")?,
        revoked_at: optional_text(row, "revoked_at")?,
    })
}

fn corrupt(column: &str, what: impl std::fmt::Display) -> ApiError {
    tracing::error!(column, %what, "the store holds a value its schema should refuse");
    ApiError::internal(format!(
        "the store holds an unreadable {column} value; see the control plane's log"
    ))
}
