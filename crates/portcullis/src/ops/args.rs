//! The operators' commands (clap): `config`, `instances`, `environments`, `tokens`, `audit`.
//! They talk to the control plane's admin API; none of them touches a database.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// Where the control plane is and who is asking; shared by every operators' command.
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// The control plane's admin API.
    #[arg(
        long,
        global = true,
        env = "PORTCULLIS_CONTROL_PLANE",
        default_value = "http://127.0.0.1:7070"
    )]
    pub control_plane: String,
    /// A file holding the API token (else `PORTCULLIS_TOKEN`). Never pass a token as a flag:
    /// command lines are visible to every user of the machine.
    #[arg(long, global = true, env = "PORTCULLIS_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// A PEM file of CA certificates to trust for an `https://` control plane, beside the
    /// platform's roots.
    #[arg(long, global = true, env = "PORTCULLIS_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// `table` for people, `json` for scripts (the API's own documents, one per line).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a file locally, then store it as a DRAFT version of an environment.
    Push(PushArgs),
    /// Validate a DRAFT version on the control plane (compile and build dry-runs) → VALIDATED.
    Validate(VersionArg),
    /// List an environment's versions, newest first.
    List(ListArgs),
    /// Show one version (its summary; `--config` prints its document).
    Show(ShowArgs),
    /// What changed from one version to another, as field paths.
    Diff(DiffArgs),
    /// Make a VALIDATED version the environment's ACTIVE one.
    Activate(ActivateArgs),
    /// Re-activate the version that was ACTIVE before the current one, and mark the current
    /// one ROLLED_BACK.
    Rollback(RollbackArgs),
}

#[derive(Debug, Args)]
pub struct EnvironmentArg {
    /// The environment.
    #[arg(
        long,
        short = 'e',
        env = "PORTCULLIS_ENVIRONMENT",
        default_value = "production"
    )]
    pub environment: String,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The configuration file (YAML, or JSON when it ends in `.json`).
    pub file: PathBuf,
    #[command(flatten)]
    pub environment: EnvironmentArg,
    /// Why this change; shown in listings and the audit log.
    #[arg(long, short = 'm')]
    pub message: Option<String>,
}

#[derive(Debug, Args)]
pub struct VersionArg {
    /// The config version (a number from `config list`).
    pub version: i64,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub environment: EnvironmentArg,
    /// Most versions to show.
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Only versions older than this one (the next page).
    #[arg(long)]
    pub before: Option<i64>,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The config version.
    pub version: i64,
    /// Print the configuration document (JSON) instead of the summary.
    #[arg(long)]
    pub config: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The older version.
    pub from: i64,
    /// The newer version.
    pub to: i64,
}

#[derive(Debug, Args)]
pub struct ActivateArgs {
    /// The VALIDATED config version to activate.
    pub version: i64,
    /// Refuse unless this version is ACTIVE when the change commits (0: none). By default the
    /// ACTIVE version read just before the request, so a concurrent change is never overwritten.
    #[arg(long)]
    pub expect_active: Option<i64>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub environment: EnvironmentArg,
    /// Refuse unless this version is ACTIVE when the rollback commits. By default the ACTIVE
    /// version read just before the request.
    #[arg(long)]
    pub expect_active: Option<i64>,
}

#[derive(Debug, Args)]
pub struct InstancesArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// Only this environment's data planes.
    #[arg(long, short = 'e', env = "PORTCULLIS_ENVIRONMENT")]
    pub environment: Option<String>,
}

#[derive(Debug, Args)]
pub struct EnvironmentsArgs {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub command: Option<EnvironmentsCommand>,
}

#[derive(Debug, Subcommand)]
pub enum EnvironmentsCommand {
    /// List environments and their ACTIVE versions (the default).
    List,
    /// Create an environment (admin).
    Create {
        /// kebab-case name.
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct TokensArgs {
    #[command(flatten)]
    pub connection: Connection,
    #[command(subcommand)]
    pub command: TokensCommand,
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// List tokens (never their secrets).
    List,
    /// Create a token; its secret is printed once, on standard output.
    Create {
        /// Who or what holds it; recorded as the author of what it changes.
        #[arg(long)]
        name: String,
        /// viewer, operator, admin or dataplane.
        #[arg(long)]
        role: String,
    },
    /// Revoke a token at once.
    Revoke {
        /// The token's id (from `tokens list`).
        id: i64,
    },
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub connection: Connection,
    /// Only this environment's entries.
    #[arg(long, short = 'e')]
    pub environment: Option<String>,
    /// Most entries to show.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Only entries older than this id (the next page).
    #[arg(long)]
    pub before: Option<i64>,
}
