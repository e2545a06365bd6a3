//! `authentication.jwt`: each issuer's rules and where its keys come from. Inline JWK Sets
//! are parsed here, and an inline key that cannot be used is refused (the operator wrote it);
//! a fetched set's odd keys are skipped at fetch time instead, since the provider wrote those.

use std::str::FromStr;
use std::sync::Arc;

use http::Uri;
use jsonwebtoken::Algorithm;
use portcullis_config::model::{JwtAuthentication, JwtIssuer};

use super::Build;
use crate::jwt::{IssuerPolicy, KeySet, RefreshPolicy, DEFAULT_ALGORITHMS};

/// The JWT settings of one snapshot, ready to verify with.
#[derive(Debug, Clone)]
pub struct JwtMaterial {
    /// In configuration order.
    pub issuers: Vec<IssuerMaterial>,
}

/// One issuer: its rules and its keys.
#[derive(Debug, Clone)]
pub struct IssuerMaterial {
    pub policy: IssuerPolicy,
    pub keys: KeySource,
}

/// Where an issuer's keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `jwks`: parsed, every key usable.
    Inline(Arc<KeySet>),
    /// `jwksUri`: an `http(s)` URL the data plane fetches and refreshes within `refresh`.
    Fetched { uri: Uri, refresh: RefreshPolicy },
}

pub(super) fn build(config: &JwtAuthentication, build: &mut Build) -> Option<JwtMaterial> {
    let before = build.problems.len();
    let issuers: Vec<IssuerMaterial> = config
        .issuers
        .iter()
        .enumerate()
        .filter_map(|(index, issuer)| {
            build_issuer(
                &format!("authentication.jwt.issuers[{index}]"),
                issuer,
                build,
            )
        })
        .collect();
    (build.problems.len() == before).then_some(JwtMaterial { issuers })
}

fn build_issuer(path: &str, issuer: &JwtIssuer, build: &mut Build) -> Option<IssuerMaterial> {
    let algorithms = algorithms(path, issuer, build);
    let keys = match (&issuer.jwks, &issuer.jwks_uri) {
        (Some(document), _) => inline_keys(&format!("{path}.jwks"), document, build),
        (None, Some(uri)) => fetched_keys(&format!("{path}.jwksUri"), uri, issuer, build),
        (None, None) => {
            build.problem(
                path,
                "an issuer needs `jwksUri` (fetched and cached) or `jwks` (inline keys)",
            );
            None
        }
    };
    let policy = IssuerPolicy {
        issuer: issuer.issuer.clone(),
        audiences: issuer.audiences.clone(),
        algorithms: algorithms?,
        clock_tolerance_seconds: issuer.clock_tolerance_seconds,
        tenant_claim: issuer.tenant_claim.clone(),
        scopes_claim: issuer.scopes_claim.clone(),
        token_types: crate::jwt::TokenTypes::new(&issuer.allowed_types),
    };
    Some(IssuerMaterial {
        policy,
        keys: keys?,
    })
}

fn algorithms(path: &str, issuer: &JwtIssuer, build: &mut Build) -> Option<Vec<Algorithm>> {
    if issuer.algorithms.is_empty() {
        return Some(DEFAULT_ALGORITHMS.to_vec());
    }
    let mut parsed = Vec::with_capacity(issuer.algorithms.len());
    let mut refused = false;
    for (index, name) in issuer.algorithms.iter().enumerate() {
        match Algorithm::from_str(name) {
            Ok(algorithm) => parsed.push(algorithm),
            Err(_) => {
                refused = true;
                build.problem(
                    format!("{path}.algorithms[{index}]"),
                    format!("the verifier does not support algorithm `{name}`: use RS256, PS256, ES256 or EdDSA (or leave algorithms out for those)"),
                );
            }
        }
    }
    (!refused).then_some(parsed)
}

fn inline_keys(path: &str, document: &serde_json::Value, build: &mut Build) -> Option<KeySource> {
    let (keys, unusable) = match KeySet::parse_jwks_value(document) {
        Ok(parsed) => parsed,
        Err(error) => {
            build.problem(
                path,
                format!(
                    "{error}: write the issuer's public keys as {{\"keys\": [{{\"kty\": …}}]}}"
                ),
            );
            return None;
        }
    };
    if !unusable.is_empty() {
        for (index, reason) in unusable {
            build.problem(
                format!("{path}.keys[{index}]"),
                format!(
                    "this key cannot be used ({reason}): fix it or remove it from the inline set"
                ),
            );
        }
        return None;
    }
    if keys.is_empty() {
        build.problem(
            path,
            "the inline JWK Set holds no keys, so no token of this issuer could verify: add the issuer's public keys",
        );
        return None;
    }
    Some(KeySource::Inline(Arc::new(keys)))
}

fn fetched_keys(path: &str, uri: &str, issuer: &JwtIssuer, build: &mut Build) -> Option<KeySource> {
    let parsed = Uri::from_str(uri).ok().filter(|parsed| {
        matches!(parsed.scheme_str(), Some("http" | "https")) && parsed.authority().is_some()
    });
    match parsed {
        Some(uri) => Some(KeySource::Fetched {
            uri,
            refresh: RefreshPolicy::from_config(issuer),
        }),
        None => {
            build.problem(
                path,
                format!("`{uri}` is not an http(s) URL: write one such as https://auth.example.com/.well-known/jwks.json"),
            );
            None
        }
    }
}
