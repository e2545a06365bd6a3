//! The command line (clap derive).

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

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
    /// Configuration versions on the control plane: push, validate, list, show, diff,
    /// activate, rollback.
    Config(crate::ops::args::ConfigArgs),
    /// The data planes the control plane has heard from, with what each serves.
    Instances(crate::ops::args::InstancesArgs),
    /// The control plane's environments and their ACTIVE versions.
    Environments(crate::ops::args::EnvironmentsArgs),
    /// The control plane's API tokens (admin).
    Tokens(crate::ops::args::TokensArgs),
    /// The control plane's audit log.
    Audit(crate::ops::args::AuditArgs),
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
#[command(group(ArgGroup::new("source").required(true).args(["config", "control_plane"])))]
pub struct ServeArgs {
    /// The configuration file (YAML, or JSON when it ends in `.json`), watched and reloaded.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Serve what this control plane assigns to `--environment`/`--pool` instead of a file
    /// (`http://` or `https://`); the last good configuration is kept in `--state-dir`.
    #[arg(long, value_name = "URL", conflicts_with_all = ["config", "no_watch"])]
    pub control_plane: Option<String>,
    #[command(flatten)]
    pub managed: ManagedArgs,
    /// Bind the configuration's listener NAME on IP:PORT instead of its `address`
    /// (repeatable): a setting of this instance, not of the configuration, so several data
    /// planes on one host can serve one configuration.
    #[arg(long = "listener", value_name = "NAME=IP:PORT")]
    pub listener_overrides: Vec<String>,
    /// Bind the admin listener on IP:PORT instead of the configuration's `admin.address`.
    #[arg(long, value_name = "IP:PORT")]
    pub admin_address: Option<String>,
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

/// `serve --control-plane`: where this data plane belongs and how it speaks to the control
/// plane. Ignored when serving from a file.
#[derive(Debug, Args)]
pub struct ManagedArgs {
    /// The environment whose configuration to serve.
    #[arg(long, env = "PORTCULLIS_ENVIRONMENT", default_value = "production")]
    pub environment: String,
    /// This instance's pool within the environment (a staged rollout reaches the `canary`
    /// pool first).
    #[arg(long, env = "PORTCULLIS_POOL", default_value = "default")]
    pub pool: String,
    /// Where the last good configuration is kept (two generations), to serve when the
    /// control plane cannot be reached at start.
    #[arg(long, env = "PORTCULLIS_STATE_DIR", default_value = "portcullis-state")]
    pub state_dir: PathBuf,
    /// A file holding the `dataplane` token (else `PORTCULLIS_TOKEN`); never a flag value.
    #[arg(long, env = "PORTCULLIS_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// This instance's name in heartbeats and `portcullis instances` (default: host name
    /// and process id).
    #[arg(long, env = "PORTCULLIS_INSTANCE_ID")]
    pub instance_id: Option<String>,
    /// A PEM file of CA certificates to trust for an `https://` control plane.
    #[arg(long = "control-plane-ca", value_name = "FILE")]
    pub control_plane_ca: Option<PathBuf>,
    /// How long to wait for the control plane at start before serving the disk copy.
    #[arg(long, default_value_t = 5)]
    pub startup_timeout_seconds: u64,
    /// How often to report to the control plane.
    #[arg(long, default_value_t = 5)]
    pub heartbeat_seconds: u64,
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
                assert_eq!(args.config, Some(PathBuf::from("g.yaml")));
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
    fn serve_takes_a_file_or_a_control_plane_never_both() {
        let cli = Cli::try_parse_from([
            "portcullis",
            "serve",
            "--control-plane",
            "http://127.0.0.1:7070",
            "--environment",
            "staging",
            "--pool",
            "canary",
            "--state-dir",
            "/var/lib/portcullis",
            "--listener",
            "default=127.0.0.1:8081",
        ])
        .expect("valid command line");
        match cli.command {
            Command::Serve(args) => {
                assert_eq!(args.config, None);
                assert_eq!(args.control_plane.as_deref(), Some("http://127.0.0.1:7070"));
                assert_eq!(args.managed.environment, "staging");
                assert_eq!(args.managed.pool, "canary");
                assert_eq!(args.listener_overrides, vec!["default=127.0.0.1:8081"]);
            }
            other => panic!("expected serve, got {other:?}"),
        }
        for refused in [
            &[
                "portcullis",
                "serve",
                "--config",
                "g.yaml",
                "--control-plane",
                "http://x",
            ][..],
            &[
                "portcullis",
                "serve",
                "--control-plane",
                "http://x",
                "--no-watch",
            ][..],
        ] {
            assert!(Cli::try_parse_from(refused).is_err(), "{refused:?}");
        }
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
