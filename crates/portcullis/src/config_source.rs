//! Turning a configuration file into a compiled snapshot, off the request path: read, parse,
//! validate (`portcullis-config`), compile (`portcullis-router`). Blocking: call it from
//! `spawn_blocking` on a running gateway.

use std::fmt;
use std::hash::Hasher;
use std::path::Path;

use portcullis_config::{Config, ConfigErrors, ValidatedConfig};
use portcullis_router::{CompileError, Snapshot};

/// A configuration that passed validation and compiled, ready to install.
#[derive(Debug)]
pub struct Prepared {
    pub config: Config,
    /// `sha256:…` over the canonical JSON (from `portcullis-config`).
    pub checksum: String,
    /// Validation warnings, one rendered line each.
    pub warnings: Vec<String>,
    pub snapshot: Snapshot,
}

/// Why a configuration cannot be used. `Display` lists every problem, one per line.
#[derive(Debug)]
pub enum PrepareError {
    Invalid(ConfigErrors),
    Compile {
        source_name: String,
        error: CompileError,
    },
}

impl fmt::Display for PrepareError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrepareError::Invalid(errors) => write!(f, "{errors}"),
            PrepareError::Compile { source_name, error } => {
                write!(
                    f,
                    "{source_name}: the configuration is valid but does not compile: {error}"
                )
            }
        }
    }
}

impl std::error::Error for PrepareError {}

impl PrepareError {
    /// One line per problem (for logs, where one event per error reads best).
    pub fn lines(&self) -> Vec<String> {
        match self {
            PrepareError::Invalid(errors) => errors.iter().map(ToString::to_string).collect(),
            PrepareError::Compile { .. } => vec![self.to_string()],
        }
    }
}

/// Read, validate and compile the file at `path`.
pub fn prepare_file(path: &Path) -> Result<Prepared, PrepareError> {
    load_file(path).result
}

/// One read of a configuration file: the outcome, and the fingerprint of exactly the bytes
/// that produced it.
pub struct FileLoad {
    /// `None` when the file could not be read.
    pub fingerprint: Option<u64>,
    pub result: Result<Prepared, PrepareError>,
}

/// Read the file once, then validate and compile what was read. The fingerprint describes
/// those same bytes, so a write that lands between the read and a second look at the file
/// can never be mistaken for the installed configuration.
pub fn load_file(path: &Path) -> FileLoad {
    let text = match portcullis_config::read_file(path) {
        Ok(text) => text,
        Err(errors) => {
            return FileLoad {
                fingerprint: None,
                result: Err(PrepareError::Invalid(errors)),
            }
        }
    };
    let fingerprint = Some(fingerprint_of(text.as_bytes()));
    let result = portcullis_config::load_file_text(path, &text)
        .map_err(PrepareError::Invalid)
        .and_then(|validated| compile(validated, &path.display().to_string()));
    FileLoad {
        fingerprint,
        result,
    }
}

/// Compile a validated configuration.
pub fn compile(validated: ValidatedConfig, source_name: &str) -> Result<Prepared, PrepareError> {
    let snapshot = Snapshot::compile(&validated).map_err(|error| PrepareError::Compile {
        source_name: source_name.to_string(),
        error,
    })?;
    Ok(Prepared {
        config: validated.config().clone(),
        checksum: validated.checksum().to_string(),
        warnings: validated
            .warnings()
            .iter()
            .map(ToString::to_string)
            .collect(),
        snapshot,
    })
}

/// A cheap fingerprint of a file's bytes, to skip watcher events that changed nothing.
/// `None` when the file cannot be read (the load that follows reports why). The file is
/// hashed in blocks, never held whole: after the post-load trim, a megabyte-sized buffer
/// freed here would stay in the process's resident memory.
pub fn content_fingerprint(path: &Path) -> Option<u64> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut block = vec![0; FINGERPRINT_BLOCK];
    let mut hasher = std::hash::DefaultHasher::new();
    loop {
        let filled = fill(&mut file, &mut block).ok()?;
        if filled > 0 {
            hasher.write(&block[..filled]);
        }
        if filled < block.len() {
            return Some(hasher.finish());
        }
    }
}

/// The fingerprint of bytes already in memory; equal to [`content_fingerprint`] of a file
/// that holds them, because both feed the hasher the same blocks.
fn fingerprint_of(bytes: &[u8]) -> u64 {
    // SipHash with fixed keys: deterministic, and collisions only cost one skipped no-op check.
    let mut hasher = std::hash::DefaultHasher::new();
    for block in bytes.chunks(FINGERPRINT_BLOCK) {
        hasher.write(block);
    }
    hasher.finish()
}

const FINGERPRINT_BLOCK: usize = 64 * 1024;

/// Read until `block` is full or the file ends; how many bytes were read.
fn fill(file: &mut std::fs::File, block: &mut [u8]) -> std::io::Result<usize> {
    use std::io::Read;
    let mut filled = 0;
    while filled < block.len() {
        match file.read(&mut block[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_and_its_bytes_have_the_same_fingerprint_at_every_block_boundary() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("gateway.yaml");
        for length in [
            0,
            1,
            FINGERPRINT_BLOCK - 1,
            FINGERPRINT_BLOCK,
            FINGERPRINT_BLOCK + 1,
            3 * FINGERPRINT_BLOCK,
        ] {
            let bytes: Vec<u8> = (0..length).map(|n| (n % 251) as u8).collect();
            std::fs::write(&path, &bytes).expect("write");
            assert_eq!(
                content_fingerprint(&path),
                Some(fingerprint_of(&bytes)),
                "{length} bytes"
            );
        }
        let mut changed: Vec<u8> = (0..FINGERPRINT_BLOCK + 1)
            .map(|n| (n % 251) as u8)
            .collect();
        let before = fingerprint_of(&changed);
        changed[FINGERPRINT_BLOCK] ^= 1;
        assert_ne!(fingerprint_of(&changed), before);
        assert_eq!(content_fingerprint(&dir.path().join("missing.yaml")), None);
    }
}
