//! The last-known-good copy: two generations in the state directory.
//!
//! `snapshot.current.json` is the newest snapshot installed from the control plane,
//! `snapshot.previous.json` the one before. Each file is a document and a `sha256:` trailer
//! (`format.rs`). A save writes a temporary file in the same directory, fsyncs it, renames
//! current → previous, renames the temporary file → current and fsyncs the directory: at every
//! instant at least one complete generation is on disk under its final name. A load takes the
//! newest generation that verifies (trailer, document, environment, recomputed checksum),
//! logging every generation it skips with its path and why.

mod format;

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use portcullis_config::ValidatedConfig;

pub use self::format::{decode, DecodeError, StoredSnapshot, FORMAT};
use self::format::{encode, trailer_matches};
use crate::clock::now_rfc3339;
use crate::error::AgentError;
use crate::install::{check_config, ConfigRefusal};

pub const CURRENT_FILE: &str = "snapshot.current.json";
pub const PREVIOUS_FILE: &str = "snapshot.previous.json";
const TEMP_PREFIX: &str = ".snapshot.";
const TEMP_SUFFIX: &str = ".tmp";

/// A failed save: the step, the file and the cause.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {source}", path.display())]
pub struct DiskError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// A generation that verified, with its configuration parsed and validated.
#[derive(Debug, Clone)]
pub struct VerifiedGeneration {
    pub path: PathBuf,
    pub snapshot: StoredSnapshot,
    pub config: ValidatedConfig,
}

/// Why a generation was skipped.
#[derive(Debug)]
pub(crate) enum Skip {
    Missing,
    Unreadable(io::Error),
    Damaged(DecodeError),
    OtherEnvironment { found: String, ours: String },
    ChecksumMismatch { stored: String, computed: String },
    Invalid(Vec<String>),
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::Missing => f.write_str("missing"),
            Skip::Unreadable(error) => write!(f, "unreadable: {error}"),
            Skip::Damaged(reason) => reason.fmt(f),
            Skip::OtherEnvironment { found, ours } => write!(
                f,
                "another environment: it holds environment {found:?}, this data plane serves \
                 {ours:?}"
            ),
            Skip::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch: the file says {stored}, its configuration hashes to \
                 {computed}"
            ),
            Skip::Invalid(lines) => write!(
                f,
                "its configuration no longer validates: {}",
                lines.join("; ")
            ),
        }
    }
}

/// The state directory's snapshot files for one environment.
#[derive(Debug, Clone)]
pub struct DiskStore {
    dir: PathBuf,
    environment: String,
}

