//! The errors of the control plane: [`ApiError`] (what a request is answered with, as a
//! problem document) and [`ControlError`] (why the control plane could not start).

use http::StatusCode;
use portcullis_protocol::admin::{ConfigIssue, Problem};

/// A refused or failed request: its status, a stable code, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code}: {detail}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// Every validation error (422 `invalid_config`).
    pub errors: Vec<ConfigIssue>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, code, detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    /// 422 with every validation error.
    pub fn invalid_config(errors: Vec<ConfigIssue>) -> Self {
        let count = errors.len();
        let noun = if count == 1 { "error" } else { "errors" };
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_config",
            detail: format!(
                "the configuration is invalid ({count} {noun}); fix every entry of `errors` and push it again"
            ),
            errors,
        }
    }

    /// 422 naming the one field of the request that is refused.
    pub fn invalid_field(code: &'static str, path: &str, message: String) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            detail: message.clone(),
            errors: vec![ConfigIssue {
                path: path.to_string(),
                message,
            }],
        }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", detail)
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", detail)
    }

    pub fn environment_not_found(environment: &str) -> Self {
        ApiError::not_found(
            "environment_not_found",
            format!(
                "environment {environment:?} does not exist; GET /v1/environments lists them, an admin creates one with POST /v1/environments"
            ),
        )
    }

    pub fn version_not_found(version: i64) -> Self {
        ApiError::not_found(
            "version_not_found",
            format!(
                "config version {version} does not exist; GET /v1/environments/{{environment}}/versions lists them"
            ),
        )
    }

    /// The RFC 9457 document answered for this error.
    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: format!("https://portcullis.dev/problems/{}", self.code),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            code: self.code.to_string(),
            detail: Some(self.detail.clone()),
            errors: self.errors.clone(),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &error {
            sqlx::Error::Database(database) if database.kind() == ErrorKind::UniqueViolation => {
                // The database's last line of defence (one ACTIVE version per environment, one
                // row per name) refused a change another request made first.
                ApiError::conflict(
                    "concurrent_change",
                    format!(
                        "another request changed the same data first ({}); read the current state and try again",
                        database.message()
                    ),
                )
            }
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => {
                tracing::warn!(%error, "the store is unavailable");
                ApiError::unavailable("the configuration store is not answering; try again shortly")
            }
            sqlx::Error::Database(database) if is_connection_loss(database.code().as_deref()) => {
                tracing::warn!(%error, "the store is unavailable");
                ApiError::unavailable("the configuration store is not answering; try again shortly")
            }
            _ => {
                tracing::error!(%error, "store query failed");
                ApiError::internal(
                    "the configuration store failed the request; see the control plane's log",
                )
            }
        }
    }
}

/// PostgreSQL codes of a server going away (class 57: operator intervention, 08: connection).
fn is_connection_loss(code: Option<&str>) -> bool {
    code.is_some_and(|code| code.starts_with("57") || code.starts_with("08"))
}

/// Why the control plane could not start.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("database URL {url:?}: {reason}; use postgres://USER@HOST:PORT/DB or sqlite://PATH")]
    DatabaseUrl { url: String, reason: String },
    #[error("cannot connect to the database at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot migrate the database schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("store: {0}")]
    Store(#[from] ApiError),
    #[error("environment name {name:?} in the settings: {reason}")]
    Environment { name: String, reason: String },
    #[error("data directory {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen on {address}: {source}; pick a free address with --listen")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the admin API server failed: {0}")]
    Serve(#[source] std::io::Error),
}
