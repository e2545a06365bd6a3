//! Standalone reloads: watch the configuration file and listen for SIGHUP. Each reload
//! parses, validates and compiles on a blocking thread, never on the request path. An invalid
//! file is refused (every error logged, `config_load(false)` counted) and the running
//! snapshot keeps serving; a valid one is swapped in atomically.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use portcullis_config::{AccessLog, Listener};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::config_source::{self, PrepareError, Prepared};
use crate::run::Installer;

/// Editors write a file in several steps (truncate, write, rename): wait this long after the
/// last event before reading it.
const DEBOUNCE: Duration = Duration::from_millis(100);

pub struct ReloadOptions {
    pub path: PathBuf,
    pub watch_file: bool,
    /// Fingerprint of the bytes of the configuration that is installed.
    pub fingerprint: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// The watcher saw the file (or its directory entry) change.
    FileEvent,
    /// SIGHUP: the operator asked for a reload, so reload even if the bytes are unchanged.
    Signal,
}

enum Outcome {
    Unchanged,
    Ready(Box<Prepared>, Option<u64>),
    Refused(PrepareError, Option<u64>),
}

/// Runs until aborted.
pub async fn run(
    options: ReloadOptions,
    mut installer: Installer,
    running_listeners: Vec<Listener>,
    running_admin_address: String,
    running_access_log: AccessLog,
) {
    let (triggers, mut received) = mpsc::unbounded_channel();
    // Keep the watcher alive as long as this task: dropping it stops the events.
    let _watcher = if options.watch_file {
        match watch_file(&options.path, triggers.clone()) {
            Ok(watcher) => Some(watcher),
            Err(error) => {
                tracing::warn!(
                    path = %options.path.display(),
                    "cannot watch the configuration file ({error}); reload with SIGHUP instead"
                );
                None
            }
        }
    } else {
        None
    };
    match signal(SignalKind::hangup()) {
        Ok(mut hangups) => {
            let signal_triggers = triggers.clone();
            tokio::spawn(async move {
                while hangups.recv().await.is_some() {
                    if signal_triggers.send(Trigger::Signal).is_err() {
                        return;
                    }
                }
            });
        }
        Err(error) => tracing::warn!("cannot install the SIGHUP handler: {error}"),
    }
    drop(triggers);

    let mut fingerprint = options.fingerprint;
    while let Some(first) = received.recv().await {
        let mut forced = first == Trigger::Signal;
        // Debounce: a burst of events becomes one reload, after the last one.
        loop {
            match tokio::time::timeout(DEBOUNCE, received.recv()).await {
                Ok(Some(trigger)) => forced |= trigger == Trigger::Signal,
                Ok(None) => return,
                Err(_elapsed) => break,
            }
        }
        let path = options.path.clone();
        let previous = fingerprint;
        let outcome = tokio::task::spawn_blocking(move || prepare(&path, previous, forced)).await;
        match outcome {
            Ok(Outcome::Unchanged) => {
                tracing::debug!(path = %options.path.display(), "configuration file unchanged");
            }
            Ok(Outcome::Ready(prepared, new_fingerprint)) => {
                fingerprint = new_fingerprint;
                for warning in &prepared.warnings {
                    tracing::warn!("configuration warning: {warning}");
                }
                warn_about_restart_only_changes(
                    &prepared,
                    &running_listeners,
                    &running_admin_address,
                    &running_access_log,
                );
                let version = installer.install(*prepared);
                tracing::info!(
                    path = %options.path.display(),
                    config_version = version,
                    trigger = if forced { "SIGHUP" } else { "file change" },
                    "configuration reloaded"
                );
            }
            Ok(Outcome::Refused(error, new_fingerprint)) => {
                fingerprint = new_fingerprint;
                installer.gateway().metrics().config_load(false);
                for line in error.lines() {
                    tracing::error!(path = %options.path.display(), "reload refused: {line}");
                }
                tracing::error!(
                    path = %options.path.display(),
                    "reload refused; the previous configuration keeps serving"
                );
            }
            Err(join_error) => {
                installer.gateway().metrics().config_load(false);
                tracing::error!("configuration reload task failed: {join_error}");
            }
        }
    }
}

fn prepare(path: &Path, previous: Option<u64>, forced: bool) -> Outcome {
    let current = config_source::content_fingerprint(path);
    if !forced && current.is_some() && current == previous {
        return Outcome::Unchanged;
    }
    match config_source::prepare_file(path) {
        Ok(prepared) => Outcome::Ready(Box::new(prepared), current),
        Err(error) => Outcome::Refused(error, current),
    }
}

/// Listeners, the admin address and the access log are set up once; a reload cannot move
/// them.
fn warn_about_restart_only_changes(
    prepared: &Prepared,
    running_listeners: &[Listener],
    running_admin_address: &str,
    running_access_log: &AccessLog,
) {
    if prepared.config.listeners != running_listeners {
        tracing::warn!(
            "listeners changed in the reloaded file; they take effect only after a restart \
             (the running listeners are kept)"
        );
    }
    if prepared.config.admin.address != running_admin_address {
        tracing::warn!(
            "admin.address changed in the reloaded file; it takes effect only after a restart"
        );
    }
    if prepared.config.access_log != *running_access_log {
        tracing::warn!(
            "accessLog changed in the reloaded file; it takes effect only after a restart"
        );
    }
}

/// Watch the file's PARENT directory: editors and config-map updates replace the file by
/// renaming another one over it, which a watch on the file itself would lose.
fn watch_file(
    path: &Path,
    triggers: mpsc::UnboundedSender<Trigger>,
) -> notify::Result<notify::RecommendedWatcher> {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let directory = absolute
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let file_name = absolute.file_name().map(ToOwned::to_owned);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event.kind.is_access() {
            return;
        }
        // Only events about our file (or a Kubernetes-style `..data` symlink swap) matter;
        // the directory may hold busy files such as the access log.
        let concerns_file = event.paths.iter().any(|changed| {
            let name = changed.file_name();
            name == file_name.as_deref() || name.is_some_and(|name| name == "..data")
        });
        if concerns_file {
            let _ = triggers.send(Trigger::FileEvent);
        }
    })?;
    watcher.watch(&directory, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}
