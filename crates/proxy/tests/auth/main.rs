//! Authentication and authorization end to end (one test binary: JWT and JWKS, API keys,
//! mTLS, introspection and signed requests against real local servers).

#[path = "../common/mod.rs"]
mod common;
mod support;

mod apikey;
mod forwarded_credentials;
mod introspection;
mod jwks;
mod jwt;
mod jwt_members;
mod mtls;
mod signatures;
