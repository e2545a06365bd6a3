//! The pipeline's entry into authentication and authorization: one call between shaping
//! and rate limiting that authenticates, authorizes, records the outcome for the access
//! log and prepares the headers (and, for signed requests, the body) the upstream sees.

use std::sync::Arc;

use http::request::Parts;
use http_body::Body as _;
use hyper::body::Incoming;
use portcullis_error::GatewayError;
use portcullis_policy::signature::ContentDigest;
use portcullis_policy::{AuthMethod, Principal};
use portcullis_router::CompiledRoute;

use super::signed_body::{read_verified, SignedBodyError};
use super::AuthRejection;
use crate::forward::ClientBody;
use crate::gateway::Installed;
use crate::respond::Completion;
use crate::server::ConnectionContext;

/// Phases 5 and 6. On success the request's headers carry the gateway's identity headers
/// (client-sent copies removed) and `Authorization` only where the route forwards it; the
/// principal is returned for rate limiting and kept in `completion` for the access log. A
/// signed request's body comes back read whole and checked against its `Content-Digest`;
/// any other body is passed on untouched (streamed). On failure `completion` holds the
/// `WWW-Authenticate` challenge the error response carries. `canonical_path` is the path
/// routing used (admin prefixes are checked on it, never on the client's spelling).
pub(crate) async fn authenticate_and_authorize(
    installed: &Installed,
    route: &CompiledRoute,
    parts: &mut Parts,
    canonical_path: &str,
    body: Incoming,
    connection: &ConnectionContext,
    completion: &mut Completion,
) -> Result<(Option<Arc<Principal>>, ClientBody), GatewayError> {
    let auth = &installed.auth;
    // Never forward identity headers a client made up, whatever happens next.
    auth.strip_identity_headers(&mut parts.headers);
    let metrics = installed.route_metrics_by_id(route.id);
    let has_body = !body.is_end_stream();
    let outcome = async {
        let principal = auth
            .authenticate(
                route,
                parts,
                has_body,
                connection.client_identity.get(),
                metrics,
            )
            .await?;
        let signed = principal
            .as_deref()
            .is_some_and(|principal| principal.method == AuthMethod::Signature);
        let body = if signed && has_body {
            let digest = ContentDigest::from_parts(parts)
                .map_err(|failure| AuthRejection::unauthenticated(failure, metrics))?;
            let limit = route.request_policy.max_body_bytes;
            let read_timeout = connection.listener.body_read_timeout;
            match Box::pin(read_verified(body, digest, limit, read_timeout)).await {
                Ok(bytes) => ClientBody::Buffered(bytes),
                Err(SignedBodyError::Refused(failure)) => {
                    return Err(AuthRejection::unauthenticated(failure, metrics))
                }
                Err(SignedBodyError::Body(error)) => {
                    return Err(AuthRejection {
                        error,
                        challenge: None,
                    })
                }
            }
        } else {
            ClientBody::Streaming(body)
        };
        auth.authorize(route, principal.as_deref(), canonical_path, metrics)?;
        Ok::<_, AuthRejection>((principal, body))
    };
    match outcome.await {
        Ok((principal, body)) => {
            auth.prepare_upstream_headers(route, &mut parts.headers, principal.as_deref());
            completion.principal = principal.clone();
            Ok((principal, body))
        }
        Err(rejection) => {
            completion.challenge = rejection.challenge;
            Err(rejection.error)
        }
    }
}
