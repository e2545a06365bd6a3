-- The control plane's store (PostgreSQL). The SQLite migration beside this one builds the same
-- tables and constraints; change both together.

CREATE TABLE environments (
    name TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by TEXT NOT NULL
);

-- The seed's table exactly, plus checksum, parent_version, message and validated_at.
CREATE TABLE gateway_config_versions (
    config_version BIGSERIAL PRIMARY KEY,
    environment TEXT NOT NULL REFERENCES environments(name),
    config JSONB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('DRAFT', 'VALIDATED', 'ACTIVE', 'ROLLED_BACK')),
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    activated_at TIMESTAMPTZ,
    checksum TEXT NOT NULL,
    parent_version BIGINT NULL REFERENCES gateway_config_versions(config_version),
    message TEXT NOT NULL DEFAULT '',
    validated_at TIMESTAMPTZ NULL
);

-- At most one ACTIVE version per environment, whatever the application does.
CREATE UNIQUE INDEX gateway_config_versions_one_active
    ON gateway_config_versions (environment) WHERE status = 'ACTIVE';
CREATE INDEX gateway_config_versions_by_environment
    ON gateway_config_versions (environment, config_version DESC);

-- A config row is never changed after it is written: only its status and lifecycle times move.
CREATE FUNCTION gateway_config_versions_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'gateway_config_versions rows are never deleted (config_version %)',
            OLD.config_version;
    END IF;
    IF NEW.config_version IS DISTINCT FROM OLD.config_version
        OR NEW.environment IS DISTINCT FROM OLD.environment
        OR NEW.config IS DISTINCT FROM OLD.config
        OR NEW.created_by IS DISTINCT FROM OLD.created_by
        OR NEW.created_at IS DISTINCT FROM OLD.created_at
        OR NEW.checksum IS DISTINCT FROM OLD.checksum
        OR NEW.parent_version IS DISTINCT FROM OLD.parent_version
        OR NEW.message IS DISTINCT FROM OLD.message THEN
        RAISE EXCEPTION 'gateway_config_versions row % is immutable: only status, activated_at and validated_at change',
            OLD.config_version;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER gateway_config_versions_immutable
    BEFORE UPDATE OR DELETE ON gateway_config_versions
    FOR EACH ROW EXECUTE FUNCTION gateway_config_versions_immutable();

CREATE TABLE activations (
    id BIGSERIAL PRIMARY KEY,
    environment TEXT NOT NULL REFERENCES environments(name),
    config_version BIGINT NOT NULL REFERENCES gateway_config_versions(config_version),
    previous_version BIGINT NULL REFERENCES gateway_config_versions(config_version),
    kind TEXT NOT NULL CHECK (kind IN ('activate', 'rollback')),
    actor TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX activations_by_environment ON activations (environment, id DESC);

CREATE TABLE instances (
    instance_id TEXT PRIMARY KEY,
    environment TEXT NOT NULL REFERENCES environments(name),
    pool TEXT NOT NULL,
    started_at TEXT NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    agent_version TEXT NOT NULL,
    loaded JSONB NULL,
    refusal JSONB NULL,
    routes JSONB NULL
);
CREATE INDEX instances_by_environment ON instances (environment, instance_id);

CREATE TABLE audit_log (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused', 'failed')),
    environment TEXT NULL,
    config_version BIGINT NULL,
    detail JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_by_environment ON audit_log (environment, id DESC);

-- The audit log is append-only.
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (entry %)', OLD.id;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE api_tokens (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin', 'dataplane')),
    token_hash TEXT UNIQUE NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by TEXT NOT NULL,
    revoked_at TIMESTAMPTZ NULL
);
