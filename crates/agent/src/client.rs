//! HTTP to the control plane: the snapshot long-poll and the heartbeat.
//!
//! reqwest over hyper and rustls (ring, the platform's roots plus an optional CA file; no
//! OpenSSL). Redirects are not followed (the token goes only where `--control-plane` says),
//! no proxy is taken from the environment, and every request has a deadline that covers the
//! body: the long-poll's is a little above the control plane's hold, so a dead connection is
//! noticed.

use std::fmt;
use std::time::Duration;

use portcullis_protocol::dataplane::{
    DataPlaneSnapshot, Heartbeat, HeartbeatAck, HEARTBEAT_PATH, SNAPSHOT_PATH,
};
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Response, StatusCode, Url};

use crate::error::AgentError;
use crate::settings::AgentSettings;

/// A snapshot larger than this is refused unread (configurations are capped at 10 MiB by the
/// control plane; the snapshot adds little to that).
const MAX_SNAPSHOT_BYTES: usize = 64 * 1024 * 1024;
/// Error bodies and heartbeat answers are small.
const MAX_SMALL_BODY_BYTES: usize = 64 * 1024;

pub(crate) enum PollOutcome {
    Snapshot(Box<DataPlaneSnapshot>),
    NotModified,
}

/// A request that did not get a usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RequestError {
    /// No connection, a reset, a TLS failure.
    Unreachable(String),
    TimedOut(Duration),
    Unauthorized(String),
    Forbidden(String),
    NotFound(String),
    Server(u16, String),
    Unexpected(u16, String),
    /// A 200 whose body is not what the endpoint answers.
    BadBody(String),
    TooLarge(usize),
}

impl RequestError {
    /// 401, 403 and 404 need an operator: logged as errors, not warnings.
    pub(crate) fn needs_operator(&self) -> bool {
        matches!(
            self,
            RequestError::Unauthorized(_) | RequestError::Forbidden(_) | RequestError::NotFound(_)
        )
    }
}

/// A [`RequestError`] with the control plane's address and the environment, for logs: what
/// happened and the fix.
pub(crate) struct Described<'a> {
    error: &'a RequestError,
    client: &'a ControlPlaneClient,
}

impl fmt::Display for Described<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base = &self.client.base;
        let environment = &self.client.environment;
        match self.error {
            RequestError::Unreachable(cause) => {
                write!(f, "cannot reach the control plane at {base}: {cause}")
            }
            RequestError::TimedOut(deadline) => write!(
                f,
                "the control plane at {base} did not answer within {deadline:?}"
            ),
            RequestError::Unauthorized(detail) => write!(
                f,
                "the control plane at {base} refused this data plane's token (401 \
                 Unauthorized: {detail}); fix: put a token of the `dataplane` role that has \
                 not been revoked into --token-file or PORTCULLIS_TOKEN (an admin creates one \
                 with POST /v1/tokens, role dataplane) and restart"
            ),
            RequestError::Forbidden(detail) => write!(
                f,
                "the control plane at {base} refused this data plane's token (403 Forbidden: \
                 {detail}); fix: snapshots and heartbeats need a token of the `dataplane` \
                 role: put one into --token-file or PORTCULLIS_TOKEN and restart"
            ),
            RequestError::NotFound(detail) => write!(
                f,
                "the control plane at {base} does not know environment {environment:?} (404 \
                 Not Found: {detail}); fix: create the environment on the control plane (POST \
                 /v1/environments), or correct --environment, or point --control-plane at a \
                 Portcullis control plane"
            ),
            RequestError::Server(status, detail) => write!(
                f,
                "the control plane at {base} failed (HTTP {status}: {detail})"
            ),
            RequestError::Unexpected(status, detail) => write!(
                f,
                "the control plane at {base} answered HTTP {status}: {detail}"
            ),
            RequestError::BadBody(reason) => write!(
                f,
                "the control plane at {base} answered a body that cannot be read: {reason}"
            ),
            RequestError::TooLarge(limit) => write!(
                f,
                "the control plane at {base} answered a body over {limit} bytes; refused \
                 unread"
            ),
        }
    }
}

