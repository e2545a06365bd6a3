//! What the binary tells the agent: where the control plane is, who this data plane is, where
//! its last-known-good copy lives, and the timings (with their defaults).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::Url;

use crate::error::AgentError;

/// The pool a data plane belongs to when none is given.
pub const DEFAULT_POOL: &str = "default";
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(5);
/// A little above the control plane's 30 s long-poll hold, so a long-poll on a dead TCP
/// connection (peer gone without a FIN or RST) is noticed instead of waiting forever.
pub const DEFAULT_POLL_DEADLINE: Duration = Duration::from_secs(45);
/// Deadline of a heartbeat and of establishing any connection (TCP and TLS).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_RETRY_INITIAL: Duration = Duration::from_millis(250);
pub const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(10);

/// Settings of [`crate::Agent::start`]. Build with [`AgentSettings::new`], then change the
/// public fields. `Debug` never shows the token.
#[derive(Clone)]
pub struct AgentSettings {
    /// The control plane's base URL, `http://` or `https://` (`--control-plane`).
    pub control_plane: String,
    /// A token with the `dataplane` role (from `--token-file` or `PORTCULLIS_TOKEN`; never a
    /// flag value). Sent as `Authorization: Bearer`, never logged.
    pub token: String,
    /// `--environment`.
    pub environment: String,
    /// `--pool`; [`DEFAULT_POOL`] by default.
    pub pool: String,
    /// `--state-dir`: where the last-known-good snapshot is kept (created 0700 if missing).
    pub state_dir: PathBuf,
    /// `--instance-id`; [`default_instance_id`] by default.
    pub instance_id: String,
    /// Reported in heartbeats as `agentVersion`; this crate's version by default.
    pub agent_version: String,
    /// Time between heartbeats; 5 s.
    pub heartbeat_interval: Duration,
    /// How long start-up waits for the control plane before serving the disk copy; 5 s.
    pub startup_timeout: Duration,
    /// Deadline of one long-poll request, body included; 45 s.
    pub poll_deadline: Duration,
    /// Deadline of a heartbeat and of connecting; 10 s.
    pub request_timeout: Duration,
    /// First delay after a failed poll; it doubles (jittered) up to `retry_max`. 250 ms.
    pub retry_initial: Duration,
    /// 10 s.
    pub retry_max: Duration,
    /// A PEM file of extra root certificates for an `https://` control plane (a private
    /// authority), trusted besides the platform's roots.
    pub ca_file: Option<PathBuf>,
}

impl AgentSettings {
    /// Settings with every default: pool `default`, the default instance id, 5 s heartbeats,
    /// 5 s start-up timeout, 45 s poll deadline, back-off from 250 ms to 10 s.
    pub fn new(
        control_plane: impl Into<String>,
        token: impl Into<String>,
        environment: impl Into<String>,
        state_dir: impl Into<PathBuf>,
    ) -> AgentSettings {
        AgentSettings {
            control_plane: control_plane.into(),
            token: token.into(),
            environment: environment.into(),
            pool: DEFAULT_POOL.to_owned(),
            state_dir: state_dir.into(),
            instance_id: default_instance_id(),
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            poll_deadline: DEFAULT_POLL_DEADLINE,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            retry_initial: DEFAULT_RETRY_INITIAL,
            retry_max: DEFAULT_RETRY_MAX,
            ca_file: None,
        }
    }

    /// Checks everything that can be checked without the network or the disk, and returns
    /// the parsed base URL.
    pub(crate) fn check(&self) -> Result<Url, AgentError> {
        let base = parse_base_url(&self.control_plane)?;
        let empties = [
            (
                "--environment",
                &self.environment,
                "name the environment this data plane serves",
            ),
            (
                "--pool",
                &self.pool,
                "leave it out for the `default` pool or name one",
            ),
            (
                "the instance id",
                &self.instance_id,
                "give --instance-id a name unique in the fleet",
            ),
            (
                "the control-plane token",
                &self.token,
                "write a token with the `dataplane` role into --token-file or PORTCULLIS_TOKEN",
            ),
        ];
        for (setting, value, fix) in empties {
            if value.trim().is_empty() {
                return Err(AgentError::Empty { setting, fix });
            }
        }
        if HeaderValue::from_str(&format!("Bearer {}", self.token)).is_err()
            || self.token.contains(' ')
        {
            return Err(AgentError::TokenNotHeaderSafe);
        }
        let durations = [
            ("the heartbeat interval", self.heartbeat_interval),
            ("the start-up timeout", self.startup_timeout),
            ("the poll deadline", self.poll_deadline),
            ("the request timeout", self.request_timeout),
            ("the first retry delay", self.retry_initial),
        ];
        for (setting, value) in durations {
            if value.is_zero() {
                return Err(AgentError::ZeroDuration { setting, value });
            }
        }
        Ok(base)
    }
}

