//! The operators' API (`/v1/...` except `/v1/dataplane/...`): environments, config versions and
//! their lifecycle, instances, the audit log and API tokens. Every error is an RFC 9457
//! [`Problem`] (`application/problem+json`).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A config version's place in its lifecycle (the store's `status` column).
///
/// DRAFT (pushed) → VALIDATED → ACTIVE; an ACTIVE version that another one replaces goes back
/// to VALIDATED (it can be activated again); a rollback marks the active version ROLLED_BACK
/// and re-activates the one before it. ROLLED_BACK is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum VersionStatus {
    Draft,
    Validated,
    Active,
    RolledBack,
}

impl VersionStatus {
    /// The value stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionStatus::Draft => "DRAFT",
            VersionStatus::Validated => "VALIDATED",
            VersionStatus::Active => "ACTIVE",
            VersionStatus::RolledBack => "ROLLED_BACK",
        }
    }

    pub fn parse(text: &str) -> Option<VersionStatus> {
        [
            VersionStatus::Draft,
            VersionStatus::Validated,
            VersionStatus::Active,
            VersionStatus::RolledBack,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// What a token may do. `viewer` reads; `operator` also pushes, validates, activates and rolls
/// back; `admin` also manages tokens and environments; `dataplane` only fetches snapshots and
/// sends heartbeats (and can do nothing else).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Operator,
    Admin,
    Dataplane,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Dataplane => "dataplane",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        [Role::Viewer, Role::Operator, Role::Admin, Role::Dataplane]
            .into_iter()
            .find(|role| role.as_str() == text)
    }

    /// True when a token of this role may call an endpoint that needs `required`.
    /// The operator roles nest (viewer ⊂ operator ⊂ admin); `dataplane` stands apart.
    pub fn allows(self, required: Role) -> bool {
        fn rank(role: Role) -> Option<u8> {
            match role {
                Role::Viewer => Some(1),
                Role::Operator => Some(2),
                Role::Admin => Some(3),
                Role::Dataplane => None,
            }
        }
        match (rank(self), rank(required)) {
            (Some(held), Some(needed)) => held >= needed,
            (None, None) => true,
            _ => false,
        }
    }
}

/// RFC 9457 problem document: every error the API answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// `https://portcullis.dev/problems/<code>`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    /// Stable machine-readable code (`version_not_found`, `invalid_config`, ...).
    pub code: String,
    /// What happened and what to do about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Every validation error, when the problem is an invalid configuration (422).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ConfigIssue>,
}

/// One validation error or warning, with the field path it is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigIssue {
    /// Such as `routes[3].policies.timeoutMs`; empty for the whole document.
    pub path: String,
    pub message: String,
}

/// An environment: a fleet of data planes that serve one active configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    pub name: String,
    pub created_at: String,
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_version: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_checksum: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentList {
    pub environments: Vec<Environment>,
}

/// Body of `POST /v1/environments`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateEnvironment {
    /// kebab-case: lower-case letters, digits and `-`.
    pub name: String,
}

/// Body of `POST /v1/environments/{environment}/versions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PushVersion {
    /// The configuration document, the same shape as a gateway YAML file.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// Why this change (shown in listings and the audit log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A config version without its document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionSummary {
    pub config_version: i64,
    pub environment: String,
    pub status: VersionStatus,
    pub checksum: String,
    /// The name of the token that pushed it.
    pub created_by: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activated_at: Option<String>,
    /// The environment's ACTIVE version when this one was pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_version: Option<i64>,
    pub message: String,
}

/// A config version with its document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    #[serde(flatten)]
    pub summary: VersionSummary,
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
}

/// One page of versions, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionPage {
    pub versions: Vec<VersionSummary>,
    /// Pass as `before` to get the next (older) page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

/// Paging of lists that are newest first (`?limit=&before=`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema, IntoParams,
)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Most entries on the page (default 50, at most 500).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Only entries older than this id (the previous page's `nextBefore`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<i64>,
}

/// The outcome of `POST /v1/versions/{version}/validate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidationReport {
    pub version: VersionSummary,
    /// Problems that do not stop the configuration from loading.
    pub warnings: Vec<ConfigIssue>,
    pub routes: u64,
    pub services: u64,
}

/// Body of `POST /v1/versions/{version}/activate` and `POST /v1/environments/{e}/rollback`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActivationRequest {
    /// Refuse (409) unless this is the environment's ACTIVE version when the change commits
    /// (0: unless no version is active). Tools set it to what the operator saw, so two
    /// operators deciding at once cannot both win.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_active_version: Option<i64>,
}

