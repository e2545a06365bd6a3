//! `/v1/environments`: list, read, create (admin).

use axum::extract::State;
use axum::Json;
use http::StatusCode;
use portcullis_protocol::admin::{CreateEnvironment, Environment, EnvironmentList};

use super::extract::{Administer, ApiPath, Authorized, JsonBody, View};
use super::problem::ProblemDocument;
use super::AppState;
use crate::error::ApiError;
use crate::names;

/// Every environment with its ACTIVE version.
#[utoipa::path(get, path = "/v1/environments", tag = "environments",
    security(("bearer" = [])),
    responses((status = 200, body = EnvironmentList)))]
pub async fn list_environments(
    State(state): State<AppState>,
    _caller: Authorized<View>,
) -> Result<Json<EnvironmentList>, ApiError> {
    let environments = state.service.store().environments().await?;
    Ok(Json(EnvironmentList { environments }))
}

/// Creates an environment (admin).
#[utoipa::path(post, path = "/v1/environments", tag = "environments",
    security(("bearer" = [])),
    request_body = CreateEnvironment,
    responses(
        (status = 201, body = Environment),
        (status = 409, response = ProblemDocument),
        (status = 422, response = ProblemDocument)))]
pub async fn create_environment(
    State(state): State<AppState>,
    caller: Authorized<Administer>,
    JsonBody(request): JsonBody<CreateEnvironment>,
) -> Result<(StatusCode, Json<Environment>), ApiError> {
    names::check_environment(&request.name)
        .map_err(|message| ApiError::invalid_field("invalid_name", "name", message))?;
    let store = state.service.store();
    store
        .create_environment(&request.name, &caller.name)
        .await?;
    let environment = store.environment(&request.name).await?;
    Ok((StatusCode::CREATED, Json(environment)))
}

/// One environment with its ACTIVE version.
#[utoipa::path(get, path = "/v1/environments/{environment}", tag = "environments",
    security(("bearer" = [])),
    params(("environment" = String, Path, description = "The environment's name")),
    responses(
        (status = 200, body = Environment),
        (status = 404, response = ProblemDocument)))]
pub async fn get_environment(
    State(state): State<AppState>,
    _caller: Authorized<View>,
    ApiPath(environment): ApiPath<String>,
) -> Result<Json<Environment>, ApiError> {
    Ok(Json(state.service.store().environment(&environment).await?))
}
