//! `authentication.introspection`: the endpoint and the client credentials, resolved.

use std::str::FromStr;

use http::{HeaderValue, Uri};
use portcullis_config::model::IntrospectionAuthentication;

use super::secrets::SecretSource;
use super::Build;
use crate::introspection::basic_authorization;

/// What the data plane needs to call the introspection endpoint.
#[derive(Clone)]
pub struct IntrospectionMaterial {
    pub settings: IntrospectionAuthentication,
    pub endpoint: Uri,
    /// `Basic` credentials of `clientId` and the resolved client secret (marked sensitive).
    pub authorization: HeaderValue,
}

impl std::fmt::Debug for IntrospectionMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectionMaterial")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.settings.client_id)
            .finish_non_exhaustive()
    }
}

pub(super) fn build(
    settings: &IntrospectionAuthentication,
    secrets: &dyn SecretSource,
    build: &mut Build,
) -> Option<IntrospectionMaterial> {
    let path = "authentication.introspection";
    let endpoint = Uri::from_str(&settings.endpoint).ok().filter(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https")) && uri.authority().is_some()
    });
    if endpoint.is_none() {
        build.problem(
            format!("{path}.endpoint"),
            format!(
                "`{}` is not an http(s) URL: write one such as https://auth.example.com/oauth2/introspect",
                settings.endpoint
            ),
        );
    }
    let secret_path = format!("{path}.clientSecret");
    let secret = build.secret(&secret_path, &settings.client_secret, secrets)?;
    let Ok(secret) = String::from_utf8(secret.into_bytes()) else {
        build.problem(
            &secret_path,
            format!(
                "`{}` does not hold UTF-8 text: a client secret is text",
                settings.client_secret
            ),
        );
        return None;
    };
    // Base64 after `Basic ` is always header text; refuse rather than panic should it not be.
    let Ok(mut authorization) =
        HeaderValue::from_str(&basic_authorization(&settings.client_id, &secret))
    else {
        build.problem(
            format!("{path}.clientId"),
            "the client credentials do not form a header value: use a plain client id",
        );
        return None;
    };
    authorization.set_sensitive(true);
    Some(IntrospectionMaterial {
        settings: settings.clone(),
        endpoint: endpoint?,
        authorization,
    })
}