pub(crate) struct ControlPlaneClient {
    http: reqwest::Client,
    base: Url,
    snapshot_url: Url,
    heartbeat_url: Url,
    /// `Bearer <token>`, marked sensitive so it is never shown in debug output.
    authorization: HeaderValue,
    environment: String,
    pool: String,
    poll_deadline: Duration,
    request_timeout: Duration,
}

impl ControlPlaneClient {
    pub(crate) fn new(settings: &AgentSettings, base: Url) -> Result<Self, AgentError> {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .connect_timeout(settings.request_timeout)
            .tcp_keepalive(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(format!("portcullis-agent/{}", settings.agent_version));
        if let Some(path) = &settings.ca_file {
            let ca_error = |reason: String| AgentError::CaFile {
                path: path.clone(),
                reason,
            };
            let pem = std::fs::read(path).map_err(|error| ca_error(error.to_string()))?;
            let certificates = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|error| ca_error(format!("not a PEM certificate bundle: {error}")))?;
            if certificates.is_empty() {
                return Err(ca_error("it holds no PEM certificate".to_owned()));
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let http = builder
            .build()
            .map_err(|error| AgentError::Client(error_chain(&error)))?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", settings.token))
            .map_err(|_| AgentError::TokenNotHeaderSafe)?;
        authorization.set_sensitive(true);
        Ok(ControlPlaneClient {
            http,
            snapshot_url: endpoint(&base, SNAPSHOT_PATH)?,
            heartbeat_url: endpoint(&base, HEARTBEAT_PATH)?,
            base,
            authorization,
            environment: settings.environment.clone(),
            pool: settings.pool.clone(),
            poll_deadline: settings.poll_deadline,
            request_timeout: settings.request_timeout,
        })
    }

    pub(crate) fn base(&self) -> &Url {
        &self.base
    }

    pub(crate) fn describe<'a>(&'a self, error: &'a RequestError) -> Described<'a> {
        Described {
            error,
            client: self,
        }
    }

    /// One long-poll: a snapshot when the assigned checksum differs from `known`, else 304
    /// after the control plane's hold.
    pub(crate) async fn poll(&self, known: Option<&str>) -> Result<PollOutcome, RequestError> {
        let mut url = self.snapshot_url.clone();
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("environment", &self.environment);
            query.append_pair("pool", &self.pool);
            if let Some(known) = known {
                query.append_pair("known", known);
            }
        }
        let response = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, "application/json")
            .timeout(self.poll_deadline)
            .send()
            .await
            .map_err(|error| transport_error(error, self.poll_deadline))?;
        match response.status() {
            StatusCode::OK => {
                let body = read_body(response, MAX_SNAPSHOT_BYTES, self.poll_deadline).await?;
                // Megabytes of JSON: decoded off the runtime's threads, which serve traffic.
                let snapshot = tokio::task::spawn_blocking(move || {
                    serde_json::from_slice::<DataPlaneSnapshot>(&body)
                        .map_err(|error| RequestError::BadBody(error.to_string()))
                })
                .await
                .map_err(|error| RequestError::BadBody(error.to_string()))??;
                Ok(PollOutcome::Snapshot(Box::new(snapshot)))
            }
            StatusCode::NOT_MODIFIED => Ok(PollOutcome::NotModified),
            _ => Err(status_error(response, self.poll_deadline).await),
        }
    }

    /// Sends a heartbeat already encoded with [`encode_heartbeat`].
    pub(crate) async fn heartbeat(&self, body: Vec<u8>) -> Result<HeartbeatAck, RequestError> {
        let response = self
            .http
            .post(self.heartbeat_url.clone())
            .header(AUTHORIZATION, self.authorization.clone())
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .body(body)
            .timeout(self.request_timeout)
            .send()
            .await
            .map_err(|error| transport_error(error, self.request_timeout))?;
        if response.status() != StatusCode::OK {
            return Err(status_error(response, self.request_timeout).await);
        }
        let body = read_body(response, MAX_SMALL_BODY_BYTES, self.request_timeout).await?;
        serde_json::from_slice(&body).map_err(|error| RequestError::BadBody(error.to_string()))
    }
}

