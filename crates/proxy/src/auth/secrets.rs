//! The data plane's secret source: `env:NAME` from the process environment, `file:PATH` from
//! the file system. Read once per prepared snapshot, never on the request path.

use std::io::Read;

use portcullis_policy::material::{
    trim_line_break, Secret, SecretError, SecretReference, SecretSource, MAX_SECRET_FILE_BYTES,
};

/// Reads secret references from this process's environment and files. What
/// `Gateway::prepare` and `portcullis validate` build with.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvironmentSecrets;

impl SecretSource for EnvironmentSecrets {
    fn read(&self, reference: SecretReference<'_>) -> Result<Option<Secret>, SecretError> {
        match reference {
            SecretReference::Env(name) => std::env::var_os(name)
                .map(|value| Some(Secret::new(value.into_encoded_bytes())))
                .ok_or_else(|| SecretError::EnvNotSet(name.to_string())),
            SecretReference::File(path) => read_file(path).map(Some),
        }
    }
}

/// The file's bytes, one trailing line break dropped; refused beyond the size limit.
fn read_file(path: &str) -> Result<Secret, SecretError> {
    let file_error = |source| SecretError::File {
        path: path.to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(file_error)?;
    let mut bytes = Vec::new();
    // One byte past the limit tells a file at the limit from one beyond it.
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(file_error)?;
    let size = bytes.len() as u64;
    if size > MAX_SECRET_FILE_BYTES {
        return Err(SecretError::FileTooLarge {
            path: path.to_string(),
            size,
        });
    }
    Ok(Secret::new(trim_line_break(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_lose_one_trailing_line_break_and_failures_name_the_value() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("secret");
        std::fs::write(&path, b"s3cret\r\n").expect("write");
        let path = path.display().to_string();
        let secret = EnvironmentSecrets
            .read(SecretReference::File(&path))
            .expect("file")
            .expect("read");
        assert_eq!(secret.as_bytes(), b"s3cret");

        let missing = EnvironmentSecrets
            .read(SecretReference::Env(
                "PORTCULLIS_TEST_SURELY_UNSET_VARIABLE",
            ))
            .expect_err("unset")
            .to_string();
        assert!(
            missing.contains("PORTCULLIS_TEST_SURELY_UNSET_VARIABLE") && missing.contains("export"),
            "{missing}"
        );
        let absent = dir.path().join("absent").display().to_string();
        let unreadable = EnvironmentSecrets
            .read(SecretReference::File(&absent))
            .expect_err("absent")
            .to_string();
        assert!(unreadable.contains(&absent), "{unreadable}");

        let large = dir.path().join("large");
        std::fs::write(&large, vec![b'x'; MAX_SECRET_FILE_BYTES as usize + 1]).expect("write");
        let large = large.display().to_string();
        assert!(matches!(
            EnvironmentSecrets.read(SecretReference::File(&large)),
            Err(SecretError::FileTooLarge { .. })
        ));
    }
}
