-- The control plane's store (SQLite, the embedded default). The same tables and constraints as
-- the PostgreSQL migration beside this one; change both together. Timestamps are RFC 3339 UTC
-- text with milliseconds; JSON columns are text that must be valid JSON.

CREATE TABLE environments (
    name TEXT PRIMARY KEY,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    created_by TEXT NOT NULL
);

-- The seed's table, plus checksum, parent_version, message and validated_at. AUTOINCREMENT:
-- a version number is never reused.
CREATE TABLE gateway_config_versions (
    config_version INTEGER PRIMARY KEY AUTOINCREMENT,
    environment TEXT NOT NULL REFERENCES environments(name),
    config TEXT NOT NULL CHECK (json_valid(config)),
    status TEXT NOT NULL CHECK (status IN ('DRAFT', 'VALIDATED', 'ACTIVE', 'ROLLED_BACK')),
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    activated_at TEXT,
    checksum TEXT NOT NULL,
    parent_version INTEGER NULL REFERENCES gateway_config_versions(config_version),
    message TEXT NOT NULL DEFAULT '',
    validated_at TEXT NULL
);

-- At most one ACTIVE version per environment, whatever the application does.
CREATE UNIQUE INDEX gateway_config_versions_one_active
    ON gateway_config_versions (environment) WHERE status = 'ACTIVE';
CREATE INDEX gateway_config_versions_by_environment
    ON gateway_config_versions (environment, config_version DESC);

-- A config row is never changed after it is written: only its status and lifecycle times move.
CREATE TRIGGER gateway_config_versions_immutable
    BEFORE UPDATE ON gateway_config_versions
    WHEN NEW.config_version IS NOT OLD.config_version
        OR NEW.environment IS NOT OLD.environment
        OR NEW.config IS NOT OLD.config
        OR NEW.created_by IS NOT OLD.created_by
        OR NEW.created_at IS NOT OLD.created_at
        OR NEW.checksum IS NOT OLD.checksum
        OR NEW.parent_version IS NOT OLD.parent_version
        OR NEW.message IS NOT OLD.message
BEGIN
    SELECT RAISE(ABORT, 'gateway_config_versions rows are immutable: only status, activated_at and validated_at change');
END;

CREATE TRIGGER gateway_config_versions_no_delete
    BEFORE DELETE ON gateway_config_versions
BEGIN
    SELECT RAISE(ABORT, 'gateway_config_versions rows are never deleted');
END;

CREATE TABLE activations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    environment TEXT NOT NULL REFERENCES environments(name),
    config_version INTEGER NOT NULL REFERENCES gateway_config_versions(config_version),
    previous_version INTEGER NULL REFERENCES gateway_config_versions(config_version),
    kind TEXT NOT NULL CHECK (kind IN ('activate', 'rollback')),
    actor TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX activations_by_environment ON activations (environment, id DESC);

CREATE TABLE instances (
    instance_id TEXT PRIMARY KEY,
    environment TEXT NOT NULL REFERENCES environments(name),
    pool TEXT NOT NULL,
    started_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    agent_version TEXT NOT NULL,
    loaded TEXT NULL CHECK (loaded IS NULL OR json_valid(loaded)),
    refusal TEXT NULL CHECK (refusal IS NULL OR json_valid(refusal)),
    routes TEXT NULL CHECK (routes IS NULL OR json_valid(routes))
);
CREATE INDEX instances_by_environment ON instances (environment, instance_id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
    environment TEXT NULL,
    config_version INTEGER NULL,
    detail TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail))
);
CREATE INDEX audit_log_by_environment ON audit_log (environment, id DESC);

-- The audit log is append-only.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin', 'dataplane')),
    token_hash TEXT UNIQUE NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    created_by TEXT NOT NULL,
    revoked_at TEXT NULL
);