impl DiskStore {
    /// Creates `dir` (mode 0700, parents included) when missing and checks that it can be
    /// written. The error names the directory and the fix.
    pub fn open(dir: &Path, environment: &str) -> Result<DiskStore, AgentError> {
        let refuse = |reason: String, fix: &'static str| AgentError::StateDir {
            path: dir.to_path_buf(),
            reason,
            fix,
        };
        const FIX_CREATE: &str = "create it, or let the user running portcullis write to its \
                                  parent, or choose another --state-dir";
        const FIX_WRITE: &str = "let the user running portcullis write to it (the \
                                 last-known-good configuration is kept there), or choose \
                                 another --state-dir";
        match fs::metadata(dir) {
            Ok(metadata) if !metadata.is_dir() => {
                return Err(refuse(
                    "it exists and is not a directory".into(),
                    FIX_CREATE,
                ))
            }
            Ok(metadata) => {
                if metadata.permissions().mode() & 0o077 != 0 {
                    tracing::warn!(
                        state_dir = %dir.display(),
                        "the state directory {} can be read by other users; the \
                         configurations kept there may hold secrets: chmod 700 it",
                        dir.display()
                    );
                }
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|error| refuse(format!("cannot create it: {error}"), FIX_CREATE))?;
            }
            Err(error) => return Err(refuse(format!("cannot read it: {error}"), FIX_CREATE)),
        }
        let probe = dir.join(format!(".write-check.{}", std::process::id()));
        let written = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&probe)
            .and_then(|mut file| file.write_all(b"ok"));
        let _ = fs::remove_file(&probe);
        written.map_err(|error| refuse(format!("cannot write to it: {error}"), FIX_WRITE))?;
        Ok(DiskStore {
            dir: dir.to_path_buf(),
            environment: environment.to_owned(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn current_path(&self) -> PathBuf {
        self.dir.join(CURRENT_FILE)
    }

    pub fn previous_path(&self) -> PathBuf {
        self.dir.join(PREVIOUS_FILE)
    }

    /// A document for `config`, stamped now.
    pub fn document(
        &self,
        pool: &str,
        config_version: i64,
        checksum: &str,
        config: serde_json::Value,
    ) -> StoredSnapshot {
        StoredSnapshot {
            format: FORMAT,
            environment: self.environment.clone(),
            pool: pool.to_owned(),
            config_version,
            checksum: checksum.to_owned(),
            saved_at: now_rfc3339(),
            config,
        }
    }

    /// Saves `snapshot` as the current generation; the old current becomes the previous one.
    /// A current file whose trailer does not match is not rotated (it would push out a good
    /// previous generation); it is simply replaced.
    pub fn save(&self, snapshot: &StoredSnapshot) -> Result<(), DiskError> {
        let current = self.current_path();
        let previous = self.previous_path();
        let bytes = encode(snapshot).map_err(|error| DiskError {
            action: "encode the snapshot for",
            path: current.clone(),
            source: io::Error::other(error),
        })?;
        self.remove_stale_temp_files();
        let temp = self.dir.join(format!(
            "{TEMP_PREFIX}{}.{:016x}{TEMP_SUFFIX}",
            std::process::id(),
            rand::random::<u64>()
        ));
        if let Err(error) = write_synced(&temp, &bytes) {
            let _ = fs::remove_file(&temp);
            return Err(error);
        }
        match fs::read(&current) {
            Ok(existing) if trailer_matches(&existing) => {
                fs::rename(&current, &previous).map_err(|source| {
                    let _ = fs::remove_file(&temp);
                    DiskError {
                        action: "rename to snapshot.previous.json",
                        path: current.clone(),
                        source,
                    }
                })?;
            }
            Ok(_) => tracing::warn!(
                path = %current.display(),
                "the last-known-good copy {} is damaged; replacing it without keeping it as \
                 the previous generation",
                current.display()
            ),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => tracing::warn!(
                path = %current.display(),
                "cannot read the last-known-good copy {} ({error}); replacing it without \
                 keeping it as the previous generation",
                current.display()
            ),
        }
        fs::rename(&temp, &current).map_err(|source| {
            let _ = fs::remove_file(&temp);
            DiskError {
                action: "rename the new snapshot to",
                path: current.clone(),
                source,
            }
        })?;
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|source| DiskError {
                action: "fsync the state directory",
                path: self.dir.clone(),
                source,
            })
    }

    /// The newest generation that verifies, else the older; `None` when neither does. Every
    /// generation skipped is logged with its path and why.
    pub fn load(&self) -> Option<VerifiedGeneration> {
        self.generations().next()
    }

    /// Every generation that verifies, newest first, each checked only when reached (so a
    /// caller that takes the first one does not parse the second).
    pub fn generations(&self) -> impl Iterator<Item = VerifiedGeneration> + '_ {
        [self.current_path(), self.previous_path()]
            .into_iter()
            .filter_map(move |path| match self.verify(&path) {
                Ok(generation) => Some(generation),
                Err(Skip::Missing) => {
                    tracing::debug!(path = %path.display(), "no last-known-good copy here");
                    None
                }
                Err(skip) => {
                    tracing::warn!(
                        path = %path.display(),
                        reason = %skip,
                        "skipping the last-known-good copy {}: {skip}",
                        path.display()
                    );
                    None
                }
            })
    }

    pub(crate) fn verify(&self, path: &Path) -> Result<VerifiedGeneration, Skip> {
        let bytes = fs::read(path).map_err(|error| match error.kind() {
            io::ErrorKind::NotFound => Skip::Missing,
            _ => Skip::Unreadable(error),
        })?;
        let snapshot = decode(&bytes).map_err(Skip::Damaged)?;
        if snapshot.environment != self.environment {
            return Err(Skip::OtherEnvironment {
                found: snapshot.environment,
                ours: self.environment.clone(),
            });
        }
        let config =
            check_config(&snapshot.config, &snapshot.checksum).map_err(
                |refusal| match refusal {
                    ConfigRefusal::ChecksumMismatch { expected, computed } => {
                        Skip::ChecksumMismatch {
                            stored: expected,
                            computed,
                        }
                    }
                    ConfigRefusal::Invalid(lines) => Skip::Invalid(lines),
                },
            )?;
        Ok(VerifiedGeneration {
            path: path.to_path_buf(),
            snapshot,
            config,
        })
    }

    /// Temporary files left by a save that was cut short (a crash): never loaded, removed at
    /// the next save.
    fn remove_stale_temp_files(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), DiskError> {
    let fail = |action: &'static str| {
        move |source| DiskError {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(fail("create"))?;
    file.write_all(bytes).map_err(fail("write"))?;
    file.sync_all().map_err(fail("fsync"))
}

#[cfg(test)]
mod tests;
