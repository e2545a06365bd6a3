//! The admin API over HTTP: a bearer token on every request, JSON both ways, and every error
//! answer read as the control plane's problem document.

use std::path::Path;
use std::time::Duration;

use portcullis_protocol::admin::Problem;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::args::Connection;
use super::error::CommandError;

/// A connection to one control plane, with the caller's token.
pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

/// Longer than any single admin call should take, short enough that a hung control plane
/// does not hang a deploy script.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

impl AdminClient {
    pub fn connect(connection: &Connection) -> Result<AdminClient, CommandError> {
        let token = read_token(connection.token_file.as_deref())?;
        let base = connection.control_plane.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CommandError::Usage(format!(
                "--control-plane {base:?} is not an http:// or https:// URL; \
                 use for example http://127.0.0.1:7070"
            )));
        }
        let mut builder = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("portcullis-cli/", env!("CARGO_PKG_VERSION")));
        if let Some(ca_file) = &connection.ca_file {
            for certificate in read_ca_file(ca_file)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let http = builder.build().map_err(|error| {
            CommandError::Usage(format!("cannot set up the HTTP client: {error}"))
        })?;
        Ok(AdminClient { http, base, token })
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CommandError> {
        self.send(self.http.get(self.url(path))).await
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, CommandError> {
        self.send(self.http.post(self.url(path)).json(body)).await
    }

    /// DELETE answering `204 No Content`.
    pub async fn delete(&self, path: &str) -> Result<(), CommandError> {
        let response = self.execute(self.http.delete(self.url(path))).await?;
        check_status(response).await.map(drop)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, CommandError> {
        let response = check_status(self.execute(request).await?).await?;
        let url = response.url().to_string();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| CommandError::unreachable(&url, &error))?;
        serde_json::from_slice(&bytes).map_err(|error| CommandError::Unexpected {
            status: 200,
            detail: format!("{url} answered a document this CLI does not understand ({error}); is the control plane the same release?"),
        })
    }

    async fn execute(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, CommandError> {
        request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|error| CommandError::unreachable(&self.base, &error))
    }
}

/// A success passes through; an error answer becomes [`CommandError::Refused`] carrying the
/// problem document (or an invented one when the body is not a problem).
async fn check_status(response: reqwest::Response) -> Result<reqwest::Response, CommandError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let url = response.url().to_string();
    let body = response.bytes().await.unwrap_or_default();
    let problem = serde_json::from_slice::<Problem>(&body).unwrap_or_else(|_| Problem {
        problem_type: "about:blank".to_string(),
        title: status.canonical_reason().unwrap_or("error").to_string(),
        status: status.as_u16(),
        code: "unexpected_response".to_string(),
        detail: Some(format!(
            "{url} answered {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(512)])
        )),
        errors: Vec::new(),
    });
    Err(CommandError::Refused(Box::new(problem)))
}

/// The token from `--token-file` (whitespace around it ignored), else `PORTCULLIS_TOKEN`.
fn read_token(token_file: Option<&Path>) -> Result<String, CommandError> {
    let token = match token_file {
        Some(path) => std::fs::read_to_string(path).map_err(|error| {
            CommandError::Usage(format!(
                "cannot read the token file {} (--token-file): {error}",
                path.display()
            ))
        })?,
        None => std::env::var("PORTCULLIS_TOKEN").unwrap_or_default(),
    };
    let token = token.trim().to_string();
    if token.is_empty() {
        return Err(CommandError::Usage(
            "no API token: pass --token-file FILE or set PORTCULLIS_TOKEN (the control plane \
             writes its first admin token to <data-dir>/admin.token)"
                .to_string(),
        ));
    }
    Ok(token)
}

fn read_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, CommandError> {
    let pem = std::fs::read(path).map_err(|error| {
        CommandError::Usage(format!(
            "cannot read the CA file {} (--ca-file): {error}",
            path.display()
        ))
    })?;
    reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| {
        CommandError::Usage(format!(
            "the CA file {} (--ca-file) holds no usable PEM certificate: {error}",
            path.display()
        ))
    })
}

/// `value` percent-encoded as one URL path segment: names typed by an operator can never
/// change which endpoint is called.
pub fn segment(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(segment("production"), "production");
        assert_eq!(segment("../tokens"), "%2E%2E%2Ftokens");
        assert_eq!(segment("a b?c#d"), "a%20b%3Fc%23d");
    }

    #[test]
    fn a_token_file_is_trimmed_and_an_empty_one_refused() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("token");
        std::fs::write(&path, "  pct_secret\n").expect("write token");
        assert_eq!(read_token(Some(&path)).expect("token"), "pct_secret");
        std::fs::write(&path, "\n").expect("write empty token");
        let error = read_token(Some(&path)).expect_err("empty token refused");
        assert!(error.to_string().contains("no API token"), "{error}");
        let missing = dir.path().join("missing");
        let error = read_token(Some(&missing)).expect_err("missing file refused");
        assert!(error.to_string().contains("--token-file"), "{error}");
    }
}
