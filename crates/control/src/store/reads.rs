//! What the API reads: environments, versions, the activation history and the audit log,
//! newest first with `before`/`limit` paging.

use portcullis_protocol::admin::{
    Activation, AuditEntry, AuditPage, Environment, PageQuery, Version, VersionPage, VersionSummary,
};

use super::{rows, Store};
use crate::error::ApiError;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

/// The ACTIVE version of an environment as the publication needs it.
#[derive(Debug, Clone)]
pub struct PublishedRow {
    pub config_version: i64,
    pub checksum: String,
    pub activated_at: Option<String>,
    /// The stored JSON text of the configuration.
    pub config: String,
}

/// `(limit, before)` of a page query: the limit clamped to 1..=500, `before` defaulting to
/// "newest".
fn page_bounds(page: &PageQuery) -> (i64, i64) {
    let limit = page.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE);
    (i64::from(limit), page.before.unwrap_or(i64::MAX))
}

/// Splits one extra row off a page fetched with `limit + 1`: the next page starts before the
/// last entry kept.
fn paged<T>(mut items: Vec<T>, limit: i64, id: impl Fn(&T) -> i64) -> (Vec<T>, Option<i64>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if items.len() > limit {
        items.truncate(limit);
        let next = items.last().map(id);
        (items, next)
    } else {
        (items, None)
    }
}

impl Store {
    pub async fn environments(&self) -> Result<Vec<Environment>, ApiError> {
        let found = sqlx::query(&self.sql.environments)
            .fetch_all(&self.pool)
            .await?;
        found.iter().map(rows::environment).collect()
    }

    pub async fn environment(&self, name: &str) -> Result<Environment, ApiError> {
        let found = sqlx::query(&self.sql.environment)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        match found {
            Some(row) => rows::environment(&row),
            None => Err(ApiError::environment_not_found(name)),
        }
    }

    pub async fn environment_names(&self) -> Result<Vec<String>, ApiError> {
        let found = sqlx::query(&self.sql.environment_names)
            .fetch_all(&self.pool)
            .await?;
        found.iter().map(|row| rows::text(row, "name")).collect()
    }

    pub async fn versions(
        &self,
        environment: &str,
        page: &PageQuery,
    ) -> Result<VersionPage, ApiError> {
        // 404 for an unknown environment rather than an empty page.
        self.environment(environment).await?;
        let (limit, before) = page_bounds(page);
        let found = sqlx::query(&self.sql.versions_page)
            .bind(environment)
            .bind(before)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let summaries = found
            .iter()
            .map(rows::version_summary)
            .collect::<Result<Vec<_>, _>>()?;
        let (versions, next_before) = paged(summaries, limit, |summary: &VersionSummary| {
            summary.config_version
        });
        Ok(VersionPage {
            versions,
            next_before,
        })
    }

    pub async fn version(&self, version: i64) -> Result<Version, ApiError> {
        let found = sqlx::query(&self.sql.version)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?;
        let row = found.ok_or_else(|| ApiError::version_not_found(version))?;
        Ok(Version {
            summary: rows::version_summary(&row)?,
            config: rows::json(&row, "config")?,
        })
    }

    pub async fn activations(
        &self,
        environment: &str,
        page: &PageQuery,
    ) -> Result<Vec<Activation>, ApiError> {
        self.environment(environment).await?;
        let (limit, before) = page_bounds(page);
        let found = sqlx::query(&self.sql.activations_page)
            .bind(environment)
            .bind(before)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        found.iter().map(rows::activation).collect()
    }

    pub async fn audit(
        &self,
        environment: Option<&str>,
        page: &PageQuery,
    ) -> Result<AuditPage, ApiError> {
        let (limit, before) = page_bounds(page);
        let found = sqlx::query(&self.sql.audit_page)
            .bind(before)
            .bind(environment.map(str::to_string))
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let entries = found
            .iter()
            .map(rows::audit_entry)
            .collect::<Result<Vec<_>, _>>()?;
        let (entries, next_before) = paged(entries, limit, |entry: &AuditEntry| entry.id);
        Ok(AuditPage {
            entries,
            next_before,
        })
    }

    /// The environment's ACTIVE version with its stored JSON, if any.
    pub async fn active_published(
        &self,
        environment: &str,
    ) -> Result<Option<PublishedRow>, ApiError> {
        let found = sqlx::query(&self.sql.active_published)
            .bind(environment)
            .fetch_optional(&self.pool)
            .await?;
        found
            .map(|row| {
                Ok(PublishedRow {
                    config_version: rows::integer(&row, "config_version")?,
                    checksum: rows::text(&row, "checksum")?,
                    activated_at: rows::optional_text(&row, "activated_at")?,
                    config: rows::text(&row, "config")?,
                })
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_clamped_and_split() {
        assert_eq!(page_bounds(&PageQuery::default()), (50, i64::MAX));
        assert_eq!(
            page_bounds(&PageQuery {
                limit: Some(0),
                before: Some(9)
            }),
            (1, 9)
        );
        assert_eq!(
            page_bounds(&PageQuery {
                limit: Some(10_000),
                before: None
            })
            .0,
            500
        );
        assert_eq!(paged(vec![9, 8, 7], 2, |id| *id), (vec![9, 8], Some(8)));
        assert_eq!(paged(vec![9, 8], 2, |id| *id), (vec![9, 8], None));
    }
}
