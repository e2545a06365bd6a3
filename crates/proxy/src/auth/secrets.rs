//! Secret references from the config: `env:NAME` or `file:PATH` (secrets are never inline).
//! Resolved once per snapshot install, never on the request path.

/// The bytes `reference` points at. One trailing line break of a file is dropped (editors
/// add it; no secret ends with one).
pub(super) fn resolve(reference: &str) -> Result<Vec<u8>, String> {
    if let Some(name) = reference.strip_prefix("env:") {
        return std::env::var_os(name)
            .map(|value| value.into_encoded_bytes())
            .ok_or_else(|| format!("environment variable `{name}` is not set: export it or point to a file with `file:PATH`"));
    }
    if let Some(path) = reference.strip_prefix("file:") {
        let mut bytes =
            std::fs::read(path).map_err(|error| format!("cannot read `{path}`: {error}"))?;
        if bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
        return Ok(bytes);
    }
    Err(format!(
        "`{reference}` is not a secret reference: write `env:NAME` or `file:PATH`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_lose_one_trailing_line_break_and_bad_references_are_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("secret");
        std::fs::write(&path, b"s3cret\r\n").expect("write");
        assert_eq!(
            resolve(&format!("file:{}", path.display())).expect("file"),
            b"s3cret"
        );
        let error = resolve("plain-secret").expect_err("not a reference");
        assert!(error.contains("env:NAME"), "{error}");
        let missing = resolve("env:PORTCULLIS_TEST_SURELY_UNSET_VARIABLE").expect_err("unset");
        assert!(
            missing.contains("PORTCULLIS_TEST_SURELY_UNSET_VARIABLE"),
            "{missing}"
        );
    }
}
