//! The command line (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about = "Portcullis API gateway")]
pub struct Cli {
    /// Log format on stderr. `RUST_LOG` sets the filter (default `info`).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Compact, env = "PORTCULLIS_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Compact,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve from a configuration file, reloading it when it changes or on SIGHUP.
    Serve(ServeArgs),
    /// Check a configuration file: print every error (exit 1) or a summary (exit 0).
    Validate(ValidateArgs),
    /// Start the gateway on the embedded example configuration with built-in upstreams.
    Quickstart(QuickstartArgs),
    /// Manage API keys (`apikey new` prints a fresh key and its config entry).
    Apikey(ApiKeyArgs),
    /// Run the control plane: versioned configuration, the admin API, snapshots for data planes.
    ControlPlane(ControlPlaneArgs),
    /// Print the version.
    Version,
}

#[derive(Debug, Args)]
pub struct ApiKeyArgs {
    #[command(subcommand)]
    pub command: ApiKeyCommand,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Generate a key: printed once, with the `authentication.apiKeys.keys` entry (its hash).
    New(NewApiKeyArgs),
}

#[derive(Debug, Args)]
pub struct NewApiKeyArgs {
    /// The key's id (logged instead of the key); derived from its hash when absent.
    #[arg(long)]
    pub id: Option<String>,
    /// The tenant the key belongs to.
    #[arg(long)]
    pub tenant: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file (YAML, or JSON when it ends in `.json`).
    #[arg(long, short = 'c')]
    pub config: PathBuf,
    /// How long SIGTERM/SIGINT waits for in-flight requests before closing them.
    #[arg(long, default_value_t = 30)]
    pub drain_seconds: u64,
    /// Do not watch the file; reload only on SIGHUP.
    #[arg(long)]
    pub no_watch: bool,
    /// Runtime worker threads (default: one per core). With 1, everything runs on one
    /// event-loop thread (a current-thread runtime), plus the access-log writer.
    #[arg(long, env = "PORTCULLIS_WORKER_THREADS")]
    pub worker_threads: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ControlPlaneArgs {
    /// `postgres://USER@HOST:PORT/DB` or `sqlite://PATH`; default: SQLite in
    /// `<data-dir>/control.db`.
    #[arg(long, env = "PORTCULLIS_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Address of the admin API.
    #[arg(long, default_value = "127.0.0.1:7070")]
    pub listen: String,
    /// Where the first admin token (`admin.token`) and the embedded database are kept.
    #[arg(long, default_value = "portcullis-data")]
    pub data_dir: PathBuf,
    /// An environment to create at start when missing (repeatable; default `production`).
    #[arg(long = "environment", value_name = "NAME")]
    pub environment: Vec<String>,
    /// How long a data plane's snapshot long-poll is held before 304.
    #[arg(long, default_value_t = 30)]
    pub long_poll_seconds: u64,
    /// The data planes' heartbeat interval; three missed ones mark an instance stale.
    #[arg(long, default_value_t = 5)]
    pub heartbeat_seconds: u64,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The configuration file to check.
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct QuickstartArgs {
    /// Address of the gateway's listener.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Address of the admin listener.
    #[arg(long, default_value = "127.0.0.1:9901")]
    pub admin: String,
    /// How long Ctrl-C waits for in-flight requests.
    #[arg(long, default_value_t = 5)]
    pub drain_seconds: u64,
    /// Runtime worker threads (default: one per core). With 1, everything runs on one
    /// event-loop thread (a current-thread runtime), plus the access-log writer.
    #[arg(long)]
    pub worker_threads: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_parses_config_and_drain() {
        let cli = Cli::try_parse_from([
            "portcullis",
            "serve",
            "--config",
            "g.yaml",
            "--drain-seconds",
            "3",
        ])
        .expect("valid command line");
        match cli.command {
            Command::Serve(args) => {
                assert_eq!(args.config, PathBuf::from("g.yaml"));
                assert_eq!(args.drain_seconds, 3);
                assert!(!args.no_watch);
            }
            other => panic!("expected serve, got {other:?}"),
        }
    }

    #[test]
    fn serve_requires_config() {
        assert!(Cli::try_parse_from(["portcullis", "serve"]).is_err());
    }

    #[test]
    fn quickstart_defaults_to_the_documented_ports() {
        let cli = Cli::try_parse_from(["portcullis", "quickstart"]).expect("valid command line");
        match cli.command {
            Command::Quickstart(args) => {
                assert_eq!(args.listen, "127.0.0.1:8080");
                assert_eq!(args.admin, "127.0.0.1:9901");
            }
            other => panic!("expected quickstart, got {other:?}"),
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
