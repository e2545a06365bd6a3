//! Standalone reloads: watch the configuration file and listen for SIGHUP. Each reload
//! parses, validates and builds (`Gateway::prepare`: compile, secrets, keys, limiter, pools,
//! TLS) on a blocking thread, never on the request path. A file that is invalid or cannot be
//! built is refused (every error logged, `config_load(false)` counted) and the running
//! snapshot keeps serving; a good one is swapped in atomically.

use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use portcullis_config::ConfigErrors;
use portcullis_proxy::{Gateway, PreparedSnapshot};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::config_source;
use crate::install::{self, Installer, RestartOnly};

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
    Ready(Box<PreparedSnapshot>, Option<u64>),
    Refused(ConfigErrors, Option<u64>),
}

/// Every this often the file's metadata is compared with the last look, so a change is
/// picked up even where file events are lost: an overflowed inotify queue, or a file system
/// (network or some container mounts) that never delivers them.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The reload triggers, set up and listening. Build it before the gateway announces that it
/// is listening: a change made after that line is then never missed.
pub struct Reloader {
    options: ReloadOptions,
    received: mpsc::UnboundedReceiver<Trigger>,
    /// Keep the watcher alive as long as the reloader: dropping it stops the events.
    _watcher: Option<notify::RecommendedWatcher>,
}

