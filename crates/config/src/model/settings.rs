//! Process-level settings: route defaults, listeners and their TLS, the admin listener and
//! the access log.

use serde::{Deserialize, Serialize};

use super::defaults::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Defaults {
    /// Timeout for routes that set none.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            timeout_ms: default_timeout_ms(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Listener {
    pub name: String,
    /// `IP:PORT` to bind.
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ListenerTls>,
    /// Most bytes of request line plus headers (431 beyond).
    #[serde(default = "default_max_header_bytes")]
    pub max_header_bytes: u32,
    /// Most request headers (431 beyond).
    #[serde(default = "default_max_headers")]
    pub max_headers: u32,
    /// Time a client has to send the complete request head.
    #[serde(default = "default_header_read_timeout_ms")]
    pub header_read_timeout_ms: u64,
    /// Idle keep-alive connections are closed after this long.
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    /// Longest wait for the next bytes of a request body (408 and the upstream request
    /// aborted beyond). Between reads, not for the whole body: a large upload on a slow but
    /// moving link is not cut off, a stalled one is.
    #[serde(default = "default_body_read_timeout_ms")]
    pub body_read_timeout_ms: u64,
    /// Longest a response may wait on a client that reads none of it before the connection
    /// is closed.
    #[serde(default = "default_write_timeout_ms")]
    pub write_timeout_ms: u64,
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Accept `%2F` and `%5C` in paths (kept encoded) instead of answering 400.
    #[serde(default)]
    pub allow_encoded_slashes: bool,
    /// Let `.`/`..` segments with `;` parameters (`..;`, `.;x`) through unchanged instead of
    /// answering 400. Servlet containers read `..;` as `..`, so only turn this on when no
    /// upstream behind the listener does.
    #[serde(default)]
    pub allow_dot_segment_parameters: bool,
    /// CIDRs of proxies whose `X-Forwarded-For` entries are trusted.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListenerTls {
    pub cert_file: String,
    pub key_file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_auth: Option<ClientAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca_file: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ClientAuth {
    Required,
    Optional,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Admin {
    /// The admin listener (metrics, health, config version). Loopback by default.
    #[serde(default = "default_admin_address")]
    pub address: String,
}

impl Default for Admin {
    fn default() -> Self {
        Admin {
            address: default_admin_address(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccessLog {
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// `stdout`, `stderr`, or a file path (appended to).
    #[serde(default = "default_access_log_path")]
    pub path: String,
    /// Records waiting for the writer thread; a full queue drops and counts.
    #[serde(default = "default_access_log_queue")]
    pub queue_capacity: u32,
}

impl Default for AccessLog {
    fn default() -> Self {
        AccessLog {
            enabled: true,
            path: default_access_log_path(),
            queue_capacity: default_access_log_queue(),
        }
    }
}

fn default_true() -> bool {
    true
}

/// The one listener of a configuration that names none (`0.0.0.0:8080`).
pub fn default_listeners() -> Vec<Listener> {
    vec![Listener {
        name: "default".to_string(),
        address: "0.0.0.0:8080".to_string(),
        tls: None,
        max_header_bytes: default_max_header_bytes(),
        max_headers: default_max_headers(),
        header_read_timeout_ms: default_header_read_timeout_ms(),
        idle_timeout_ms: default_idle_timeout_ms(),
        body_read_timeout_ms: default_body_read_timeout_ms(),
        write_timeout_ms: default_write_timeout_ms(),
        max_connections: default_max_connections(),
        allow_encoded_slashes: false,
        allow_dot_segment_parameters: false,
        trusted_proxies: Vec::new(),
    }]
}
