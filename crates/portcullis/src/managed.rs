//! `portcullis serve --control-plane URL`: serve what the control plane assigns to this
//! instance's environment and pool. The agent (`portcullis-agent`) long-polls snapshots, keeps
//! the last good one on disk and sends heartbeats; this module is its installer: every snapshot
//! goes through the same build as a file (`Gateway::prepare`), and one that cannot be built is
//! refused while the running one keeps serving.
//!
//! The listeners, the admin listener and the access log come from the first configuration
//! installed (from the control plane, or from the disk copy when the control plane cannot be
//! reached at start); like a reloaded file, a later configuration cannot move them.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use portcullis_agent::{
    metrics_counters, Agent, AgentSettings, SnapshotIdentity, SnapshotInstaller,
};
use portcullis_config::{ConfigError, ConfigErrors, ValidatedConfig};
use portcullis_proxy::{Gateway, SnapshotMeta};
use portcullis_telemetry::access_log::AccessLogGuard;
use portcullis_telemetry::metrics::Metrics;

use crate::cli::ServeArgs;
use crate::install::{self, RestartOnly};
use crate::listen::ListenOverrides;
use crate::run;
use crate::shutdown::Shutdown;

/// `portcullis serve --control-plane URL`.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let args = &args;
    let overrides =
        ListenOverrides::parse(&args.listener_overrides, args.admin_address.as_deref())?;
    let drain_deadline = Duration::from_secs(args.drain_seconds);
    let control_plane = args
        .control_plane
        .clone()
        .context("serve needs --config FILE or --control-plane URL")?;
    let settings = agent_settings(args, control_plane)?;
    let (shutdown, _trigger) =
        Shutdown::install().context("cannot install the SIGTERM/SIGINT handlers")?;
    let metrics = Metrics::new();
    let installer = Arc::new(ManagedInstaller::new(metrics.clone()));
    let agent = Agent::start(
        settings,
        installer.clone(),
        metrics_counters(metrics.clone()),
    )
    .await
    .context("cannot start the control-plane agent")?;
    tokio::select! {
        first = agent.first_install() => {
            first.context("the control-plane agent stopped before a configuration was installed")?;
        }
        () = shutdown.wait() => {
            agent.shutdown().await;
            tracing::info!("stopped before a configuration was installed");
            return Ok(());
        }
    }
    let (gateway, access_log_guard, first) = installer
        .started()
        .context("the agent reported an install that did not happen")?;
    let (listeners, admin_address) = overrides.apply(&first)?;
    let bound = run::bind(&gateway, &listeners, &admin_address).await?;
    run::serve_until_shutdown(bound, &shutdown, drain_deadline, |_| {}).await;
    agent.shutdown().await;
    run::finish(gateway, access_log_guard).await
}

fn agent_settings(args: &ServeArgs, control_plane: String) -> anyhow::Result<AgentSettings> {
    let managed = &args.managed;
    let token = read_token(managed.token_file.as_ref())?;
    let mut settings = AgentSettings::new(
        control_plane,
        token,
        managed.environment.clone(),
        managed.state_dir.clone(),
    );
    settings.pool = managed.pool.clone();
    if let Some(instance_id) = &managed.instance_id {
        settings.instance_id = instance_id.clone();
    }
    settings.agent_version = env!("CARGO_PKG_VERSION").to_string();
    settings.ca_file = managed.control_plane_ca.clone();
    settings.startup_timeout = Duration::from_secs(managed.startup_timeout_seconds);
    settings.heartbeat_interval = Duration::from_secs(managed.heartbeat_seconds.max(1));
    Ok(settings)
}

/// The `dataplane` token from `--token-file` (surrounding whitespace ignored), else
/// `PORTCULLIS_TOKEN`.
fn read_token(token_file: Option<&PathBuf>) -> anyhow::Result<String> {
    let token = match token_file {
        Some(path) => std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the token file {} (--token-file)",
                path.display()
            )
        })?,
        None => std::env::var("PORTCULLIS_TOKEN").unwrap_or_default(),
    };
    let token = token.trim();
    if token.is_empty() {
        anyhow::bail!(
            "no control-plane token: pass --token-file FILE (a token with the dataplane role, \
             made with `portcullis tokens create --role dataplane`) or set PORTCULLIS_TOKEN"
        );
    }
    Ok(token.to_string())
}