/// Start watching the file (unless `options.watch_file` is off) and listening for SIGHUP.
/// Must be called inside the runtime.
pub fn start(options: ReloadOptions) -> Reloader {
    let (triggers, received) = mpsc::unbounded_channel();
    let watcher = if options.watch_file {
        let watcher = match watch_file(&options.path, triggers.clone()) {
            Ok(watcher) => Some(watcher),
            Err(error) => {
                tracing::warn!(
                    path = %options.path.display(),
                    "cannot watch the configuration file ({error}); changes are picked up by \
                     polling every {} s, or reload with SIGHUP",
                    POLL_INTERVAL.as_secs()
                );
                None
            }
        };
        tokio::spawn(poll_file(options.path.clone(), triggers.clone()));
        // The file was read before the watch began: look once more, so a change made in
        // between is not lost. An unchanged file costs one read and a hash.
        let _ = triggers.send(Trigger::FileEvent);
        watcher
    } else {
        None
    };
    match signal(SignalKind::hangup()) {
        Ok(mut hangups) => {
            let signal_triggers = triggers;
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
    Reloader {
        options,
        received,
        _watcher: watcher,
    }
}

impl Reloader {
    /// Reload on every trigger; runs until aborted.
    pub async fn run(self, mut installer: Installer, running: RestartOnly) {
        let Reloader {
            options,
            mut received,
            _watcher,
        } = self;
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
            let gateway = installer.gateway().clone();
            let successful_loads = installer.successful_loads();
            let outcome = tokio::task::spawn_blocking(move || {
                prepare(&gateway, &path, previous, forced, successful_loads)
            })
            .await;
            match outcome {
                Ok(Outcome::Unchanged) => {
                    tracing::debug!(path = %options.path.display(), "configuration file unchanged");
                }
                Ok(Outcome::Ready(prepared, new_fingerprint)) => {
                    fingerprint = new_fingerprint;
                    for warning in prepared.warnings() {
                        tracing::warn!("configuration warning: {warning}");
                    }
                    running.warn_about_changes(prepared.validated().config(), "reloaded file");
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
                    for line in &error {
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
}

fn prepare(
    gateway: &Gateway,
    path: &Path,
    previous: Option<u64>,
    forced: bool,
    successful_loads: u64,
) -> Outcome {
    let current = config_source::content_fingerprint(path);
    if !forced && current.is_some() && current == previous {
        return Outcome::Unchanged;
    }
    // The fingerprint kept is the one of the bytes actually loaded, not of `current`: the
    // file may have been replaced again in between, and that change must not look installed.
    let load = config_source::prepare_file(gateway, path, |validated| {
        install::next_meta(validated, successful_loads)
    });
    match load.result {
        Ok(prepared) => Outcome::Ready(Box::new(prepared), load.fingerprint),
        // A file that is not UTF-8 has no loaded bytes; remember the raw fingerprint so the
        // same broken file is refused once, not on every poll.
        Err(error) => Outcome::Refused(error, load.fingerprint.or(current)),
    }
}

/// The parts of a file's metadata that change when it is rewritten or replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    device: u64,
    inode: u64,
    length: u64,
    modified: Option<std::time::SystemTime>,
}

fn stamp(path: &Path) -> Option<FileStamp> {
    use std::os::unix::fs::MetadataExt;
    // `metadata` follows symlinks, so a Kubernetes ConfigMap's `..data` swap changes the inode.
    let metadata = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        device: metadata.dev(),
        inode: metadata.ino(),
        length: metadata.len(),
        modified: metadata.modified().ok(),
    })
}

/// The safety net under the watcher: one `stat` per interval, a trigger when it differs.
async fn poll_file(path: PathBuf, triggers: mpsc::UnboundedSender<Trigger>) {
    let mut last = stamp(&path);
    let mut interval = tokio::time::interval(POLL_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let current = stamp(&path);
        if current != last {
            last = current;
            if triggers.send(Trigger::FileEvent).is_err() {
                return;
            }
        } else if triggers.is_closed() {
            return;
        }
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
        let event = match event {
            Ok(event) => event,
            Err(error) => {
                // The watcher's own trouble (such as a full event queue): look at the file.
                tracing::debug!("configuration watcher error: {error}");
                let _ = triggers.send(Trigger::FileEvent);
                return;
            }
        };
        if event.need_rescan() {
            // Events were dropped; ours may have been among them.
            let _ = triggers.send(Trigger::FileEvent);
            return;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn options(path: &Path, watch_file: bool) -> ReloadOptions {
        ReloadOptions {
            path: path.to_path_buf(),
            watch_file,
            fingerprint: config_source::content_fingerprint(path),
        }
    }

    async fn next_trigger(received: &mut mpsc::UnboundedReceiver<Trigger>) -> Option<Trigger> {
        tokio::time::timeout(Duration::from_secs(5), received.recv())
            .await
            .ok()
            .flatten()
    }

    #[tokio::test]
    async fn watching_starts_with_one_look_at_the_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("gateway.yaml");
        std::fs::write(&path, "routes: []\n").expect("write");
        let mut reloader = start(options(&path, true));
        assert_eq!(
            next_trigger(&mut reloader.received).await,
            Some(Trigger::FileEvent),
            "a change between the first read and the watch must not be lost"
        );
    }

    #[tokio::test]
    async fn no_watch_means_no_file_triggers() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("gateway.yaml");
        std::fs::write(&path, "routes: []\n").expect("write");
        let mut reloader = start(options(&path, false));
        std::fs::write(&path, "routes: [] # changed\n").expect("rewrite");
        let waited = tokio::time::timeout(POLL_INTERVAL * 3, reloader.received.recv()).await;
        assert!(
            waited.is_err(),
            "--no-watch reloads only on SIGHUP: {waited:?}"
        );
    }

    #[tokio::test]
    async fn polling_notices_a_replaced_file_without_any_event() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("gateway.yaml");
        std::fs::write(&path, "routes: []\n").expect("write");
        let (triggers, mut received) = mpsc::unbounded_channel();
        let poller = tokio::spawn(poll_file(path.clone(), triggers));
        // Same length, new inode: only the stamp can tell.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let replacement = dir.path().join("next.yaml");
        std::fs::write(&replacement, "routes: [ ]\n").expect("write replacement");
        std::fs::rename(&replacement, &path).expect("rename into place");
        assert_eq!(next_trigger(&mut received).await, Some(Trigger::FileEvent));
        drop(received);
        tokio::time::timeout(POLL_INTERVAL * 3, poller)
            .await
            .expect("the poller stops once nobody listens")
            .expect("poller task");
    }

    #[test]
    fn a_stamp_changes_with_the_content_and_vanishes_with_the_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("gateway.yaml");
        assert_eq!(stamp(&path), None);
        std::fs::write(&path, "a").expect("write");
        let first = stamp(&path).expect("stamp");
        std::fs::write(&path, "ab").expect("rewrite");
        assert_ne!(stamp(&path), Some(first));
    }
}
