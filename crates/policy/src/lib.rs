//! Authentication and authorization policy, pure: no sockets, no clocks, no global state.
//!
//! Everything here works on `http::request::Parts` (and, for content digests, body bytes) plus
//! the keys and the current time the caller passes in, so the request pipeline can call it
//! from any worker thread and tests can pin time. Key fetching (JWKS over HTTP), introspection
//! calls and TLS client certificates live in the proxy, which feeds their results in here.
//!
//! * [`principal`]: the [`Principal`] an authenticator produces.
//! * [`failure`]: the enumerated 401/403 reasons and their `WWW-Authenticate` values.
//! * [`authorize`]: per-route scope, tenant, product and admin-path checks.
//! * [`jwt`]: bearer extraction, JOSE header screening, JWKS parsing, verification, token cache.
//! * [`apikey`]: hashed API keys.
//! * [`signature`]: RFC 9421 message signatures and RFC 9530 content digests.
//! * [`identity`]: the identity headers set upstream.
//! * [`mtls`]: principals from client-certificate identities.
//! * [`introspection`]: RFC 7662 request encoding and response reading.
//! * [`material`]: the builder from a validated configuration to all of the above, refusing
//!   what cannot be built (secrets through a `SecretSource`), and the control plane's
//!   [`material::dry_run`].

pub mod apikey;
pub mod authorize;
pub mod failure;
pub mod identity;
pub mod introspection;
pub mod jwt;
pub mod material;
pub mod mtls;
pub mod principal;
pub mod scope;
pub mod signature;

pub use authorize::RouteAuthorizer;
pub use failure::{AuthFailure, Denial, DenyReason};
pub use principal::{AuthMethod, Principal};