/// What the first install set up.
struct Started {
    gateway: Arc<Gateway>,
    access_log_guard: Option<AccessLogGuard>,
    first: Arc<portcullis_config::Config>,
    restart_only: RestartOnly,
}

/// The agent's installer: the first configuration creates the gateway (with its access log);
/// every one after it is prepared on that gateway and swapped in.
struct ManagedInstaller {
    metrics: Arc<Metrics>,
    started: Mutex<Option<Started>>,
}

impl ManagedInstaller {
    fn new(metrics: Arc<Metrics>) -> ManagedInstaller {
        ManagedInstaller {
            metrics,
            started: Mutex::new(None),
        }
    }

    /// The gateway, its access log and the first configuration, once one is installed. The
    /// access log's guard is handed over once; later calls get `None` for it.
    fn started(
        &self,
    ) -> Option<(
        Arc<Gateway>,
        Option<AccessLogGuard>,
        Arc<portcullis_config::Config>,
    )> {
        let mut started = self.started.lock().unwrap_or_else(PoisonError::into_inner);
        let started = started.as_mut()?;
        Some((
            started.gateway.clone(),
            started.access_log_guard.take(),
            started.first.clone(),
        ))
    }

    fn first_install(
        &self,
        config: ValidatedConfig,
        meta: SnapshotMeta,
    ) -> Result<Started, Vec<String>> {
        let (access_log, access_log_guard) =
            install::start_access_log(config.config(), &self.metrics)
                .map_err(|error| vec![format!("{error:#}")])?;
        let gateway = Gateway::new(self.metrics.clone(), access_log);
        let first = config.shared_config();
        let prepared = gateway
            .prepare(config, meta)
            .map_err(|errors| lines(&errors))?;
        log_warnings(prepared.warnings());
        install::install(&gateway, prepared);
        Ok(Started {
            restart_only: RestartOnly::of(&first),
            gateway,
            access_log_guard,
            first,
        })
    }
}

impl SnapshotInstaller for ManagedInstaller {
    fn install(
        &self,
        config: ValidatedConfig,
        identity: &SnapshotIdentity,
    ) -> Result<time::OffsetDateTime, Vec<String>> {
        let config_version = u64::try_from(identity.config_version).map_err(|_| {
            vec![format!(
                "configVersion {} is not a positive version number",
                identity.config_version
            )]
        })?;
        let loaded_at = time::OffsetDateTime::now_utc();
        let meta = SnapshotMeta {
            config_version,
            loaded_at,
        };
        let mut started = self.started.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(running) = started.as_ref() else {
            let outcome = self.first_install(config, meta);
            if outcome.is_err() {
                self.metrics.config_load(false);
            }
            *started = Some(outcome?);
            return Ok(loaded_at);
        };
        let prepared = running.gateway.prepare(config, meta).map_err(|errors| {
            self.metrics.config_load(false);
            lines(&errors)
        })?;
        log_warnings(prepared.warnings());
        running.restart_only.warn_about_changes(
            prepared.validated().config(),
            "configuration from the control plane",
        );
        install::install(&running.gateway, prepared);
        Ok(loaded_at)
    }
}

fn log_warnings(warnings: &[ConfigError]) {
    for warning in warnings {
        tracing::warn!("configuration warning: {}", plain(warning));
    }
}

/// One line per error: its field path and message. Positions are left out: they would point
/// into the JSON text the agent wrote, which nobody sees.
fn lines(errors: &ConfigErrors) -> Vec<String> {
    errors.iter().map(plain).collect()
}

fn plain(error: &ConfigError) -> String {
    if error.path.is_empty() {
        error.message.clone()
    } else {
        format!("{}: {}", error.path, error.message)
    }
}
