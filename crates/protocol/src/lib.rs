//! The wire types of the control plane's HTTP API: what data planes send and receive
//! ([`dataplane`]) and what operators' tools send and receive ([`admin`]).
//!
//! Pure data with serde and OpenAPI schema derives, no sockets: the control plane
//! (`portcullis-control`), the data plane's agent (`portcullis-agent`) and the CLI all link
//! this crate, so the data plane never links the control plane to speak to it.
//!
//! Conventions: JSON keys are camelCase; timestamps are RFC 3339 strings in UTC with
//! millisecond precision (`2026-04-08T10:15:30.123Z`); config versions are the store's
//! `config_version` (positive, increasing, never reused); checksums are `sha256:<64 hex>`
//! over the canonical JSON of the configuration (`portcullis_config::checksum`).

pub mod admin;
pub mod dataplane;

/// The pool a data plane belongs to when it names none.
pub const DEFAULT_POOL: &str = "default";

/// The environment the control plane creates at first start when given none.
pub const DEFAULT_ENVIRONMENT: &str = "production";
