//! Every query of the store, written once. Values only ever travel as bind parameters; the
//! text is built at start from constant fragments of the backend's [`Dialect`].

use super::dialect::Dialect;

/// The query texts for one backend.
#[derive(Debug)]
pub struct Sql {
    pub begin: &'static str,
    pub lock_environment: String,
    pub environment_exists: String,
    pub lock_tokens: &'static str,
    pub insert_environment: String,
    pub environments: String,
    pub environment: String,
    pub environment_names: String,
    pub insert_version: String,
    pub version_summary: String,
    pub version: String,
    pub versions_page: String,
    pub version_state: String,
    pub active_version: String,
    pub active_published: String,
    pub mark_validated: String,
    pub set_status: String,
    pub make_active: String,
    pub insert_activation: String,
    pub activation_statuses: String,
    pub activations_page: String,
    pub insert_audit: String,
    pub audit_page: String,
    pub insert_token: String,
    pub token_by_hash: String,
    pub token_by_id: String,
    pub tokens: String,
    pub usable_admin_tokens: String,
    pub revoke_token: String,
    pub instance_refusal: String,
    pub upsert_instance: String,
    pub instances: String,
}

impl Sql {
    pub fn new(dialect: &Dialect) -> Sql {
        let ts = |column: &str, alias: &str| format!("{} AS {alias}", (dialect.timestamp)(column));
        let json_out =
            |column: &str, alias: &str| format!("{} AS {alias}", (dialect.json_out)(column));
        let json_in = dialect.json_in;
        let now = dialect.now;
        let summary_columns = format!(
            "config_version, environment, status, checksum, created_by, {}, {}, parent_version, message",
            ts("created_at", "created_at"),
            ts("activated_at", "activated_at"),
        );
        let token_columns = format!(
            "id, name, role, {}, created_by, {}",
            ts("created_at", "created_at"),
            ts("revoked_at", "revoked_at")
        );
        let environment_select = format!(
            "SELECT e.name AS name, {}, e.created_by AS created_by, v.config_version AS active_version, \
             v.checksum AS active_checksum, {} \
             FROM environments e LEFT JOIN gateway_config_versions v \
             ON v.environment = e.name AND v.status = 'ACTIVE'",
            ts("e.created_at", "created_at"),
            ts("v.activated_at", "activated_at"),
        );
        Sql {
            begin: dialect.begin,
            lock_environment: format!(
                "SELECT name FROM environments WHERE name = $1{}",
                dialect.lock_row
            ),
            environment_exists: "SELECT name FROM environments WHERE name = $1".into(),
            lock_tokens: dialect.lock_tokens,
            insert_environment: "INSERT INTO environments (name, created_by) VALUES ($1, $2) \
                 ON CONFLICT (name) DO NOTHING"
                .into(),
            environments: format!("{environment_select} ORDER BY e.name"),
            environment: format!("{environment_select} WHERE e.name = $1"),
            environment_names: "SELECT name FROM environments ORDER BY name".into(),
            insert_version: format!(
                "INSERT INTO gateway_config_versions \
                 (environment, config, status, created_by, checksum, parent_version, message) \
                 VALUES ($1, {}, 'DRAFT', $3, $4, \
                 (SELECT config_version FROM gateway_config_versions WHERE environment = $1 AND status = 'ACTIVE'), $5) \
                 RETURNING config_version",
                json_in("$2")
            ),
            version_summary: format!(
                "SELECT {summary_columns} FROM gateway_config_versions WHERE config_version = $1"
            ),
            version: format!(
                "SELECT {summary_columns}, {} FROM gateway_config_versions WHERE config_version = $1",
                json_out("config", "config")
            ),
            versions_page: format!(
                "SELECT {summary_columns} FROM gateway_config_versions \
                 WHERE environment = $1 AND config_version < $2 ORDER BY config_version DESC LIMIT $3"
            ),
            version_state: "SELECT environment, status FROM gateway_config_versions WHERE config_version = $1"
                .into(),
            active_version: "SELECT config_version FROM gateway_config_versions \
                 WHERE environment = $1 AND status = 'ACTIVE'"
                .into(),
            active_published: format!(
                "SELECT config_version, checksum, {}, {} FROM gateway_config_versions \
                 WHERE environment = $1 AND status = 'ACTIVE'",
                ts("activated_at", "activated_at"),
                json_out("config", "config")
            ),
            mark_validated: format!(
                "UPDATE gateway_config_versions SET status = 'VALIDATED', validated_at = {now} \
                 WHERE config_version = $1 AND status = 'DRAFT'"
            ),
            set_status: "UPDATE gateway_config_versions SET status = $2 WHERE config_version = $1"
                .into(),
            make_active: format!(
                "UPDATE gateway_config_versions SET status = 'ACTIVE', activated_at = {now} \
                 WHERE config_version = $1 AND status = 'VALIDATED' RETURNING {}",
                ts("activated_at", "activated_at")
            ),
            insert_activation: "INSERT INTO activations \
                 (environment, config_version, previous_version, kind, actor) VALUES ($1, $2, $3, $4, $5)"
                .into(),
            activation_statuses: "SELECT a.config_version AS config_version, v.status AS status \
                 FROM activations a JOIN gateway_config_versions v ON v.config_version = a.config_version \
                 WHERE a.environment = $1 ORDER BY a.id DESC"
                .into(),
            activations_page: format!(
                "SELECT id, environment, config_version, previous_version, kind, {}, actor \
                 FROM activations WHERE environment = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                ts("at", "at")
            ),
            insert_audit: format!(
                "INSERT INTO audit_log (actor, action, outcome, environment, config_version, detail) \
                 VALUES ($1, $2, $3, $4, $5, {})",
                json_in("$6")
            ),
            audit_page: format!(
                "SELECT id, {}, actor, action, outcome, environment, config_version, {} FROM audit_log \
                 WHERE id < $1 AND ($2 IS NULL OR environment = $2) ORDER BY id DESC LIMIT $3",
                ts("at", "at"),
                json_out("detail", "detail")
            ),
            insert_token: format!(
                "INSERT INTO api_tokens (name, role, token_hash, created_by) VALUES ($1, $2, $3, $4) \
                 RETURNING {token_columns}"
            ),
            token_by_hash: format!("SELECT {token_columns} FROM api_tokens WHERE token_hash = $1"),
            token_by_id: format!("SELECT {token_columns} FROM api_tokens WHERE id = $1"),
            tokens: format!("SELECT {token_columns} FROM api_tokens ORDER BY id"),
            usable_admin_tokens: "SELECT count(*) AS usable FROM api_tokens \
                 WHERE role = 'admin' AND revoked_at IS NULL"
                .into(),
            revoke_token: format!(
                "UPDATE api_tokens SET revoked_at = {now} WHERE id = $1 AND revoked_at IS NULL"
            ),
            instance_refusal: format!(
                "SELECT {} FROM instances WHERE instance_id = $1",
                json_out("refusal", "refusal")
            ),
            upsert_instance: format!(
                "INSERT INTO instances \
                 (instance_id, environment, pool, started_at, last_seen_at, agent_version, loaded, refusal, routes) \
                 VALUES ($1, $2, $3, $4, {now}, $5, {}, {}, {}) \
                 ON CONFLICT (instance_id) DO UPDATE SET environment = excluded.environment, \
                 pool = excluded.pool, started_at = excluded.started_at, \
                 last_seen_at = excluded.last_seen_at, agent_version = excluded.agent_version, \
                 loaded = excluded.loaded, refusal = excluded.refusal, routes = excluded.routes \
                 RETURNING {}",
                json_in("$6"),
                json_in("$7"),
                json_in("$8"),
                ts("last_seen_at", "last_seen_at")
            ),
            instances: format!(
                "SELECT instance_id, environment, pool, started_at, {}, agent_version, {}, {} \
                 FROM instances WHERE ($1 IS NULL OR environment = $1) ORDER BY environment, instance_id",
                ts("last_seen_at", "last_seen_at"),
                json_out("loaded", "loaded"),
                json_out("refusal", "refusal")
            ),
        }
    }
}
