//! The policy material builder: from a [`ValidatedConfig`], every authentication object whose
//! construction can fail — JWT issuers with their algorithms and inline JWK Sets (or the
//! `http(s)` URL their keys are fetched from), the API-key store, the RFC 9421 verifier with
//! its secrets and public keys, the mTLS mapper, the introspection endpoint and credentials,
//! the identity header names. Errors are [`ConfigErrors`], each with its field path, the value
//! and the fix, all of them at once.
//!
//! Secrets (`env:NAME`, `file:PATH`) come through a [`SecretSource`]: the data plane passes
//! one that reads its environment and files; [`dry_run`] (what the control plane calls) uses
//! [`DeferredSecrets`], which checks each reference's form and reads nothing. Everything else
//! is decided here, the same way for both: a configuration one refuses, the other refuses too,
//! with the same words.
//!
//! Pure: no sockets, no clock, no task. What outlives a snapshot (fetched JWKS, caches) is the
//! data plane's business; this builds only what one snapshot needs.

mod introspection;
mod jwt;
mod secrets;
mod signatures;

use portcullis_config::model::{ApiKeyAuthentication, IdentityHeaders};
use portcullis_config::{ConfigError, ConfigErrors, ValidatedConfig};

use crate::apikey::{ApiKeyConfigError, ApiKeyStore};
use crate::identity::IdentityHeaderNames;
use crate::mtls::MtlsMapper;
use crate::signature::SignatureVerifier;

pub use introspection::IntrospectionMaterial;
pub use jwt::{IssuerMaterial, JwtMaterial, KeySource};
pub use secrets::{
    trim_line_break, DeferredSecrets, Secret, SecretError, SecretReference, SecretSource,
    MAX_SECRET_FILE_BYTES,
};

/// Every authentication object of one configuration, built. A section the configuration
/// does not have is `None`.
#[derive(Debug)]
pub struct PolicyMaterial {
    pub identity_headers: IdentityHeaderNames,
    pub jwt: Option<JwtMaterial>,
    pub api_keys: Option<ApiKeyStore>,
    pub signatures: Option<SignatureVerifier>,
    pub mtls: Option<MtlsMapper>,
    pub introspection: Option<IntrospectionMaterial>,
    /// Field paths of secrets the source deferred (left unread); their keys are left out.
    deferred: Vec<String>,
}

impl PolicyMaterial {
    /// Field paths of the secrets the source did not read. Empty when built with a source
    /// that reads (the data plane installs only such material); a dry run lists them here.
    pub fn deferred(&self) -> &[String] {
        &self.deferred
    }

    /// True when every secret was read, so the material is whole.
    pub fn is_complete(&self) -> bool {
        self.deferred.is_empty()
    }
}

/// Builds the authentication material of `config`, resolving secrets through `secrets`.
/// Errors are in source order, with positions when the configuration came from text.
pub fn build(
    config: &ValidatedConfig,
    secrets: &dyn SecretSource,
) -> Result<PolicyMaterial, ConfigErrors> {
    let authentication = &config.config().authentication;
    let mut build = Build::default();
    let identity_headers = identity_headers(&authentication.identity_headers, &mut build);
    let jwt = authentication
        .jwt
        .as_ref()
        .map(|settings| jwt::build(settings, &mut build));
    let api_keys = authentication
        .api_keys
        .as_ref()
        .map(|settings| api_keys(settings, &mut build));
    let signatures = authentication
        .signatures
        .as_ref()
        .map(|settings| signatures::build(settings, secrets, &mut build));
    let mtls = authentication.mtls.as_ref().map(MtlsMapper::from_config);
    let introspection = authentication
        .introspection
        .as_ref()
        .map(|settings| introspection::build(settings, secrets, &mut build));
    let Build { problems, deferred } = build;
    match identity_headers {
        Some(identity_headers) if problems.is_empty() => Ok(PolicyMaterial {
            identity_headers,
            // With no problem recorded every section that is present was built.
            jwt: jwt.flatten(),
            api_keys: api_keys.flatten(),
            signatures: signatures.flatten(),
            mtls,
            introspection: introspection.flatten(),
            deferred,
        }),
        _ => Err(config.locate(ConfigErrors::new(problems))),
    }
}

/// Everything [`build`] decides without the data plane's environment and files: what the
/// control plane runs before a version may be activated. Secret references are checked for
/// their form only.
pub fn dry_run(config: &ValidatedConfig) -> Result<(), ConfigErrors> {
    build(config, &DeferredSecrets).map(drop)
}

/// Problems found so far, and the secrets a source deferred.
#[derive(Debug, Default)]
struct Build {
    problems: Vec<ConfigError>,
    deferred: Vec<String>,
}

impl Build {
    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(ConfigError::new(path, message));
    }

    /// The secret `reference` (at field `path`) names. `None` when it is refused (a problem is
    /// recorded) or deferred (its path is remembered).
    fn secret(
        &mut self,
        path: &str,
        reference: &str,
        secrets: &dyn SecretSource,
    ) -> Option<Secret> {
        let read = SecretReference::parse(reference).and_then(|parsed| secrets.read(parsed));
        match read {
            Ok(Some(secret)) => Some(secret),
            Ok(None) => {
                self.deferred.push(path.to_string());
                None
            }
            Err(error) => {
                self.problem(path, error.to_string());
                None
            }
        }
    }
}

fn identity_headers(config: &IdentityHeaders, build: &mut Build) -> Option<IdentityHeaderNames> {
    let mut parse = |field: &str, name: &str| {
        let parsed = http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).ok();
        if parsed.is_none() {
            build.problem(
                format!("authentication.identityHeaders.{field}"),
                format!(
                    "{} is not a valid header name: use one such as x-portcullis-{field}",
                    shown(name)
                ),
            );
        }
        parsed
    };
    let subject = parse("subject", &config.subject);
    let tenant = parse("tenant", &config.tenant);
    let scopes = parse("scopes", &config.scopes);
    Some(IdentityHeaderNames {
        subject: subject?,
        tenant: tenant?,
        scopes: scopes?,
    })
}

fn api_keys(config: &ApiKeyAuthentication, build: &mut Build) -> Option<ApiKeyStore> {
    let path = "authentication.apiKeys";
    match ApiKeyStore::from_config(config) {
        Ok(store) => Some(store),
        Err(ApiKeyConfigError::InvalidHeader(header)) => {
            build.problem(
                format!("{path}.header"),
                format!(
                    "{} is not a valid header name: use one such as x-api-key",
                    shown(&header)
                ),
            );
            None
        }
        Err(ApiKeyConfigError::InvalidHash { index, id }) => {
            build.problem(
                format!("{path}.keys[{index}].hash"),
                format!("the hash of key `{id}` is not `sha256:` + 64 lower-case hex digits: write the SHA-256 of the key (`portcullis apikey new` prints one)"),
            );
            None
        }
        Err(ApiKeyConfigError::InvalidExpiry { index, id, value }) => {
            build.problem(
                format!("{path}.keys[{index}].expiresAt"),
                format!("`{value}` of key `{id}` is not an RFC 3339 time: write one such as 2026-04-08T10:15:30Z"),
            );
            None
        }
    }
}

/// A value as an error message shows it: quoted, and cut (with its length) when it is too
/// long to read.
fn shown(value: &str) -> String {
    const SHOWN_CHARS: usize = 64;
    match value.char_indices().nth(SHOWN_CHARS) {
        None => format!("`{value}`"),
        Some((cut, _)) => format!("`{}…` ({} bytes)", &value[..cut], value.len()),
    }
}
