//! The data plane's admin listener: configuration identity, Prometheus metrics, liveness and
//! readiness. It binds loopback by default (`admin.address`, `127.0.0.1:9901`) because it
//! carries no authentication: expose it only to the operators' network.
//!
//! | path                    | answer                                                         |
//! |-------------------------|----------------------------------------------------------------|
//! | `/admin/config-version` | `{"configVersion", "loadedAt", "checksum"}`, 503 before a load |
//! | `/metrics`              | Prometheus text exposition                                     |
//! | `/healthz`              | 200 `ok` while the process runs                                |
//! | `/readyz`               | 200 once a snapshot is installed, else 503                     |

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use portcullis_error::{ErrorKind, GatewayError, Phase, PROBLEM_JSON};
use portcullis_proxy::{Gateway, LoadedSnapshot};

/// Content type of the Prometheus text exposition format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("invalid admin address {address:?} (admin.address): use IP:PORT, e.g. 127.0.0.1:9901")]
    Address { address: String },
    #[error(
        "cannot listen on {address} (admin.address): {source}; free the port or set another admin.address"
    )]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

/// A bound admin listener, not yet serving.
#[derive(Debug)]
pub struct AdminServer {
    listener: tokio::net::TcpListener,
    local_addr: SocketAddr,
    router: Router,
}

/// Bind the admin listener on `address` (`IP:PORT`; port 0 picks a free port).
pub async fn bind(gateway: Arc<Gateway>, address: &str) -> Result<AdminServer, AdminError> {
    let socket_addr: SocketAddr = address.parse().map_err(|_| AdminError::Address {
        address: address.to_string(),
    })?;
    let listener = tokio::net::TcpListener::bind(socket_addr)
        .await
        .map_err(|source| AdminError::Bind {
            address: address.to_string(),
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| AdminError::Bind {
        address: address.to_string(),
        source,
    })?;
    Ok(AdminServer {
        listener,
        local_addr,
        router: router(gateway),
    })
}

impl AdminServer {
    /// The bound address (useful when the configured port was 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serve until `shutdown` resolves; in-flight admin requests then finish.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "admin listener failed");
        }
    }
}

/// The admin routes over `gateway` (exposed for embedding and tests).
pub fn router(gateway: Arc<Gateway>) -> Router {
    Router::new()
        .route("/admin/config-version", get(config_version))
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(gateway)
}

async fn config_version(State(gateway): State<Arc<Gateway>>) -> Response {
    match gateway.current() {
        Some(loaded) => (
            [(header::CONTENT_TYPE, "application/json")],
            config_version_body(&loaded).to_string(),
        )
            .into_response(),
        None => not_ready(),
    }
}

/// The `configVersion` document for an installed snapshot.
pub fn config_version_body(loaded: &LoadedSnapshot) -> serde_json::Value {
    serde_json::json!({
        "configVersion": loaded.config_version,
        "loadedAt": rfc3339_utc(loaded.loaded_at),
        "checksum": loaded.checksum,
    })
}

/// RFC 3339 in UTC with millisecond precision (`2025-01-31T12:00:00.123Z`).
pub fn rfc3339_utc(at: time::OffsetDateTime) -> String {
    // Always three fractional digits, as every Portcullis document writes timestamps, so the
    // same instant reads the same here and in the control plane's instance list.
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc.format(format)
        .unwrap_or_else(|_| utc.unix_timestamp().to_string())
}

async fn metrics(State(gateway): State<Arc<Gateway>>) -> Response {
    let text = gateway.metrics().encode();
    ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response()
}

async fn healthz() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "ok\n",
    )
        .into_response()
}

async fn readyz(State(gateway): State<Arc<Gateway>>) -> Response {
    if gateway.is_ready() {
        (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "ready\n",
        )
            .into_response()
    } else {
        not_ready()
    }
}

fn not_ready() -> Response {
    let error = GatewayError::gateway(ErrorKind::NotReady, Phase::Accept)
        .with_detail("no configuration snapshot is loaded yet");
    let request_id = portcullis_telemetry::request_id::request_id_from(None);
    let body = error.problem_json(request_id.to_str().unwrap_or_default());
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, PROBLEM_JSON)],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_utc_with_milliseconds() {
        let at = time::macros::datetime!(2025-03-04 05:06:07.123456789 +02:00);
        assert_eq!(rfc3339_utc(at), "2025-03-04T03:06:07.123Z");
    }

    #[test]
    fn rfc3339_always_has_three_fractional_digits() {
        let at = time::macros::datetime!(2025-03-04 05:06:07 UTC);
        assert_eq!(rfc3339_utc(at), "2025-03-04T05:06:07.000Z");
        let at = time::macros::datetime!(2025-03-04 05:06:07.93 UTC);
        assert_eq!(rfc3339_utc(at), "2025-03-04T05:06:07.930Z");
    }
}
