//! The first admin token: made at start when the store holds no usable admin token, written
//! to `<data-dir>/admin.token` (mode 0600, created exclusively, never overwritten). Only the
//! file's path is logged, never the token.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use portcullis_protocol::admin::Role;

use crate::error::ControlError;
use crate::store::Store;
use crate::tokens;

pub const BOOTSTRAP_TOKEN_NAME: &str = "bootstrap-admin";
/// The actor of what the control plane does by itself.
pub const SYSTEM_ACTOR: &str = "control-plane";

/// Makes the first admin token when none is usable. Returns true when it wrote one.
pub async fn ensure_admin_token(store: &Store, path: &Path) -> Result<bool, ControlError> {
    if store.usable_admin_tokens().await? > 0 {
        return Ok(false);
    }
    let token = tokens::generate();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    let mut file = match file {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            tracing::warn!(
                path = %path.display(),
                "no usable admin token in the store, and the token file exists: it is never overwritten; \
                 if its token was revoked, move the file away and restart to get a new one"
            );
            return Ok(false);
        }
        Err(source) => return Err(data_dir_error(path, source)),
    };
    let written = file
        .write_all(format!("{token}\n").as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(source) = written {
        let _ = std::fs::remove_file(path);
        return Err(data_dir_error(path, source));
    }
    let stored = store
        .create_token(
            BOOTSTRAP_TOKEN_NAME,
            Role::Admin,
            &tokens::hash(&token),
            SYSTEM_ACTOR,
        )
        .await;
    if let Err(error) = stored {
        // A file whose token is not in the store would only mislead.
        let _ = std::fs::remove_file(path);
        return Err(error.into());
    }
    tracing::info!(path = %path.display(), "wrote the first admin token; read it from this file");
    Ok(true)
}

fn data_dir_error(path: &Path, source: std::io::Error) -> ControlError {
    ControlError::DataDir {
        path: path.display().to_string(),
        source,
    }
}
