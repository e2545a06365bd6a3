//! The operators' commands: `portcullis config …`, `instances`, `environments`, `tokens` and
//! `audit`, each a call or two to the control plane's admin API.
//!
//! Exit codes a script can rely on ([`CommandError::exit_code`]):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done |
//! | 1 | the configuration or request was refused as invalid (400, 413, 415, 422, or the local check of a pushed file) |
//! | 2 | usage: a bad flag, no token, an unreadable file |
//! | 3 | conflict: the version's status or the ACTIVE version does not allow it (409) |
//! | 4 | not found: no such version, environment or token (404) |
//! | 5 | not allowed: no valid token (401) or the token's role is too weak (403) |
//! | 6 | the control plane could not be reached or failed (5xx, unexpected answers) |

pub mod args;
mod client;
mod config_cmd;
mod fleet;
mod render;

use std::fmt;
use std::process::ExitCode;

use portcullis_protocol::admin::Problem;

use self::args::{Connection, OutputFormat};
use self::client::AdminClient;

/// Why an operators' command failed.
#[derive(Debug)]
pub enum CommandError {
    /// The control plane answered with an error status and this problem document.
    Refused(Box<Problem>),
    /// The file to push failed the local check; nothing was sent.
    InvalidFile(portcullis_config::ConfigErrors),
    Usage(String),
    Unreachable(String),
    Unexpected {
        status: u16,
        detail: String,
    },
}

impl CommandError {
    fn unreachable(url: &str, error: &reqwest::Error) -> CommandError {
        let why = if error.is_timeout() {
            "it did not answer in time".to_string()
        } else if error.is_connect() {
            "the connection was refused or could not be made".to_string()
        } else {
            error.to_string()
        };
        CommandError::Unreachable(format!(
            "cannot reach the control plane at {url}: {why}; check --control-plane \
             (or PORTCULLIS_CONTROL_PLANE) and that `portcullis control-plane` runs"
        ))
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::InvalidFile(_) => 1,
            CommandError::Usage(_) => 2,
            CommandError::Refused(problem) => match problem.status {
                400 | 413 | 415 | 422 => 1,
                409 => 3,
                404 => 4,
                401 | 403 => 5,
                _ => 6,
            },
            CommandError::Unreachable(_) | CommandError::Unexpected { .. } => 6,
        }
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::Refused(problem) => {
                write!(
                    f,
                    "{} ({})",
                    render::printable(&problem.title),
                    problem.status
                )?;
                if let Some(detail) = &problem.detail {
                    write!(f, ": {}", render::printable(detail))?;
                }
                for issue in &problem.errors {
                    if issue.path.is_empty() {
                        write!(f, "\n  {}", render::printable(&issue.message))?;
                    } else {
                        write!(
                            f,
                            "\n  {}: {}",
                            render::printable(&issue.path),
                            render::printable(&issue.message)
                        )?;
                    }
                }
                Ok(())
            }
            CommandError::InvalidFile(errors) => {
                write!(
                    f,
                    "{errors}\nnothing was pushed; fix the file and push again"
                )
            }
            CommandError::Usage(message) | CommandError::Unreachable(message) => {
                f.write_str(message)
            }
            CommandError::Unexpected { status, detail } => {
                write!(f, "unexpected answer ({status}): {detail}")
            }
        }
    }
}

/// Runs an operators' command on a small runtime of its own and turns the outcome into the
/// documented exit code; errors go to stderr (in `--output json`, the problem document goes
/// to stdout as well, so scripts can read it).
pub fn run<F, Fut>(connection: &Connection, command: F) -> ExitCode
where
    F: FnOnce(AdminClient, Output) -> Fut,
    Fut: std::future::Future<Output = Result<(), CommandError>>,
{
    let output = Output {
        format: connection.output,
    };
    let outcome = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(async {
            let client = AdminClient::connect(connection)?;
            command(client, output).await
        }),
        Err(error) => Err(CommandError::Usage(format!(
            "cannot start the async runtime: {error}"
        ))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if let (OutputFormat::Json, CommandError::Refused(problem)) = (output.format, &error) {
                output.json(problem.as_ref());
            }
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Where and how a command writes its result.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    format: OutputFormat,
}

impl Output {
    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// One JSON document on one line of stdout.
    pub fn json<T: serde::Serialize + ?Sized>(&self, value: &T) {
        match serde_json::to_string(value) {
            Ok(text) => println!("{text}"),
            Err(error) => eprintln!("error: cannot write JSON output: {error}"),
        }
    }

    /// The JSON document in `--output json`, else the human text.
    pub fn show<T: serde::Serialize + ?Sized>(&self, value: &T, human: impl FnOnce() -> String) {
        if self.is_json() {
            self.json(value);
        } else {
            print!("{}", human());
        }
    }
}

pub use self::config_cmd::run as config;
pub use self::fleet::{audit, environments, instances, tokens};

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16) -> CommandError {
        CommandError::Refused(Box::new(Problem {
            problem_type: "https://portcullis.dev/problems/x".into(),
            title: "t".into(),
            status,
            code: "x".into(),
            detail: None,
            errors: Vec::new(),
        }))
    }

    #[test]
    fn exit_codes_follow_the_documented_table() {
        let cases = [
            (refused(400), 1),
            (refused(413), 1),
            (refused(415), 1),
            (refused(422), 1),
            (refused(409), 3),
            (refused(404), 4),
            (refused(401), 5),
            (refused(403), 5),
            (refused(500), 6),
            (refused(503), 6),
            (CommandError::Usage("u".into()), 2),
            (CommandError::Unreachable("down".into()), 6),
            (
                CommandError::InvalidFile(portcullis_config::ConfigErrors::new(Vec::new())),
                1,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.exit_code(), code, "{error}");
        }
    }

    #[test]
    fn a_refusal_lists_every_error_with_its_path() {
        let error = CommandError::Refused(Box::new(Problem {
            problem_type: "https://portcullis.dev/problems/invalid_config".into(),
            title: "Invalid configuration".into(),
            status: 422,
            code: "invalid_config".into(),
            detail: Some("2 errors".into()),
            errors: vec![
                portcullis_protocol::admin::ConfigIssue {
                    path: "routes[0].policies.timeoutMs".into(),
                    message: "60000 is above 30000".into(),
                },
                portcullis_protocol::admin::ConfigIssue {
                    path: String::new(),
                    message: "whole\u{1b}document".into(),
                },
            ],
        }));
        assert_eq!(
            error.to_string(),
            "Invalid configuration (422): 2 errors\n  routes[0].policies.timeoutMs: 60000 is above 30000\n  whole\\u{1b}document"
        );
    }
}
