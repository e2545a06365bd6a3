//! Request extractors that refuse with problem documents: the bearer token and its role, JSON
//! bodies (415 for another content type, 413 over the limit, 400 for malformed JSON with the
//! field path), path parameters and queries (400).

use std::marker::PhantomData;

use axum::extract::{FromRequest, FromRequestParts, Request};
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::request::Parts;
use http::StatusCode;
use portcullis_protocol::admin::Role;
use serde::de::DeserializeOwned;

use super::AppState;
use crate::error::ApiError;
use crate::tokens;

/// The largest request body (a configuration document with its envelope).
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The role an endpoint needs, as a type: `Authorized<Operate>`.
pub trait Requirement {
    /// `None`: any valid token.
    const ROLE: Option<Role>;
}

/// Read-only endpoints.
pub struct View;
/// Push, validate, activate, rollback.
pub struct Operate;
/// Tokens and environments.
pub struct Administer;
/// The data planes' snapshot and heartbeat.
pub struct DataPlane;
/// Any valid token (`/v1/whoami`).
pub struct AnyRole;

impl Requirement for View {
    const ROLE: Option<Role> = Some(Role::Viewer);
}
impl Requirement for Operate {
    const ROLE: Option<Role> = Some(Role::Operator);
}
impl Requirement for Administer {
    const ROLE: Option<Role> = Some(Role::Admin);
}
impl Requirement for DataPlane {
    const ROLE: Option<Role> = Some(Role::Dataplane);
}
impl Requirement for AnyRole {
    const ROLE: Option<Role> = None;
}

/// The caller, authenticated by its bearer token and allowed by its role.
#[derive(Debug, Clone)]
pub struct Authorized<R> {
    /// The token's name: `created_by` and the audit log's actor.
    pub name: String,
    pub role: Role,
    required: PhantomData<fn() -> R>,
}

impl<R: Requirement> FromRequestParts<AppState> for Authorized<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(tokens::bearer)
            .ok_or_else(|| {
                ApiError::unauthorized("send the API token as `Authorization: Bearer <token>`")
            })?;
        let record = state
            .service
            .store()
            .token_by_hash(&tokens::hash(token))
            .await?
            .ok_or_else(|| {
                ApiError::unauthorized("the bearer token is not known; ask an admin for one")
            })?;
        if record.revoked() {
            return Err(ApiError::unauthorized(
                "the bearer token was revoked; ask an admin for a new one",
            ));
        }
        let role = record.info.role;
        if let Some(required) = R::ROLE {
            if !role.allows(required) {
                return Err(ApiError::forbidden(format!(
                    "token {:?} has role {}; this endpoint needs {}",
                    record.info.name,
                    role.as_str(),
                    required.as_str()
                )));
            }
        }
        Ok(Authorized {
            name: record.info.name,
            role,
            required: PhantomData,
        })
    }
}

/// A JSON body of type `T`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        if !is_json(content_type) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "the body must be JSON: send `Content-Type: application/json` (got {content_type:?})"
                ),
            ));
        }
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body_too_large",
                        format!(
                        "the body is over {MAX_BODY_BYTES} bytes (10 MiB); send a smaller document"
                    ),
                    ),
                    status => ApiError::new(status, "unreadable_body", rejection.body_text()),
                })?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// A JSON body of type `T`, or `T::default()` when the body is empty (`POST .../activate`
/// with nothing to say).
#[derive(Debug)]
pub struct JsonOrEmpty<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for JsonOrEmpty<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let empty = request
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() == b"0")
            || (request.headers().get(CONTENT_TYPE).is_none()
                && request
                    .headers()
                    .get(http::header::TRANSFER_ENCODING)
                    .is_none()
                && request
                    .headers()
                    .get(http::header::CONTENT_LENGTH)
                    .is_none());
        if empty {
            return Ok(JsonOrEmpty(T::default()));
        }
        JsonBody::from_request(request, state)
            .await
            .map(|JsonBody(value)| JsonOrEmpty(value))
    }
}

/// `application/json` or any `+json` type, parameters ignored.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// 400 with the field path of the first problem.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer)
        .map_err(|error| body_error(&error.path().to_string(), error.inner()))?;
    deserializer.end().map_err(|error| body_error("", &error))?;
    Ok(value)
}

fn body_error(path: &str, error: &serde_json::Error) -> ApiError {
    let (code, what) = if error.is_data() {
        ("invalid_body", "the body does not have the expected shape")
    } else {
        ("malformed_json", "the body is not well-formed JSON")
    };
    let at = if path == "." || path.is_empty() {
        String::new()
    } else {
        format!(" at {path}")
    };
    ApiError::bad_request(code, format!("{what}{at}: {error}"))
}

/// Path parameters; 400 when one does not parse (a version that is not a number).
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|rejection| {
                ApiError::bad_request("invalid_path_parameter", rejection.body_text())
            })
    }
}

/// The query string; 400 when it does not parse.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::bad_request("invalid_query", rejection.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        for (content_type, json) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
            ("", false),
            ("application/x-www-form-urlencoded", false),
        ] {
            assert_eq!(is_json(content_type), json, "{content_type}");
        }
    }

    #[test]
    fn malformed_and_misshapen_bodies_are_told_apart() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Body {
            #[allow(dead_code)]
            name: String,
        }
        let malformed = parse_json::<Body>(b"{\"name\": ").expect_err("malformed");
        assert_eq!(malformed.code, "malformed_json");
        let misshapen = parse_json::<Body>(b"{\"name\": 3}").expect_err("misshapen");
        assert_eq!(misshapen.code, "invalid_body");
        assert!(misshapen.detail.contains("name"), "{}", misshapen.detail);
        let trailing = parse_json::<Body>(b"{\"name\": \"a\"} x").expect_err("trailing");
        assert_eq!(trailing.code, "malformed_json");
        assert!(parse_json::<Body>(b"{\"name\": \"a\"}").is_ok());
    }
}
