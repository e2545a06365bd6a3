//! Why an operators' command failed, and the exit code a script sees for it.

use std::fmt;

use portcullis_protocol::admin::Problem;

use super::render;

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
    pub fn unreachable(url: &str, error: &reqwest::Error) -> CommandError {
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
