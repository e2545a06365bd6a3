//! Every error answer is an RFC 9457 problem document (`application/problem+json`), axum's
//! own refusals (unknown route, wrong method) included.

use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};

use crate::error::ApiError;

/// The answer of every refusal, documented once: an RFC 9457 problem document whose `code`
/// names the reason and whose `errors` list every validation error.
#[derive(utoipa::ToResponse)]
#[response(
    description = "A problem document (RFC 9457); `code` names the reason",
    content_type = "application/problem+json"
)]
pub struct ProblemDocument(#[allow(dead_code)] portcullis_protocol::admin::Problem);

pub const PROBLEM_JSON: &str = "application/problem+json";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_else(|_| b"{}".to_vec());
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"portcullis\""),
            );
        }
        response
    }
}

/// The router's fallback: no route has this path.
pub async fn route_not_found(uri: http::Uri) -> ApiError {
    ApiError::not_found(
        "route_not_found",
        format!(
            "no endpoint at {}; GET /openapi.json lists the API",
            uri.path()
        ),
    )
}

/// A route has this path but not this method.
pub async fn method_not_allowed(method: http::Method, uri: http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{method} is not allowed on {}; GET /openapi.json lists the methods of each path",
            uri.path()
        ),
    )
}
