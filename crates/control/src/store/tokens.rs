//! API tokens, stored as hashes with a role.

use portcullis_protocol::admin::{Role, TokenInfo};

use super::{rows, NewAudit, Store};
use crate::error::ApiError;

/// A token found by its hash.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub info: TokenInfo,
}

impl TokenRecord {
    pub fn revoked(&self) -> bool {
        self.info.revoked_at.is_some()
    }
}

impl Store {
    /// Stores a new token's hash; the caller shows the token itself once.
    pub async fn create_token(
        &self,
        name: &str,
        role: Role,
        token_hash: &str,
        created_by: &str,
    ) -> Result<TokenInfo, ApiError> {
        let mut transaction = self.begin().await?;
        let row = sqlx::query(&self.sql.insert_token)
            .bind(name)
            .bind(role.as_str())
            .bind(token_hash)
            .bind(created_by)
            .fetch_one(&mut *transaction)
            .await?;
        let info = rows::token_info(&row)?;
        let entry = NewAudit::ok(created_by, "token.create").detail(serde_json::json!({
            "tokenId": info.id,
            "name": info.name,
            "role": role.as_str(),
        }));
        self.write_audit(&mut *transaction, &entry).await?;
        transaction.commit().await?;
        Ok(info)
    }

    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<TokenRecord>, ApiError> {
        let found = sqlx::query(&self.sql.token_by_hash)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        found
            .map(|row| {
                Ok(TokenRecord {
                    info: rows::token_info(&row)?,
                })
            })
            .transpose()
    }

    pub async fn tokens(&self) -> Result<Vec<TokenInfo>, ApiError> {
        let found = sqlx::query(&self.sql.tokens).fetch_all(&self.pool).await?;
        found.iter().map(rows::token_info).collect()
    }

    pub async fn usable_admin_tokens(&self) -> Result<i64, ApiError> {
        let row = sqlx::query(&self.sql.usable_admin_tokens)
            .fetch_one(&self.pool)
            .await?;
        rows::integer(&row, "usable")
    }

    /// Revokes a token (revoking a revoked one changes nothing). The last usable admin token
    /// cannot be revoked: nobody could manage tokens any more.
    pub async fn revoke_token(&self, id: i64, actor: &str) -> Result<TokenInfo, ApiError> {
        let mut transaction = self.begin().await?;
        sqlx::query(self.sql.lock_tokens)
            .execute(&mut *transaction)
            .await?;
        let row = sqlx::query(&self.sql.token_by_id)
            .bind(id)
            .fetch_optional(&mut *transaction)
            .await?
            .ok_or_else(|| {
                ApiError::not_found(
                    "token_not_found",
                    format!("token {id} does not exist; GET /v1/tokens lists them"),
                )
            })?;
        let token = rows::token_info(&row)?;
        if token.revoked_at.is_some() {
            return Ok(token);
        }
        if token.role == Role::Admin {
            let usable = sqlx::query(&self.sql.usable_admin_tokens)
                .fetch_one(&mut *transaction)
                .await?;
            if rows::integer(&usable, "usable")? <= 1 {
                return Err(ApiError::conflict(
                    "last_admin_token",
                    format!(
                        "token {id} is the last usable admin token; create another admin token first"
                    ),
                ));
            }
        }
        sqlx::query(&self.sql.revoke_token)
            .bind(id)
            .execute(&mut *transaction)
            .await?;
        let entry = NewAudit::ok(actor, "token.revoke").detail(serde_json::json!({
            "tokenId": id,
            "name": token.name,
        }));
        self.write_audit(&mut *transaction, &entry).await?;
        let row = sqlx::query(&self.sql.token_by_id)
            .bind(id)
            .fetch_one(&mut *transaction)
            .await?;
        let revoked = rows::token_info(&row)?;
        transaction.commit().await?;
        Ok(revoked)
    }
}