/// What an activation or a rollback did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Activation {
    pub environment: String,
    /// The version now ACTIVE.
    pub config_version: i64,
    /// The version that was ACTIVE before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_version: Option<i64>,
    pub kind: ActivationKind,
    pub activated_at: String,
    /// The token that made the change.
    pub actor: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum ActivationKind {
    Activate,
    Rollback,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivationHistory {
    pub activations: Vec<Activation>,
}

/// `GET /v1/versions/{from}/diff/{to}`: what changed from `from` to `to`, as JSON paths.
/// Arrays of objects with unique `name`s (routes, listeners) are matched by name
/// (`routes[name=checkout-orders].policies.timeoutMs`), other arrays by index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionDiff {
    pub from: i64,
    pub to: i64,
    pub added: Vec<DiffValue>,
    pub removed: Vec<DiffValue>,
    pub changed: Vec<DiffChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiffValue {
    pub path: String,
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DiffChange {
    pub path: String,
    #[schema(value_type = Object)]
    pub from: serde_json::Value,
    #[schema(value_type = Object)]
    pub to: serde_json::Value,
}

/// A data plane as the control plane last heard of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub instance_id: String,
    pub environment: String,
    pub pool: String,
    pub state: InstanceState,
    pub started_at: String,
    pub last_seen_at: String,
    pub agent_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loaded: Option<crate::dataplane::LoadedConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<crate::dataplane::Refusal>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum InstanceState {
    /// Heard from within three heartbeat intervals.
    Live,
    Stale,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceList {
    pub instances: Vec<Instance>,
}

/// One audit-log entry: who did what, when, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    /// `version.push`, `version.validate`, `version.activate`, `environment.rollback`,
    /// `environment.create`, `token.create`, `token.revoke`, `dataplane.refusal`, ...
    pub action: String,
    /// `ok`, `refused` (the request was turned down) or `failed`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_version: Option<i64>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

/// An API token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub created_at: String,
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenList {
    pub tokens: Vec<TokenInfo>,
}

/// Body of `POST /v1/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateToken {
    /// Who or what holds the token; recorded as `created_by` of what it pushes.
    pub name: String,
    pub role: Role,
}

/// A new token: the secret is shown here once and never again (only its hash is stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    pub token: String,
}

/// `GET /v1/whoami`: the calling token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhoAmI {
    pub name: String,
    pub role: Role,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_nest_and_dataplane_stands_apart() {
        use Role::*;
        let cases = [
            (Viewer, Viewer, true),
            (Viewer, Operator, false),
            (Operator, Viewer, true),
            (Operator, Operator, true),
            (Operator, Admin, false),
            (Admin, Operator, true),
            (Admin, Dataplane, false),
            (Dataplane, Viewer, false),
            (Dataplane, Dataplane, true),
            (Viewer, Dataplane, false),
        ];
        for (held, needed, allowed) in cases {
            assert_eq!(held.allows(needed), allowed, "{held:?} for {needed:?}");
        }
    }

    #[test]
    fn statuses_and_roles_round_trip_through_their_stored_text() {
        for status in ["DRAFT", "VALIDATED", "ACTIVE", "ROLLED_BACK"] {
            let parsed = VersionStatus::parse(status).expect("known status");
            assert_eq!(parsed.as_str(), status);
            assert_eq!(serde_json::to_value(parsed).expect("json"), status);
        }
        assert_eq!(VersionStatus::parse("active"), None);
        for role in ["viewer", "operator", "admin", "dataplane"] {
            assert_eq!(Role::parse(role).expect("known role").as_str(), role);
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn a_version_flattens_its_summary() {
        let version = Version {
            summary: VersionSummary {
                config_version: 7,
                environment: "production".into(),
                status: VersionStatus::Validated,
                checksum: "sha256:00".into(),
                created_by: "alice".into(),
                created_at: "2026-04-08T10:15:30.123Z".into(),
                activated_at: None,
                parent_version: Some(6),
                message: "raise the timeout".into(),
            },
            config: serde_json::json!({"routes": []}),
        };
        let json = serde_json::to_value(&version).expect("json");
        assert_eq!(json["configVersion"], 7);
        assert_eq!(json["status"], "VALIDATED");
        assert_eq!(json["config"]["routes"], serde_json::json!([]));
        let back: Version = serde_json::from_value(json).expect("back");
        assert_eq!(back, version);
    }
}