impl fmt::Debug for AgentSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentSettings")
            .field("control_plane", &self.control_plane)
            .field("token", &"<redacted>")
            .field("environment", &self.environment)
            .field("pool", &self.pool)
            .field("state_dir", &self.state_dir)
            .field("instance_id", &self.instance_id)
            .field("agent_version", &self.agent_version)
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("startup_timeout", &self.startup_timeout)
            .field("poll_deadline", &self.poll_deadline)
            .field("request_timeout", &self.request_timeout)
            .field("retry_initial", &self.retry_initial)
            .field("retry_max", &self.retry_max)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

fn parse_base_url(value: &str) -> Result<Url, AgentError> {
    let refuse = |reason: &str| AgentError::ControlPlaneUrl {
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(value.trim()).map_err(|error| refuse(&error.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse(&format!(
            "the scheme {:?} is not http or https",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refuse("it names no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Never echo the credentials back into a log.
        let mut shown = url.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        return Err(AgentError::ControlPlaneUrl {
            value: format!("{shown} (credentials removed)"),
            reason: "it carries credentials; the token goes in --token-file or \
                     PORTCULLIS_TOKEN"
                .to_owned(),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(refuse("it carries a query or a fragment"));
    }
    Ok(url)
}

/// `--instance-id`'s default: the host name and the process id (`edge-3-41822`), stable for
/// the life of the process and distinct between processes on one host.
pub fn default_instance_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "portcullis".to_owned());
    format!("{host}-{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> AgentSettings {
        AgentSettings::new(
            "http://127.0.0.1:7070",
            "pct_secret",
            "production",
            "/tmp/x",
        )
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let settings = settings();
        assert_eq!(settings.pool, "default");
        assert_eq!(settings.heartbeat_interval, Duration::from_secs(5));
        assert_eq!(settings.startup_timeout, Duration::from_secs(5));
        assert_eq!(settings.poll_deadline, Duration::from_secs(45));
        assert_eq!(settings.retry_initial, Duration::from_millis(250));
        assert_eq!(settings.retry_max, Duration::from_secs(10));
        assert!(settings.ca_file.is_none());
        assert!(settings
            .instance_id
            .ends_with(&format!("-{}", std::process::id())));
        assert!(settings.check().is_ok());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let text = format!("{:?}", settings());
        assert!(!text.contains("pct_secret"), "{text}");
        assert!(text.contains("<redacted>"));
    }

    #[test]
    fn bad_settings_are_refused_with_the_setting_and_the_fix() {
        type Change = fn(&mut AgentSettings);
        let cases: [(Change, &str); 10] = [
            (
                |s| s.control_plane = "127.0.0.1:7070".into(),
                "--control-plane",
            ),
            (|s| s.control_plane = "ftp://cp".into(), "not http or https"),
            (|s| s.control_plane = "not a url".into(), "--control-plane"),
            (
                |s| s.control_plane = "https://user:pw@cp".into(),
                "carries credentials",
            ),
            (|s| s.environment = " ".into(), "--environment is empty"),
            (|s| s.pool = String::new(), "--pool is empty"),
            (|s| s.token = String::new(), "PORTCULLIS_TOKEN"),
            (|s| s.token = "pct_a\nb".into(), "cannot be sent"),
            (|s| s.instance_id = String::new(), "--instance-id"),
            (
                |s| s.heartbeat_interval = Duration::ZERO,
                "heartbeat interval",
            ),
        ];
        for (change, expected) in cases {
            let mut settings = settings();
            change(&mut settings);
            let message = settings.check().expect_err(expected).to_string();
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
            assert!(!message.contains("pct_"), "token leaked: {message}");
            assert!(!message.contains("pw@"), "password leaked: {message}");
        }
    }

    #[test]
    fn base_urls_with_a_path_prefix_are_accepted() {
        for url in [
            "http://127.0.0.1:7070",
            "https://cp.example.com/",
            "https://cp.example.com/portcullis",
        ] {
            let mut settings = settings();
            settings.control_plane = url.into();
            assert!(settings.check().is_ok(), "{url}");
        }
    }
}
