//! API tokens (admin) and `whoami`.

use axum::extract::State;
use axum::Json;
use http::StatusCode;
use portcullis_protocol::admin::{CreateToken, CreatedToken, TokenInfo, TokenList, WhoAmI};

use super::extract::{Administer, AnyRole, ApiPath, Authorized, JsonBody};
use super::problem::ProblemDocument;
use super::AppState;
use crate::error::ApiError;
use crate::{names, tokens};

/// Every token, without secrets.
#[utoipa::path(get, path = "/v1/tokens", tag = "tokens",
    security(("bearer" = [])),
    responses((status = 200, body = TokenList)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    _caller: Authorized<Administer>,
) -> Result<Json<TokenList>, ApiError> {
    let tokens = state.service.store().tokens().await?;
    Ok(Json(TokenList { tokens }))
}

/// Creates a token; its secret is in this answer only (the store keeps a hash).
#[utoipa::path(post, path = "/v1/tokens", tag = "tokens",
    security(("bearer" = [])),
    request_body = CreateToken,
    responses(
        (status = 201, body = CreatedToken),
        (status = 422, response = ProblemDocument)))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Authorized<Administer>,
    JsonBody(request): JsonBody<CreateToken>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    names::check_token_name(&request.name)
        .map_err(|message| ApiError::invalid_field("invalid_name", "name", message))?;
    let token = tokens::generate();
    let info = state
        .service
        .store()
        .create_token(
            &request.name,
            request.role,
            &tokens::hash(&token),
            &caller.name,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { info, token })))
}

/// Revokes a token (the last usable admin token cannot be revoked).
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "tokens",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "The token's id")),
    responses(
        (status = 200, body = TokenInfo),
        (status = 404, response = ProblemDocument),
        (status = 409, response = ProblemDocument)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Authorized<Administer>,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<TokenInfo>, ApiError> {
    Ok(Json(
        state.service.store().revoke_token(id, &caller.name).await?,
    ))
}

/// The calling token's name and role (any role).
#[utoipa::path(get, path = "/v1/whoami", tag = "tokens",
    security(("bearer" = [])),
    responses((status = 200, body = WhoAmI)))]
pub async fn whoami(caller: Authorized<AnyRole>) -> Json<WhoAmI> {
    Json(WhoAmI {
        name: caller.name,
        role: caller.role,
    })
}
