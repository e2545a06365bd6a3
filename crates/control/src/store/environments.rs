//! Environments: created at start from the settings, or by an admin.

use super::{NewAudit, Store};
use crate::error::ApiError;

impl Store {
    /// Creates `name` unless it exists; true when it was created.
    pub async fn ensure_environment(&self, name: &str, created_by: &str) -> Result<bool, ApiError> {
        let mut transaction = self.begin().await?;
        let created = sqlx::query(&self.sql.insert_environment)
            .bind(name)
            .bind(created_by)
            .execute(&mut *transaction)
            .await?
            .rows_affected()
            == 1;
        if created {
            let entry = NewAudit::ok(created_by, "environment.create").environment(name);
            self.write_audit(&mut *transaction, &entry).await?;
        }
        transaction.commit().await?;
        Ok(created)
    }

    /// An admin's request: 409 when the environment exists.
    pub async fn create_environment(&self, name: &str, created_by: &str) -> Result<(), ApiError> {
        if self.ensure_environment(name, created_by).await? {
            Ok(())
        } else {
            Err(ApiError::conflict(
                "environment_exists",
                format!("environment {name:?} already exists"),
            ))
        }
    }
}