/// The heartbeat's JSON body.
pub(crate) fn encode_heartbeat(heartbeat: &Heartbeat) -> Result<Vec<u8>, RequestError> {
    serde_json::to_vec(heartbeat)
        .map_err(|error| RequestError::BadBody(format!("heartbeat not encoded: {error}")))
}

/// `base` + `path`, keeping a path prefix of the base (`https://host/portcullis`).
fn endpoint(base: &Url, path: &str) -> Result<Url, AgentError> {
    let joined = format!("{}{path}", base.as_str().trim_end_matches('/'));
    Url::parse(&joined).map_err(|error| AgentError::ControlPlaneUrl {
        value: base.to_string(),
        reason: error.to_string(),
    })
}

async fn read_body(
    mut response: Response,
    limit: usize,
    deadline: Duration,
) -> Result<Vec<u8>, RequestError> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| transport_error(error, deadline))?
    {
        if body.len() + chunk.len() > limit {
            return Err(RequestError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn status_error(response: Response, deadline: Duration) -> RequestError {
    let status = response.status();
    let detail = match read_body(response, MAX_SMALL_BODY_BYTES, deadline).await {
        Ok(body) => problem_detail(&body),
        Err(_) => String::from("(no readable body)"),
    };
    match status.as_u16() {
        401 => RequestError::Unauthorized(detail),
        403 => RequestError::Forbidden(detail),
        404 => RequestError::NotFound(detail),
        code @ 500..=599 => RequestError::Server(code, detail),
        code => RequestError::Unexpected(code, detail),
    }
}

/// The `detail` (else `title`) of a problem+json body, else the start of the text; control
/// characters removed so a peer cannot shape the log.
fn problem_detail(body: &[u8]) -> String {
    let text = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|value| {
            ["detail", "title"]
                .iter()
                .find_map(|key| value.get(*key).and_then(|v| v.as_str()).map(str::to_owned))
        })
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    match cleaned.trim() {
        "" => "(empty body)".to_owned(),
        trimmed => trimmed.to_owned(),
    }
}

fn transport_error(error: reqwest::Error, deadline: Duration) -> RequestError {
    if error.is_timeout() {
        RequestError::TimedOut(deadline)
    } else {
        // The control plane's address is in the message already; the full URL would only
        // repeat it with the query.
        RequestError::Unreachable(error_chain(&error.without_url()))
    }
}

/// The error and its causes, without the URL (it is named by the caller).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_a_path_prefix() {
        let cases = [
            (
                "http://127.0.0.1:7070",
                "http://127.0.0.1:7070/v1/dataplane/snapshot",
            ),
            (
                "http://127.0.0.1:7070/",
                "http://127.0.0.1:7070/v1/dataplane/snapshot",
            ),
            (
                "https://cp.example.com/portcullis/",
                "https://cp.example.com/portcullis/v1/dataplane/snapshot",
            ),
        ];
        for (base, expected) in cases {
            let base = Url::parse(base).expect("url");
            assert_eq!(
                endpoint(&base, SNAPSHOT_PATH).expect("join").as_str(),
                expected
            );
        }
    }

    #[test]
    fn problem_details_are_extracted_and_cleaned() {
        let cases: [(&[u8], &str); 5] = [
            (
                br#"{"title":"Unauthorized","detail":"token revoked"}"#,
                "token revoked",
            ),
            (br#"{"title":"Forbidden"}"#, "Forbidden"),
            (b"plain\ntext\x1b[31m", "plain text [31m"),
            (b"", "(empty body)"),
            (b"{\"detail\":\"   \"}", "(empty body)"),
        ];
        for (body, expected) in cases {
            assert_eq!(problem_detail(body), expected);
        }
    }
}
