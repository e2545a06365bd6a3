//! What data planes are served: per environment, the ACTIVE version's snapshot (its config
//! text held once and shared by every response) and a watch that wakes the long-polls waiting
//! on it. A transition through this replica reloads its environment at once; change
//! notifications and a periodic refresh (see `notifications`) cover the other replicas' changes.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::{watch, Mutex};

use crate::error::ApiError;
use crate::store::Store;

/// One environment's published version.
#[derive(Debug)]
pub struct Published {
    pub environment: String,
    pub config_version: i64,
    pub checksum: String,
    pub activated_at: Option<String>,
    /// The configuration's JSON text, shared by every response.
    config: Bytes,
}

/// The snapshot document's fields before `config`, in the wire names of
/// `portcullis_protocol::dataplane::DataPlaneSnapshot`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SnapshotHead<'a> {
    environment: &'a str,
    pool: &'a str,
    config_version: i64,
    checksum: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    activated_at: Option<&'a str>,
}

impl Published {
    /// The `DataPlaneSnapshot` JSON for `pool`, as chunks: a small head, the shared config
    /// text (not copied), and the closing brace.
    pub fn snapshot_chunks(&self, pool: &str) -> [Result<Bytes, Infallible>; 3] {
        let head = SnapshotHead {
            environment: &self.environment,
            pool,
            config_version: self.config_version,
            checksum: &self.checksum,
            activated_at: self.activated_at.as_deref(),
        };
        // The head is an object of plain fields, so serialising it cannot fail; should it
        // ever, the body is still valid JSON without those fields and the data plane refuses
        // it by its checksum.
        let mut head = serde_json::to_string(&head).unwrap_or_else(|_| "{}".into());
        head.pop();
        if head.len() > 1 {
            head.push(',');
        }
        head.push_str("\"config\":");
        [
            Ok(Bytes::from(head)),
            Ok(self.config.clone()),
            Ok(Bytes::from_static(b"}")),
        ]
    }
}

type Slot = watch::Sender<Option<Arc<Published>>>;

/// Every environment's publication on this replica.
#[derive(Debug)]
pub struct Publisher {
    store: Store,
    environments: RwLock<HashMap<String, Slot>>,
    /// One reload at a time, so an older read never overwrites a newer one.
    reloading: Mutex<()>,
}

impl Publisher {
    pub fn new(store: Store) -> Publisher {
        Publisher {
            store,
            environments: RwLock::new(HashMap::new()),
            reloading: Mutex::new(()),
        }
    }

    /// The version assigned to `(environment, pool)`: the one seam of the staged rollout,
    /// which will give the canary pool a candidate. Today every pool gets the ACTIVE version.
    /// `None` when nothing is assigned (or the environment is unknown here).
    pub fn assigned_version(&self, environment: &str, _pool: &str) -> Option<Arc<Published>> {
        let environments = self.environments.read().ok()?;
        let assigned = environments.get(environment)?.borrow().clone();
        assigned
    }

    /// A receiver that changes whenever `environment`'s assignment may have changed; 404 when
    /// the environment does not exist (it is looked up in the store once when unknown here).
    pub async fn subscribe(
        &self,
        environment: &str,
    ) -> Result<watch::Receiver<Option<Arc<Published>>>, ApiError> {
        if let Some(receiver) = self.receiver(environment) {
            return Ok(receiver);
        }
        self.reload(environment).await?;
        self.receiver(environment)
            .ok_or_else(|| ApiError::environment_not_found(environment))
    }

    /// How many long-polls wait on `environment` right now.
    pub fn waiting(&self, environment: &str) -> usize {
        self.environments
            .read()
            .ok()
            .and_then(|environments| {
                environments
                    .get(environment)
                    .map(watch::Sender::receiver_count)
            })
            .unwrap_or(0)
    }

    fn receiver(&self, environment: &str) -> Option<watch::Receiver<Option<Arc<Published>>>> {
        let environments = self.environments.read().ok()?;
        environments.get(environment).map(watch::Sender::subscribe)
    }

    /// Re-reads `environment`'s ACTIVE version and wakes its long-polls when it changed.
    /// An environment that does not exist is answered 404 and not kept.
    pub async fn reload(&self, environment: &str) -> Result<(), ApiError> {
        let _one_at_a_time = self.reloading.lock().await;
        let current = self.store.environment(environment).await?;
        let head = current.active_version.zip(current.active_checksum);
        let unchanged =
            self.assigned_version(environment, "")
                .map_or(head.is_none(), |published| {
                    head.as_ref() == Some(&(published.config_version, published.checksum.clone()))
                });
        if unchanged && self.receiver(environment).is_some() {
            return Ok(());
        }
        let published = match head {
            None => None,
            Some(_) => self.store.active_published(environment).await?.map(|row| {
                Arc::new(Published {
                    environment: environment.to_string(),
                    config_version: row.config_version,
                    checksum: row.checksum,
                    activated_at: row.activated_at,
                    config: Bytes::from(row.config),
                })
            }),
        };
        if let Some(published) = &published {
            tracing::info!(
                environment,
                config_version = published.config_version,
                checksum = %published.checksum,
                "publishing config version"
            );
        }
        let mut environments = self
            .environments
            .write()
            .map_err(|_| ApiError::internal("the publication table is poisoned"))?;
        match environments.get(environment) {
            Some(slot) => {
                slot.send_replace(published);
            }
            None => {
                environments.insert(environment.to_string(), watch::Sender::new(published));
            }
        }
        Ok(())
    }

    /// Reloads every environment in the store (at start, after a reconnection, and as the
    /// periodic safety net).
    pub async fn reload_all(&self) -> Result<(), ApiError> {
        for environment in self.store.environment_names().await? {
            self.reload(&environment).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_protocol::dataplane::DataPlaneSnapshot;

    #[test]
    fn the_chunks_are_one_snapshot_document() {
        for activated_at in [Some("2026-04-08T10:15:30.123Z".to_string()), None] {
            let published = Published {
                environment: "production".into(),
                config_version: 7,
                checksum: "sha256:ab".into(),
                activated_at: activated_at.clone(),
                config: Bytes::from_static(br#"{"routes": [], "x": "\"quoted\""}"#),
            };
            let body: Vec<u8> = published
                .snapshot_chunks("canary \"pool\"")
                .into_iter()
                .flat_map(|chunk| chunk.map(|bytes| bytes.to_vec()).unwrap_or_default())
                .collect();
            let snapshot: DataPlaneSnapshot = serde_json::from_slice(&body).expect("valid");
            assert_eq!(
                snapshot,
                DataPlaneSnapshot {
                    environment: "production".into(),
                    pool: "canary \"pool\"".into(),
                    config_version: 7,
                    checksum: "sha256:ab".into(),
                    activated_at,
                    config: serde_json::json!({"routes": [], "x": "\"quoted\""}),
                }
            );
        }
    }
}
