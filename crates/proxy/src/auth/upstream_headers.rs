//! The request headers the upstream sees after authentication: the gateway's identity
//! headers, and no credential the gateway consumed.
//!
//! One rule for every method: on a route that authenticates (`auth: required` or
//! `optional`), the credential headers of every configured method are removed before
//! forwarding — `Authorization` (JWT, introspection), the API-key header (whatever name
//! `authentication.apiKeys.header` gives it), `Signature` and `Signature-Input` — unless the
//! route sets `forwardAuthorization: true`, which forwards them all unchanged. `auth: none`
//! routes consumed nothing and pass everything on. `Content-Digest` is kept: it is no
//! secret, only a digest of the body the upstream receives, and the upstream may check it.
//! mTLS has nothing to strip: the certificate never travels as a header.

use http::header::AUTHORIZATION;
use http::HeaderMap;
use portcullis_config::model::AuthMode;
use portcullis_policy::Principal;
use portcullis_router::CompiledRoute;

use super::credentials::{SIGNATURE, SIGNATURE_INPUT};
use super::SnapshotAuth;

impl SnapshotAuth {
    /// The headers the upstream sees: the gateway's identity headers for `principal`, and
    /// the consumed credentials removed unless the route forwards them (module docs).
    pub(crate) fn prepare_upstream_headers(
        &self,
        route: &CompiledRoute,
        headers: &mut HeaderMap,
        principal: Option<&Principal>,
    ) {
        self.identity_headers.apply(headers, principal);
        // A route without settings (cannot happen) strips: fail closed.
        let forward = self.route(route).is_some_and(|route_auth| {
            route_auth.forward_authorization || route_auth.mode == AuthMode::None
        });
        if forward {
            return;
        }
        headers.remove(AUTHORIZATION);
        if let Some(store) = &self.api_keys {
            headers.remove(store.header());
        }
        if self.signatures.is_some() {
            headers.remove(&SIGNATURE);
            headers.remove(&SIGNATURE_INPUT);
        }
    }
}
