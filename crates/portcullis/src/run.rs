//! A running gateway: access log, data listeners, admin listener, reloads and the drain.
//! Shared by `serve` (from a file) and `quickstart` (embedded configuration).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use portcullis_config::{ConfigErrors, Listener, ValidatedConfig};
use portcullis_proxy::{Gateway, Server};
use portcullis_telemetry::access_log::AccessLogGuard;
use portcullis_telemetry::metrics::Metrics;

use crate::cli::ServeArgs;
use crate::config_source;
use crate::install::{start_access_log, Installer, RestartOnly};
use crate::listen::ListenOverrides;
use crate::reload::{self, ReloadOptions};
use crate::shutdown::Shutdown;

/// `portcullis serve --config FILE` (`--control-plane` is `managed::serve`).
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let overrides =
        ListenOverrides::parse(&args.listener_overrides, args.admin_address.as_deref())?;
    let drain_deadline = Duration::from_secs(args.drain_seconds);
    let path = args
        .config
        .clone()
        .context("serve needs --config FILE or --control-plane URL")?;
    let blocking_path = path.clone();
    let load = tokio::task::spawn_blocking(move || config_source::load_file(&blocking_path))
        .await
        .context("configuration loader task failed")?;
    let fingerprint = load.fingerprint;
    let validated = load
        .result
        .map_err(|error| refused_at_start(&error, &path))?;
    let options = RunOptions {
        drain_deadline,
        overrides,
        reload: Some(ReloadOptions {
            path: path.clone(),
            watch_file: !args.no_watch,
            fingerprint,
        }),
    };
    run(validated, &path.display().to_string(), options, |_| {}).await
}

/// Every error of a configuration the gateway cannot start with, and what to do.
fn refused_at_start(errors: &ConfigErrors, source: &std::path::Path) -> anyhow::Error {
    anyhow::anyhow!(
        "{errors}\nfix the errors above in {} and start again",
        source.display()
    )
}

pub struct RunOptions {
    pub drain_deadline: Duration,
    /// Instance-local listen addresses.
    pub overrides: ListenOverrides,
    /// Reload from this file (watcher and SIGHUP); `None` for an embedded configuration.
    pub reload: Option<ReloadOptions>,
}

/// Addresses actually bound (port 0 resolved).
pub struct BoundAddresses {
    pub listeners: Vec<(String, std::net::SocketAddr)>,
    pub admin: std::net::SocketAddr,
}

/// Start everything for `validated` (from `source_name`): build it (refused with every error
/// when it cannot be built), call `on_ready` once the listeners are bound, and serve until
/// SIGTERM/SIGINT, then drain.
pub async fn run(
    validated: ValidatedConfig,
    source_name: &str,
    options: RunOptions,
    on_ready: impl FnOnce(&BoundAddresses),
) -> anyhow::Result<()> {
    let (shutdown, _trigger) =
        Shutdown::install().context("cannot install the SIGTERM/SIGINT handlers")?;
    let metrics = Metrics::new();
    let (access_log, access_log_guard) = start_access_log(validated.config(), &metrics)?;
    let gateway = Gateway::new(metrics.clone(), access_log);
    let running = RestartOnly::of(validated.config());
    let (listeners, admin_address) = options.overrides.apply(validated.config())?;
    let mut installer = Installer::new(gateway.clone());
    let meta = installer.next_meta(&validated);
    let blocking_gateway = gateway.clone();
    let owned_source = source_name.to_string();
    let prepared = tokio::task::spawn_blocking(move || {
        config_source::prepare(&blocking_gateway, validated, meta, &owned_source)
    })
    .await
    .context("configuration builder task failed")?
    .map_err(|errors| refused_at_start(&errors, std::path::Path::new(source_name)))?;
    for warning in prepared.warnings() {
        tracing::warn!("configuration warning: {warning}");
    }
    installer.install(prepared);

    let bound = bind(&gateway, &listeners, &admin_address).await?;
    // Watch before announcing: a change made once the listening lines are out must reload.
    let reload_task = options
        .reload
        .map(reload::start)
        .map(|reloader| tokio::spawn(reloader.run(installer, running)));
    serve_until_shutdown(bound, &shutdown, options.drain_deadline, on_ready).await;
    if let Some(task) = reload_task {
        task.abort();
        let _ = task.await;
    }
    finish(gateway, access_log_guard).await
}

/// The bound data-plane and admin listeners, not yet serving.
pub struct Bound {
    server: Server,
    admin: portcullis_admin::AdminServer,
}

/// Bind the data-plane listeners and the admin listener of `gateway`.
pub async fn bind(
    gateway: &Arc<Gateway>,
    listeners: &[Listener],
    admin_address: &str,
) -> anyhow::Result<Bound> {
    let server = Server::bind(gateway.clone(), listeners).await.context(
        "cannot start the data-plane listeners: free the port, change listeners[].address, or \
         move this instance with --listener NAME=IP:PORT",
    )?;
    let admin = portcullis_admin::bind(gateway.clone(), admin_address)
        .await
        .context("cannot start the admin listener")?;
    Ok(Bound { server, admin })
}

/// Announce the bound addresses, serve until shutdown is requested, then drain the
/// data-plane listeners and stop the admin listener.
pub async fn serve_until_shutdown(
    bound: Bound,
    shutdown: &Shutdown,
    drain_deadline: Duration,
    on_ready: impl FnOnce(&BoundAddresses),
) {
    let Bound { server, admin } = bound;
    let addresses = BoundAddresses {
        listeners: server.local_addrs(),
        admin: admin.local_addr(),
    };
    // These lines are a stable interface: tests and scripts read the bound ports from them.
    for (name, addr) in &addresses.listeners {
        tracing::info!("listening name={name} addr={addr}");
    }
    tracing::info!("admin listening addr={}", addresses.admin);
    let admin_task = tokio::spawn(admin.run(shutdown.wait()));
    on_ready(&addresses);

    server.run(shutdown.wait(), drain_deadline).await;
    tracing::info!("data-plane listeners closed");
    // Admin keep-alive connections (scrapers) must not hold the exit hostage.
    let admin_abort = admin_task.abort_handle();
    if tokio::time::timeout(Duration::from_secs(1), admin_task)
        .await
        .is_err()
    {
        admin_abort.abort();
    }
}

/// Drop the gateway and flush the access log.
pub async fn finish(
    gateway: Arc<Gateway>,
    access_log_guard: Option<AccessLogGuard>,
) -> anyhow::Result<()> {
    drop(gateway);
    if let Some(guard) = access_log_guard {
        tokio::task::spawn_blocking(move || guard.finish())
            .await
            .context("flushing the access log failed")?;
    }
    tracing::info!("stopped");
    Ok(())
}
