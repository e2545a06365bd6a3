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
mod error;
mod fleet;
mod output;
mod render;

use std::process::ExitCode;

use self::args::{Connection, OutputFormat};
use self::client::AdminClient;
use self::error::CommandError;
use self::output::Output;

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

pub use self::config_cmd::run as config;
pub use self::fleet::{audit, environments, instances, tokens};
