//! Config versions and their lifecycle: push, list, read, validate, activate, roll back,
//! diff, and the activation history.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use http::StatusCode;
use portcullis_protocol::admin::{
    Activation, ActivationHistory, ActivationRequest, PageQuery, PushVersion, ValidationReport,
    Version, VersionDiff, VersionPage, VersionSummary,
};

use super::extract::{ApiPath, ApiQuery, Authorized, JsonBody, JsonOrEmpty, Operate, View};
use super::problem::ProblemDocument;
use super::AppState;
use crate::error::ApiError;
use crate::offload;

/// Pushes a configuration: validated (422 with every error, nothing stored), then stored as
/// DRAFT. `createdBy` is the token's name.
#[utoipa::path(post, path = "/v1/environments/{environment}/versions", tag = "versions",
    security(("bearer" = [])),
    params(("environment" = String, Path, description = "The environment's name")),
    request_body = PushVersion,
    responses(
        (status = 201, body = VersionSummary),
        (status = 404, response = ProblemDocument),
        (status = 413, response = ProblemDocument),
        (status = 422, response = ProblemDocument)))]
pub async fn push_version(
    State(state): State<AppState>,
    caller: Authorized<Operate>,
    ApiPath(environment): ApiPath<String>,
    JsonBody(request): JsonBody<PushVersion>,
) -> Result<(StatusCode, Json<VersionSummary>), ApiError> {
    let summary = state
        .service
        .push(&environment, request, &caller.name)
        .await?;
    Ok((StatusCode::CREATED, Json(summary)))
}

/// The environment's versions, newest first.
#[utoipa::path(get, path = "/v1/environments/{environment}/versions", tag = "versions",
    security(("bearer" = [])),
    params(("environment" = String, Path, description = "The environment's name"), PageQuery),
    responses(
        (status = 200, body = VersionPage),
        (status = 404, response = ProblemDocument)))]
pub async fn list_versions(
    State(state): State<AppState>,
    _caller: Authorized<View>,
    ApiPath(environment): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<VersionPage>, ApiError> {
    Ok(Json(
        state.service.store().versions(&environment, &page).await?,
    ))
}

/// One version with its configuration.
#[utoipa::path(get, path = "/v1/versions/{version}", tag = "versions",
    security(("bearer" = [])),
    params(("version" = i64, Path, description = "The config version")),
    responses(
        (status = 200, body = Version),
        (status = 404, response = ProblemDocument)))]
pub async fn get_version(
    State(state): State<AppState>,
    _caller: Authorized<View>,
    ApiPath(version): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let found = state.service.store().version(version).await?;
    Ok(offload::respond_then_release(Json(found)))
}

/// Full validation and compile dry-run: DRAFT → VALIDATED (VALIDATED answers again).
#[utoipa::path(post, path = "/v1/versions/{version}/validate", tag = "versions",
    security(("bearer" = [])),
    params(("version" = i64, Path, description = "The config version")),
    responses(
        (status = 200, body = ValidationReport),
        (status = 404, response = ProblemDocument),
        (status = 409, response = ProblemDocument),
        (status = 422, response = ProblemDocument)))]
pub async fn validate_version(
    State(state): State<AppState>,
    caller: Authorized<Operate>,
    ApiPath(version): ApiPath<i64>,
) -> Result<Json<ValidationReport>, ApiError> {
    Ok(Json(state.service.validate(version, &caller.name).await?))
}

/// VALIDATED → ACTIVE; the previous ACTIVE version goes back to VALIDATED.
#[utoipa::path(post, path = "/v1/versions/{version}/activate", tag = "versions",
    security(("bearer" = [])),
    params(("version" = i64, Path, description = "The config version")),
    request_body(content = Option<ActivationRequest>, description = "Optional; `expectedActiveVersion` guards against a concurrent change"),
    responses(
        (status = 200, body = Activation),
        (status = 404, response = ProblemDocument),
        (status = 409, response = ProblemDocument),
        (status = 422, response = ProblemDocument)))]
pub async fn activate_version(
    State(state): State<AppState>,
    caller: Authorized<Operate>,
    ApiPath(version): ApiPath<i64>,
    JsonOrEmpty(request): JsonOrEmpty<ActivationRequest>,
) -> Result<Json<Activation>, ApiError> {
    Ok(Json(
        state
            .service
            .activate(version, &request, &caller.name)
            .await?,
    ))
}

/// The ACTIVE version → ROLLED_BACK; the most recent earlier activation serves again.
#[utoipa::path(post, path = "/v1/environments/{environment}/rollback", tag = "versions",
    security(("bearer" = [])),
    params(("environment" = String, Path, description = "The environment's name")),
    request_body(content = Option<ActivationRequest>, description = "Optional; `expectedActiveVersion` guards against a concurrent change"),
    responses(
        (status = 200, body = Activation),
        (status = 404, response = ProblemDocument),
        (status = 409, response = ProblemDocument)))]
pub async fn rollback_environment(
    State(state): State<AppState>,
    caller: Authorized<Operate>,
    ApiPath(environment): ApiPath<String>,
    JsonOrEmpty(request): JsonOrEmpty<ActivationRequest>,
) -> Result<Json<Activation>, ApiError> {
    Ok(Json(
        state
            .service
            .rollback(&environment, &request, &caller.name)
            .await?,
    ))
}

/// What changed from one version to another, as JSON paths.
#[utoipa::path(get, path = "/v1/versions/{from}/diff/{to}", tag = "versions",
    security(("bearer" = [])),
    params(
        ("from" = i64, Path, description = "The older version"),
        ("to" = i64, Path, description = "The newer version")),
    responses(
        (status = 200, body = VersionDiff),
        (status = 404, response = ProblemDocument)))]
pub async fn diff_versions(
    State(state): State<AppState>,
    _caller: Authorized<View>,
    ApiPath((from, to)): ApiPath<(i64, i64)>,
) -> Result<Response, ApiError> {
    let diff = state.service.diff(from, to).await?;
    Ok(offload::respond_then_release(Json(diff)))
}

/// The environment's activations and rollbacks, newest first.
#[utoipa::path(get, path = "/v1/environments/{environment}/activations", tag = "versions",
    security(("bearer" = [])),
    params(("environment" = String, Path, description = "The environment's name"), PageQuery),
    responses(
        (status = 200, body = ActivationHistory),
        (status = 404, response = ProblemDocument)))]
pub async fn list_activations(
    State(state): State<AppState>,
    _caller: Authorized<View>,
    ApiPath(environment): ApiPath<String>,
    ApiQuery(page): ApiQuery<PageQuery>,
) -> Result<Json<ActivationHistory>, ApiError> {
    let activations = state
        .service
        .store()
        .activations(&environment, &page)
        .await?;
    Ok(Json(ActivationHistory { activations }))
}
