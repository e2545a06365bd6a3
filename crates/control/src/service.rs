//! The operations the admin API offers, over the store and the publication: checks first
//! (validation runs outside any transaction), then one store transaction, then the
//! publication of what changed. Refused changes are written to the audit log.

use std::sync::Arc;
use std::time::Duration;

use portcullis_protocol::admin::{
    Activation, ActivationRequest, ConfigIssue, PushVersion, ValidationReport, VersionDiff,
    VersionStatus, VersionSummary,
};
use portcullis_protocol::dataplane::{Heartbeat, HeartbeatAck};

use crate::error::ApiError;
use crate::publication::Publisher;
use crate::store::{NewAudit, Store};
use crate::{diff, lifecycle, names, offload, validation};

/// The control plane's operations (shared by every request).
#[derive(Debug)]
pub struct ControlService {
    store: Store,
    publisher: Arc<Publisher>,
    heartbeat_interval: Duration,
}

impl ControlService {
    pub fn new(store: Store, publisher: Arc<Publisher>, heartbeat_interval: Duration) -> Self {
        ControlService {
            store,
            publisher,
            heartbeat_interval,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn publisher(&self) -> &Arc<Publisher> {
        &self.publisher
    }

    pub fn heartbeat_interval(&self) -> Duration {
        self.heartbeat_interval
    }

    /// Push → DRAFT. Invalid → 422 with every error, nothing stored.
    pub async fn push(
        &self,
        environment: &str,
        request: PushVersion,
        actor: &str,
    ) -> Result<VersionSummary, ApiError> {
        self.store.environment(environment).await?;
        let PushVersion { config, message } = request;
        let message = message.unwrap_or_default();
        let audit = || NewAudit::ok(actor, "version.push").environment(environment);
        let checked_message = message.clone();
        let checked = offload::checked_off_runtime(move || {
            check_push_input(&config, &checked_message).and_then(|()| {
                validation::check_document(&config).map_err(ApiError::invalid_config)
            })
        })
        .await
        .and_then(|checked| checked);
        let checked = match checked {
            Ok(checked) => checked,
            Err(error) => return Err(self.refused(audit(), error).await),
        };
        self.store
            .push(crate::store::NewVersion {
                environment,
                document: &checked.text,
                checksum: &checked.checked.checksum,
                created_by: actor,
                message: &message,
            })
            .await
    }

    /// Validation and compile dry-run → VALIDATED, or 422 with every error.
    pub async fn validate(&self, version: i64, actor: &str) -> Result<ValidationReport, ApiError> {
        let stored = self.store.version(version).await?;
        let environment = stored.summary.environment;
        let audit = || {
            NewAudit::ok(actor, "version.validate")
                .environment(&environment)
                .version(version)
        };
        let checked = match lifecycle::validate_step(version, stored.summary.status) {
            Ok(_) => check_for_activation(stored.config).await,
            Err(error) => Err(error),
        };
        let checked = match checked {
            Ok(checked) => checked,
            Err(error) => return Err(self.refused(audit(), error).await),
        };
        let summary = match self.store.mark_validated(version, actor).await {
            Ok(summary) => summary,
            Err(error) => return Err(self.refused(audit(), error).await),
        };
        Ok(ValidationReport {
            version: summary,
            warnings: checked.warnings,
            routes: checked.routes,
            services: checked.services,
        })
    }

    /// VALIDATED → ACTIVE (re-validated first), then published.
    pub async fn activate(
        &self,
        version: i64,
        request: &ActivationRequest,
        actor: &str,
    ) -> Result<Activation, ApiError> {
        let stored = self.store.version(version).await?;
        let environment = stored.summary.environment.clone();
        let audit = || {
            NewAudit::ok(actor, "version.activate")
                .environment(&environment)
                .version(version)
        };
        // Refuse the statuses that can never activate before paying for validation; the
        // transaction decides again under the environment's lock.
        let checked = match stored.summary.status {
            VersionStatus::Validated => Ok(()),
            status => lifecycle::check_activation(version, status, None, None),
        };
        let checked = match checked {
            Ok(()) => check_for_activation(stored.config).await.map(|_| ()),
            Err(error) => Err(error),
        };
        if let Err(error) = checked {
            return Err(self.refused(audit(), error).await);
        }
        let outcome = self
            .store
            .activate(version, request.expected_active_version, actor)
            .await;
        self.published(outcome, &environment, audit).await
    }

    /// The ACTIVE version → ROLLED_BACK, the previous one ACTIVE again, then published.
    pub async fn rollback(
        &self,
        environment: &str,
        request: &ActivationRequest,
        actor: &str,
    ) -> Result<Activation, ApiError> {
        let audit = || NewAudit::ok(actor, "environment.rollback").environment(environment);
        let outcome = self
            .store
            .rollback(environment, request.expected_active_version, actor)
            .await;
        self.published(outcome, environment, audit).await
    }

    pub async fn diff(&self, from: i64, to: i64) -> Result<VersionDiff, ApiError> {
        let old = self.store.version(from).await?;
        let new = self.store.version(to).await?;
        Ok(diff::diff(from, &old.config, to, &new.config))
    }

    pub async fn heartbeat(&self, heartbeat: &Heartbeat) -> Result<HeartbeatAck, ApiError> {
        check_heartbeat(heartbeat)?;
        let received_at = self.store.record_heartbeat(heartbeat).await?;
        Ok(HeartbeatAck {
            received_at,
            heartbeat_interval_seconds: self.heartbeat_interval.as_secs(),
        })
    }

    /// After a transition: publish on success (this replica at once; the others hear the
    /// notification), audit a refusal.
    async fn published<'a>(
        &self,
        outcome: Result<Activation, ApiError>,
        environment: &str,
        audit: impl FnOnce() -> NewAudit<'a>,
    ) -> Result<Activation, ApiError> {
        match outcome {
            Ok(activation) => {
                if let Err(error) = self.publisher.reload(environment).await {
                    // Committed: the refresh publishes it shortly even if this read failed.
                    tracing::warn!(environment, %error, "publishing the new version failed; the periodic refresh will");
                }
                Ok(activation)
            }
            Err(error) => Err(self.refused(audit(), error).await),
        }
    }

    /// Audits a refusal (409, 422) and hands the error back; other errors are not refusals.
    async fn refused(&self, entry: NewAudit<'_>, error: ApiError) -> ApiError {
        if matches!(error.status.as_u16(), 409 | 422) {
            let detail = serde_json::json!({
                "code": error.code,
                "detail": error.detail,
                "errors": error.errors,
            });
            self.store.audit_refusal(entry.detail(detail)).await;
        }
        error
    }
}

/// The checks validation and activation run, off the runtime; 422 with every error.
async fn check_for_activation(
    config: serde_json::Value,
) -> Result<validation::CheckedConfig, ApiError> {
    offload::checked_off_runtime(move || validation::check_for_activation(&config))
        .await?
        .map_err(ApiError::invalid_config)
}

/// What the store cannot keep, refused the same way on both backends.
fn check_push_input(config: &serde_json::Value, message: &str) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if let Err(reason) = names::check_message(message) {
        errors.push(ConfigIssue {
            path: "message".into(),
            message: reason,
        });
    }
    if let Some(path) = names::find_nul(config) {
        errors.push(ConfigIssue {
            path,
            message: "contains a NUL character (U+0000), which the store cannot keep; remove it"
                .into(),
        });
    }
    if !config.is_object() {
        errors.push(ConfigIssue {
            path: String::new(),
            message: "config must be a JSON object (the same shape as a gateway YAML file)".into(),
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid_config(errors))
    }
}

fn check_heartbeat(heartbeat: &Heartbeat) -> Result<(), ApiError> {
    let mut errors = Vec::new();
    if heartbeat.instance_id.trim().is_empty() {
        errors.push(ConfigIssue {
            path: "instanceId".into(),
            message: "instanceId is empty; send the data plane's stable instance id".into(),
        });
    }
    if heartbeat.pool.trim().is_empty() {
        errors.push(ConfigIssue {
            path: "pool".into(),
            message: "pool is empty; send `default` when the data plane names none".into(),
        });
    }
    if let Some(path) = serde_json::to_value(heartbeat)
        .ok()
        .as_ref()
        .and_then(names::find_nul)
    {
        errors.push(ConfigIssue {
            path,
            message: "contains a NUL character (U+0000), which the store cannot keep".into(),
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError {
            code: "invalid_heartbeat",
            detail: "the heartbeat is invalid; see `errors`".into(),
            ..ApiError::invalid_config(errors)
        })
    }
}
