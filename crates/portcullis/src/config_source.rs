//! Turning a configuration file into a snapshot ready to install, off the request path:
//! read, parse and validate (`portcullis-config`), then build everything on the gateway
//! (`Gateway::prepare`: compile, policy material with secrets read, rate limits, pools, TLS).
//! Start, reload and `portcullis validate` all come this way, so they refuse the same files
//! with the same errors. Blocking: call it from `spawn_blocking` on a running gateway.

use std::hash::Hasher;
use std::path::Path;

use portcullis_config::{ConfigErrors, ValidatedConfig};
use portcullis_proxy::{Gateway, PreparedSnapshot, SnapshotMeta};

/// One read of a configuration file: the outcome, and the fingerprint of exactly the bytes
/// that produced it.
pub struct FileLoad<T> {
    /// `None` when the file could not be read.
    pub fingerprint: Option<u64>,
    pub result: Result<T, ConfigErrors>,
}

/// Read the file once, then parse and validate what was read. The fingerprint describes
/// those same bytes, so a write that lands between the read and a second look at the file
/// can never be mistaken for the installed configuration.
pub fn load_file(path: &Path) -> FileLoad<ValidatedConfig> {
    let text = match portcullis_config::read_file(path) {
        Ok(text) => text,
        Err(errors) => {
            return FileLoad {
                fingerprint: None,
                result: Err(errors),
            }
        }
    };
    FileLoad {
        fingerprint: Some(fingerprint_of(text.as_bytes())),
        result: portcullis_config::load_file_text(path, &text),
    }
}

/// [`load_file`], then build the configuration on `gateway`; `meta` gives the snapshot its
/// identity from the validated configuration.
pub fn prepare_file(
    gateway: &Gateway,
    path: &Path,
    meta: impl FnOnce(&ValidatedConfig) -> SnapshotMeta,
) -> FileLoad<PreparedSnapshot> {
    let load = load_file(path);
    let source_name = path.display().to_string();
    FileLoad {
        fingerprint: load.fingerprint,
        result: load.result.and_then(|validated| {
            let meta = meta(&validated);
            prepare(gateway, validated, meta, &source_name)
        }),
    }
}

/// Build a validated configuration on `gateway`; errors name `source_name`.
pub fn prepare(
    gateway: &Gateway,
    validated: ValidatedConfig,
    meta: SnapshotMeta,
    source_name: &str,
) -> Result<PreparedSnapshot, ConfigErrors> {
    gateway
        .prepare(validated, meta)
        .map_err(|errors| errors.with_source(source_name))
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
