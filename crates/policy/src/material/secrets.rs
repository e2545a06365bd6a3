//! Secret references in the configuration (`env:NAME`, `file:PATH`; secrets are never inline)
//! and the sources that resolve them. This crate reads nothing itself: the data plane passes a
//! source that reads its environment and files; a dry run passes [`DeferredSecrets`], which
//! checks each reference's form and leaves the reading to the data plane.

use std::fmt;

/// Largest secret file read: a secret file holds one key, not a document.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// Where a secret is, as the configuration names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretReference<'a> {
    /// `env:NAME`: the environment variable `NAME` of the gateway's process.
    Env(&'a str),
    /// `file:PATH`: the file's bytes, one trailing line break dropped.
    File(&'a str),
}

impl<'a> SecretReference<'a> {
    /// Parses `env:NAME` (letters, digits, `_`) or `file:PATH` (non-empty).
    pub fn parse(text: &'a str) -> Result<SecretReference<'a>, SecretError> {
        match text.split_once(':') {
            Some(("env", name))
                if !name.is_empty()
                    && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                Ok(SecretReference::Env(name))
            }
            Some(("file", path)) if !path.is_empty() => Ok(SecretReference::File(path)),
            _ => Err(SecretError::NotAReference(text.to_string())),
        }
    }
}

impl fmt::Display for SecretReference<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretReference::Env(name) => write!(f, "env:{name}"),
            SecretReference::File(path) => write!(f, "file:{path}"),
        }
    }
}

/// A secret's bytes. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

/// Why a reference could not be resolved. The text says what to do; the builder puts the
/// field path in front of it.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("`{0}` is not a secret reference: write `env:NAME` or `file:PATH`")]
    NotAReference(String),
    #[error("cannot read environment variable {0}: it is not set; export it before starting the gateway, or use file:PATH")]
    EnvNotSet(String),
    #[error("cannot read file {path}: {source}; create it or let the gateway's user read it, or use env:NAME")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("file {path} is {size} bytes, more than the {MAX_SECRET_FILE_BYTES} a secret file may hold: point to a file that holds only the secret")]
    FileTooLarge { path: String, size: u64 },
}

/// Resolves secret references. `Ok(None)` means this source defers reading (a dry run): the
/// reference's form was checked, its value is the data plane's business.
pub trait SecretSource {
    fn read(&self, reference: SecretReference<'_>) -> Result<Option<Secret>, SecretError>;
}

/// Reads nothing: what the control plane checks, since the secrets live in each data plane's
/// environment and files. Every well-formed reference is accepted, unread.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeferredSecrets;

impl SecretSource for DeferredSecrets {
    fn read(&self, _reference: SecretReference<'_>) -> Result<Option<Secret>, SecretError> {
        Ok(None)
    }
}

/// Drops one trailing line break (editors add it; no secret ends with one).
pub fn trim_line_break(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_and_bad_ones_say_how_to_write_them() {
        assert_eq!(
            SecretReference::parse("env:PARTNER_SECRET").expect("env"),
            SecretReference::Env("PARTNER_SECRET")
        );
        assert_eq!(
            SecretReference::parse("file:/run/secrets/a:b").expect("file"),
            SecretReference::File("/run/secrets/a:b")
        );
        for bad in ["plain-secret", "env:", "env:A-B", "file:", "ENV:X", ""] {
            let error = SecretReference::parse(bad).expect_err(bad).to_string();
            assert!(
                error.contains("env:NAME") && error.contains("file:PATH"),
                "{error}"
            );
        }
    }

    #[test]
    fn secrets_never_show_in_debug_and_deferral_reads_nothing() {
        let secret = Secret::new(b"s3cret".to_vec());
        assert!(!format!("{secret:?}").contains("s3cret"));
        assert!(DeferredSecrets
            .read(SecretReference::Env("PORTCULLIS_TEST_SURELY_UNSET"))
            .expect("deferred")
            .is_none());
        assert_eq!(trim_line_break(b"key\r\n".to_vec()), b"key");
        assert_eq!(trim_line_break(b"key\n\n".to_vec()), b"key\n");
    }
}
