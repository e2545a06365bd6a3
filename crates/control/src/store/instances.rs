//! The instance registry: the last heartbeat of each data plane, and refusals in the audit log.

use std::time::Duration;

use portcullis_protocol::admin::{Instance, InstanceState};
use portcullis_protocol::dataplane::{Heartbeat, Refusal};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{rows, NewAudit, Store};
use crate::error::ApiError;

/// How long after its last heartbeat an instance shows as stale: three missed intervals.
pub fn stale_after(heartbeat_interval: Duration) -> Duration {
    heartbeat_interval.saturating_mul(3)
}

/// Live or stale, from the last heartbeat's time and now.
fn state_of(last_seen_at: &str, now: OffsetDateTime, interval: Duration) -> InstanceState {
    let Ok(last_seen) = OffsetDateTime::parse(last_seen_at, &Rfc3339) else {
        return InstanceState::Stale;
    };
    let silence = now - last_seen;
    if silence <= time::Duration::try_from(stale_after(interval)).unwrap_or(time::Duration::MAX) {
        InstanceState::Live
    } else {
        InstanceState::Stale
    }
}

/// True when `refusal` is one the instance had not reported before (a new checksum).
fn is_new_refusal(previous: Option<&Refusal>, refusal: &Refusal) -> bool {
    previous.is_none_or(|previous| previous.checksum != refusal.checksum)
}

impl Store {
    /// Upserts the instance's row; a refusal not reported before also goes into the audit log
    /// (actor: the instance). Returns when the heartbeat was recorded.
    pub async fn record_heartbeat(&self, heartbeat: &Heartbeat) -> Result<String, ApiError> {
        let mut transaction = self.begin().await?;
        self.require_environment(&mut transaction, &heartbeat.environment)
            .await?;
        let previous = sqlx::query(&self.sql.instance_refusal)
            .bind(heartbeat.instance_id.as_str())
            .fetch_optional(&mut *transaction)
            .await?
            .map(|row| rows::optional_json::<Refusal>(&row, "refusal"))
            .transpose()?
            .flatten();
        let row = sqlx::query(&self.sql.upsert_instance)
            .bind(heartbeat.instance_id.as_str())
            .bind(heartbeat.environment.as_str())
            .bind(heartbeat.pool.as_str())
            .bind(heartbeat.started_at.as_str())
            .bind(heartbeat.agent_version.as_str())
            .bind(json_text(&heartbeat.loaded))
            .bind(json_text(&heartbeat.refusal))
            .bind(serde_json::to_string(&heartbeat.routes).ok())
            .fetch_one(&mut *transaction)
            .await?;
        let received_at = rows::text(&row, "last_seen_at")?;
        if let Some(refusal) = &heartbeat.refusal {
            if is_new_refusal(previous.as_ref(), refusal) {
                let entry = NewAudit::ok(&heartbeat.instance_id, "dataplane.refusal")
                    .environment(&heartbeat.environment)
                    .version(refusal.config_version)
                    .outcome(super::Outcome::Failed)
                    .detail(serde_json::json!({
                        "pool": heartbeat.pool,
                        "checksum": refusal.checksum,
                        "errors": refusal.errors,
                        "at": refusal.at,
                    }));
                self.write_audit(&mut *transaction, &entry).await?;
            }
        }
        transaction.commit().await?;
        Ok(received_at)
    }

    pub async fn instances(
        &self,
        environment: Option<&str>,
        heartbeat_interval: Duration,
    ) -> Result<Vec<Instance>, ApiError> {
        if let Some(environment) = environment {
            self.environment(environment).await?;
        }
        let found = sqlx::query(&self.sql.instances)
            .bind(environment.map(str::to_string))
            .fetch_all(&self.pool)
            .await?;
        let now = OffsetDateTime::now_utc();
        found
            .iter()
            .map(|row| {
                let last_seen_at = rows::text(row, "last_seen_at")?;
                Ok(Instance {
                    instance_id: rows::text(row, "instance_id")?,
                    environment: rows::text(row, "environment")?,
                    pool: rows::text(row, "pool")?,
                    state: state_of(&last_seen_at, now, heartbeat_interval),
                    started_at: rows::text(row, "started_at")?,
                    last_seen_at,
                    agent_version: rows::text(row, "agent_version")?,
                    loaded: rows::optional_json(row, "loaded")?,
                    refusal: rows::optional_json(row, "refusal")?,
                })
            })
            .collect()
    }
}

/// An optional wire value as the JSON text a column takes (NULL when absent).
fn json_text<T: serde::Serialize>(value: &Option<T>) -> Option<String> {
    value
        .as_ref()
        .and_then(|value| serde_json::to_string(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_is_stale_after_three_missed_heartbeats() {
        let now = OffsetDateTime::parse("2026-04-08T10:00:30.000Z", &Rfc3339).expect("time");
        let interval = Duration::from_secs(5);
        let cases = [
            ("2026-04-08T10:00:29.000Z", InstanceState::Live),
            ("2026-04-08T10:00:15.000Z", InstanceState::Live),
            ("2026-04-08T10:00:14.999Z", InstanceState::Stale),
            ("not a time", InstanceState::Stale),
        ];
        for (last_seen, state) in cases {
            assert_eq!(state_of(last_seen, now, interval), state, "{last_seen}");
        }
    }

    #[test]
    fn only_a_refusal_of_another_checksum_is_new() {
        let refusal = |checksum: &str| Refusal {
            config_version: 3,
            checksum: checksum.into(),
            errors: vec!["routes[0]: bad".into()],
            at: "2026-04-08T10:00:00.000Z".into(),
        };
        assert!(is_new_refusal(None, &refusal("sha256:a")));
        assert!(!is_new_refusal(
            Some(&refusal("sha256:a")),
            &refusal("sha256:a")
        ));
        assert!(is_new_refusal(
            Some(&refusal("sha256:a")),
            &refusal("sha256:b")
        ));
    }
}
