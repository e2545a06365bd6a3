//! Why the agent could not start. Each message names the setting, the value and the fix; the
//! token is never part of one.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(
        "--control-plane {value:?} is not a usable URL: {reason}; give the control plane's \
         base URL, such as http://127.0.0.1:7070 or https://control.example.com"
    )]
    ControlPlaneUrl { value: String, reason: String },

    #[error("{setting} is empty; {fix}")]
    Empty {
        setting: &'static str,
        fix: &'static str,
    },

    #[error(
        "the control-plane token cannot be sent in an HTTP header (it holds a control \
         character, a space or a non-ASCII byte); write the token exactly as the control plane \
         issued it into --token-file or PORTCULLIS_TOKEN"
    )]
    TokenNotHeaderSafe,

    #[error("{setting} is {value:?}; it must be above zero")]
    ZeroDuration {
        setting: &'static str,
        value: std::time::Duration,
    },

    #[error("state directory {}: {reason}; {fix}", path.display())]
    StateDir {
        path: PathBuf,
        reason: String,
        fix: &'static str,
    },

    #[error(
        "CA file {}: {reason}; give --control-plane-ca a PEM file holding the certificate \
         of the authority that signed the control plane's certificate", path.display()
    )]
    CaFile { path: PathBuf, reason: String },

    #[error("cannot build the control-plane HTTP client: {0}")]
    Client(String),

    #[error("the agent stopped before a configuration was installed")]
    Stopped,
}
