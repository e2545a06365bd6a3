//! One generation file: the snapshot document as one line of JSON, then a trailer line
//! `sha256:<64 hex of the document's bytes>`. The trailer tells a complete, intact file from
//! a truncated or damaged one before anything is parsed.

use std::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The version of the document layout this build writes and reads.
pub const FORMAT: u32 = 1;

const TRAILER_PREFIX: &str = "sha256:";

/// The document kept in a generation file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSnapshot {
    /// [`FORMAT`].
    pub format: u32,
    pub environment: String,
    pub pool: String,
    pub config_version: i64,
    /// `sha256:` checksum of `config` as the control plane published it.
    pub checksum: String,
    /// When this data plane wrote the file (RFC 3339, UTC).
    pub saved_at: String,
    /// The configuration document, as received.
    pub config: serde_json::Value,
}

/// Why a file's bytes are not a usable document (before its meaning is checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// No complete trailer line: the file ends early.
    Truncated,
    /// The trailer does not match the document: the bytes changed after they were written.
    Corrupt,
    /// The trailer matches, but the document is not a snapshot document.
    NotADocument(String),
    /// Written by a build with another layout.
    UnsupportedFormat(u64),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str(
                "truncated: it does not end with a complete sha256 trailer line (a write was cut \
                 short)",
            ),
            DecodeError::Corrupt => f.write_str(
                "corrupt: its bytes do not match its sha256 trailer (changed after it was \
                 written)",
            ),
            DecodeError::NotADocument(reason) => {
                write!(f, "corrupt: not a snapshot document: {reason}")
            }
            DecodeError::UnsupportedFormat(format) => write!(
                f,
                "written in format {format}; this build reads format {FORMAT} (written by \
                 another Portcullis version)"
            ),
        }
    }
}

/// The file's bytes: the document, a newline, the trailer, a newline.
pub(crate) fn encode(snapshot: &StoredSnapshot) -> Result<Vec<u8>, serde_json::Error> {
    // Compact JSON escapes every newline inside strings, so the document is one line.
    let mut bytes = serde_json::to_vec(snapshot)?;
    let digest = hex::encode(Sha256::digest(&bytes));
    bytes.push(b'\n');
    bytes.extend_from_slice(TRAILER_PREFIX.as_bytes());
    bytes.extend_from_slice(digest.as_bytes());
    bytes.push(b'\n');
    Ok(bytes)
}

/// True when the bytes end with a trailer that matches the document (nothing is parsed).
pub(crate) fn trailer_matches(bytes: &[u8]) -> bool {
    split_and_check(bytes).is_ok()
}

/// A generation file's bytes → its document, or why not: the file must end with a complete
/// `sha256:` trailer line that matches the bytes before it, which must be a snapshot document
/// of [`FORMAT`]. Nothing is read from outside the bytes; whether the document is for this
/// data plane and its configuration still validates is checked by the caller. Public for the
/// fuzz target: it reads a file that a crash or a full disk may have cut short.
pub fn decode(bytes: &[u8]) -> Result<StoredSnapshot, DecodeError> {
    let document = split_and_check(bytes)?;
    let value: serde_json::Value = serde_json::from_slice(document)
        .map_err(|error| DecodeError::NotADocument(error.to_string()))?;
    match value.get("format").and_then(serde_json::Value::as_u64) {
        Some(format) if format == u64::from(FORMAT) => {}
        Some(format) => return Err(DecodeError::UnsupportedFormat(format)),
        None => {
            return Err(DecodeError::NotADocument(
                "it has no numeric `format` field".to_owned(),
            ))
        }
    }
    serde_json::from_value(value).map_err(|error| DecodeError::NotADocument(error.to_string()))
}

/// The document's bytes, once the trailer is found complete and matching.
fn split_and_check(bytes: &[u8]) -> Result<&[u8], DecodeError> {
    let body = bytes.strip_suffix(b"\n").ok_or(DecodeError::Truncated)?;
    let newline = body
        .iter()
        .rposition(|&byte| byte == b'\n')
        .ok_or(DecodeError::Truncated)?;
    let (document, trailer) = (&body[..newline], &body[newline + 1..]);
    let hex_digest = trailer
        .strip_prefix(TRAILER_PREFIX.as_bytes())
        .filter(|digest| {
            digest.len() == 64
                && digest
                    .iter()
                    .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(byte))
        })
        .ok_or(DecodeError::Truncated)?;
    let actual = hex::encode(Sha256::digest(document));
    if actual.as_bytes() != hex_digest {
        return Err(DecodeError::Corrupt);
    }
    Ok(document)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StoredSnapshot {
        StoredSnapshot {
            format: FORMAT,
            environment: "production".into(),
            pool: "default".into(),
            config_version: 7,
            checksum: format!("sha256:{}", "a".repeat(64)),
            saved_at: "2026-04-08T10:15:30.123Z".into(),
            config: serde_json::json!({"routes": [{"name": "line\nbreak \"quoted\""}]}),
        }
    }

    #[test]
    fn encoded_files_are_one_document_line_and_one_trailer_line() {
        let bytes = encode(&sample()).expect("encode");
        let text = String::from_utf8(bytes.clone()).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("{\"format\":1,"), "{}", lines[0]);
        assert!(lines[1].starts_with("sha256:") && lines[1].len() == 71);
        assert_eq!(decode(&bytes), Ok(sample()));
    }

    #[test]
    fn damaged_bytes_are_told_apart() {
        let good = encode(&sample()).expect("encode");
        let mut flipped = good.clone();
        flipped[20] ^= 0x01;
        let mut other_format = sample();
        other_format.format = 2;
        let cases: Vec<(&str, Vec<u8>, DecodeError)> = vec![
            ("empty", Vec::new(), DecodeError::Truncated),
            (
                "cut in the document",
                good[..30].to_vec(),
                DecodeError::Truncated,
            ),
            (
                "cut in the trailer",
                good[..good.len() - 10].to_vec(),
                DecodeError::Truncated,
            ),
            (
                "final newline missing",
                good[..good.len() - 1].to_vec(),
                DecodeError::Truncated,
            ),
            ("a bit flipped", flipped, DecodeError::Corrupt),
            (
                "another format",
                encode(&other_format).expect("encode"),
                DecodeError::UnsupportedFormat(2),
            ),
        ];
        for (name, bytes, expected) in cases {
            assert_eq!(decode(&bytes), Err(expected), "{name}");
        }
    }

    /// The `disk_generation` fuzz target's contract, exhaustively for one file: no cut of a
    /// complete file and no flipped bit is ever accepted.
    #[test]
    fn no_cut_and_no_flipped_bit_is_accepted() {
        let good = encode(&sample()).expect("encode");
        for length in 0..good.len() {
            assert!(decode(&good[..length]).is_err(), "cut at {length}");
        }
        for index in 0..good.len() {
            for bit in 0..8 {
                let mut damaged = good.clone();
                damaged[index] ^= 1 << bit;
                assert!(decode(&damaged).is_err(), "bit {bit} of byte {index}");
            }
        }
    }

    #[test]
    fn a_matching_trailer_over_something_else_is_not_a_document() {
        let document = b"[1,2,3]";
        let mut bytes = document.to_vec();
        bytes.extend_from_slice(b"\nsha256:");
        bytes.extend_from_slice(hex::encode(Sha256::digest(document)).as_bytes());
        bytes.push(b'\n');
        assert!(matches!(decode(&bytes), Err(DecodeError::NotADocument(_))));
    }
}
