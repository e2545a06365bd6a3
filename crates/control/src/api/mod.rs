//! The admin API (axum) and its OpenAPI document, generated from the handlers' types: every
//! route is registered through `utoipa-axum`'s `routes!`, so the router and the document
//! cannot drift apart.

mod dataplane;
mod environments;
pub mod extract;
mod fleet;
mod health;
pub mod problem;
mod tokens;
mod versions;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use bytes::Bytes;
use tokio::sync::watch;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as OpenApiDocument, RefOr};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::service::ControlService;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub service: Arc<ControlService>,
    /// How long a snapshot long-poll is held before 304.
    pub long_poll: Duration,
    /// True once the control plane shuts down: held long-polls answer at once.
    pub shutdown: watch::Receiver<bool>,
    /// `/openapi.json`, rendered once.
    openapi: Arc<OnceLock<Bytes>>,
}

impl AppState {
    pub fn new(
        service: Arc<ControlService>,
        long_poll: Duration,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        AppState {
            service,
            long_poll,
            shutdown,
            openapi: Arc::new(OnceLock::new()),
        }
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Portcullis control plane",
        description = "Versioned gateway configuration: push, validate, activate, roll back; \
                       snapshots and heartbeats for data planes. Every error is an RFC 9457 \
                       problem document (application/problem+json)."
    ),
    modifiers(&BearerTokens),
    components(
        schemas(portcullis_protocol::admin::Problem),
        responses(problem::ProblemDocument)
    ),
    tags(
        (name = "environments"), (name = "versions"), (name = "fleet"),
        (name = "tokens"), (name = "dataplane"), (name = "health")
    )
)]
struct ApiDoc;

/// The `bearer` security scheme every `/v1` operation names.
struct BearerTokens;

impl Modify for BearerTokens {
    fn modify(&self, openapi: &mut OpenApiDocument) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pct_<43 base64url characters>")
                    .description(Some(
                        "An API token; its role (viewer, operator, admin, dataplane) decides what it may call.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The router (state applied) and its OpenAPI document.
pub fn router(state: AppState) -> (axum::Router, OpenApiDocument) {
    let (router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(
            environments::list_environments,
            environments::create_environment
        ))
        .routes(routes!(environments::get_environment))
        .routes(routes!(versions::push_version, versions::list_versions))
        .routes(routes!(versions::get_version))
        .routes(routes!(versions::validate_version))
        .routes(routes!(versions::activate_version))
        .routes(routes!(versions::rollback_environment))
        .routes(routes!(versions::diff_versions))
        .routes(routes!(versions::list_activations))
        .routes(routes!(fleet::list_instances))
        .routes(routes!(fleet::list_audit))
        .routes(routes!(tokens::list_tokens, tokens::create_token))
        .routes(routes!(tokens::revoke_token))
        .routes(routes!(tokens::whoami))
        .routes(routes!(dataplane::snapshot))
        .routes(routes!(dataplane::heartbeat))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::openapi_json))
        .split_for_parts();
    add_problem_responses(&mut openapi);
    let rendered = serde_json::to_vec(&openapi).unwrap_or_default();
    let _ = state.openapi.set(Bytes::from(rendered));
    let router = router
        .fallback(problem::route_not_found)
        .method_not_allowed_fallback(problem::method_not_allowed)
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .with_state(state);
    (router, openapi)
}

/// Every operation may answer a problem document (secured ones 401 and 403 too); the
/// statuses an operation names itself keep their own entry.
fn add_problem_responses(openapi: &mut OpenApiDocument) {
    use utoipa::openapi::Ref;

    let problem = || RefOr::Ref(Ref::from_response_name("ProblemDocument"));
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let secured = operation
                .security
                .as_ref()
                .is_some_and(|requirements| !requirements.is_empty());
            let responses = &mut operation.responses.responses;
            if secured {
                for status in ["401", "403"] {
                    responses.entry(status.to_string()).or_insert_with(problem);
                }
            }
            responses
                .entry("default".to_string())
                .or_insert_with(problem);
        }
    }
}
