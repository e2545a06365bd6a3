//! Which credential a request presents, among the kinds its route accepts.
//!
//! One credential is verified per request, chosen in a fixed order: a signature, an API
//! key, a bearer token, then the TLS client certificate. A credential that is present but
//! invalid is a 401; the gateway never falls back to a weaker one. Credentials of kinds the
//! route does not accept are ignored (an API key sent to a JWT-only route is no credential).

use http::header::AUTHORIZATION;
use http::request::Parts;
use portcullis_config::model::AuthMethod;
use portcullis_policy::jwt::bearer_token;
use portcullis_policy::mtls::ClientIdentity;
use portcullis_policy::AuthFailure;

use super::{RouteAuth, SnapshotAuth};

pub(super) static SIGNATURE_INPUT: http::HeaderName =
    http::HeaderName::from_static("signature-input");
pub(super) static SIGNATURE: http::HeaderName = http::HeaderName::from_static("signature");

/// The credential a request carries (borrowed from it).
#[derive(Debug)]
pub(crate) enum Credential<'a> {
    Signature,
    ApiKey,
    /// A bearer token verified locally as a JWT.
    Jwt(&'a str),
    /// A bearer token asked about at the introspection endpoint.
    Introspection(&'a str),
    ClientCertificate(&'a ClientIdentity),
}

/// `Ok(None)`: no credential of an accepted kind.
pub(super) fn find<'a>(
    auth: &SnapshotAuth,
    route: &RouteAuth,
    parts: &'a Parts,
    client_identity: Option<&'a ClientIdentity>,
) -> Result<Option<Credential<'a>>, AuthFailure> {
    if route.accepts(AuthMethod::Signature)
        && (parts.headers.contains_key(&SIGNATURE_INPUT) || parts.headers.contains_key(&SIGNATURE))
    {
        return Ok(Some(Credential::Signature));
    }
    if route.accepts(AuthMethod::ApiKey) {
        if let Some(store) = &auth.api_keys {
            if parts.headers.contains_key(store.header()) {
                return Ok(Some(Credential::ApiKey));
            }
        }
    }
    let bearer_accepted =
        route.accepts(AuthMethod::Jwt) || route.accepts(AuthMethod::Introspection);
    // Two headers, another scheme, an oversized token: all 401 here.
    if bearer_accepted && parts.headers.contains_key(AUTHORIZATION) {
        if let Some(token) = bearer_token(parts)? {
            // Compact JWS tokens go to local verification when the route accepts JWTs;
            // opaque ones to introspection.
            let jws_shaped = token.split('.').count() == 3;
            let local = route.accepts(AuthMethod::Jwt)
                && (jws_shaped || !route.accepts(AuthMethod::Introspection));
            return Ok(Some(if local {
                Credential::Jwt(token)
            } else {
                Credential::Introspection(token)
            }));
        }
    }
    if route.accepts(AuthMethod::Mtls) {
        if let Some(identity) = client_identity {
            return Ok(Some(Credential::ClientCertificate(identity)));
        }
    }
    Ok(None)
}
