//! The data planes' side: the snapshot long-poll and the heartbeat.

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use portcullis_protocol::dataplane::{DataPlaneSnapshot, Heartbeat, HeartbeatAck, SnapshotQuery};
use portcullis_protocol::DEFAULT_POOL;

use super::extract::{ApiQuery, Authorized, DataPlane, JsonBody};
use super::problem::ProblemDocument;
use super::AppState;
use crate::error::ApiError;
use crate::publication::Published;

/// The configuration assigned to (environment, pool): at once when its checksum differs from
/// `known`, else held up to the long-poll period, then 304.
#[utoipa::path(get, path = "/v1/dataplane/snapshot", tag = "dataplane",
    security(("bearer" = [])),
    params(SnapshotQuery),
    responses(
        (status = 200, body = DataPlaneSnapshot),
        (status = 304, description = "Nothing newer within the long-poll period"),
        (status = 404, response = ProblemDocument)))]
pub async fn snapshot(
    State(state): State<AppState>,
    _caller: Authorized<DataPlane>,
    ApiQuery(query): ApiQuery<SnapshotQuery>,
) -> Result<Response, ApiError> {
    let publisher = state.service.publisher();
    let pool = query
        .pool
        .as_deref()
        .filter(|pool| !pool.is_empty())
        .unwrap_or(DEFAULT_POOL);
    let known = query.known.as_deref().filter(|known| !known.is_empty());
    let mut changes = publisher.subscribe(&query.environment).await?;
    let deadline = tokio::time::Instant::now() + state.long_poll;
    let mut shutdown = state.shutdown.clone();
    loop {
        if let Some(assigned) = publisher.assigned_version(&query.environment, pool) {
            if known != Some(assigned.checksum.as_str()) {
                return Ok(snapshot_response(&assigned, pool));
            }
        }
        // Waiting costs the receiver and a timer, nothing per poll beyond the request.
        let woken = tokio::select! {
            changed = tokio::time::timeout_at(deadline, changes.changed()) => {
                matches!(changed, Ok(Ok(())))
            }
            () = crate::stopped(&mut shutdown) => false,
        };
        if !woken {
            return Ok(not_modified());
        }
    }
}

fn snapshot_response(published: &Published, pool: &str) -> Response {
    let chunks = published.snapshot_chunks(pool);
    let mut response = Body::from_stream(futures_util::stream::iter(chunks)).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn not_modified() -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Records a data plane's state; a refusal not reported before is audited.
#[utoipa::path(post, path = "/v1/dataplane/heartbeat", tag = "dataplane",
    security(("bearer" = [])),
    request_body = Heartbeat,
    responses(
        (status = 200, body = HeartbeatAck),
        (status = 404, response = ProblemDocument),
        (status = 422, response = ProblemDocument)))]
pub async fn heartbeat(
    State(state): State<AppState>,
    _caller: Authorized<DataPlane>,
    JsonBody(heartbeat): JsonBody<Heartbeat>,
) -> Result<Json<HeartbeatAck>, ApiError> {
    Ok(Json(state.service.heartbeat(&heartbeat).await?))
}
