//! The fleet and the record: instances (last heartbeat of each data plane) and the audit log.

use axum::extract::State;
use axum::Json;
use portcullis_protocol::admin::{AuditPage, InstanceList, PageQuery};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{ApiQuery, Authorized, View};
use super::problem::ProblemDocument;
use super::AppState;
use crate::error::ApiError;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InstancesQuery {
    /// Only this environment's instances.
    pub environment: Option<String>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Most entries on the page (default 50, at most 500).
    pub limit: Option<u32>,
    /// Only entries older than this id (the previous page's `nextBefore`).
    pub before: Option<i64>,
    /// Only this environment's entries.
    pub environment: Option<String>,
}

/// Every data plane heard from, live or stale (three missed heartbeats).
#[utoipa::path(get, path = "/v1/instances", tag = "fleet",
    security(("bearer" = [])),
    params(InstancesQuery),
    responses(
        (status = 200, body = InstanceList),
        (status = 404, response = ProblemDocument)))]
pub async fn list_instances(
    State(state): State<AppState>,
    _caller: Authorized<View>,
    ApiQuery(query): ApiQuery<InstancesQuery>,
) -> Result<Json<InstanceList>, ApiError> {
    let interval = state.service.heartbeat_interval();
    let instances = state
        .service
        .store()
        .instances(query.environment.as_deref(), interval)
        .await?;
    Ok(Json(InstanceList { instances }))
}

/// The audit log, newest first.
#[utoipa::path(get, path = "/v1/audit", tag = "fleet",
    security(("bearer" = [])),
    params(AuditQuery),
    responses((status = 200, body = AuditPage)))]
pub async fn list_audit(
    State(state): State<AppState>,
    _caller: Authorized<View>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let page = PageQuery {
        limit: query.limit,
        before: query.before,
    };
    Ok(Json(
        state
            .service
            .store()
            .audit(query.environment.as_deref(), &page)
            .await?,
    ))
}
