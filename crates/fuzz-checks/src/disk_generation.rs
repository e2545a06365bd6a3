//! The data plane's last-known-good file parser (`portcullis_agent::disk::decode`) reads a
//! file that a crash or a full disk may have cut short or damaged. Whatever the bytes, it
//! never panics, and a file it accepts ends with a `sha256:` trailer line that matches the
//! bytes before it (checked here independently), holding a document of the current format.
//!
//! Random bytes almost never carry a matching trailer, so each input is also tried as a
//! document under a correct trailer (which reaches the document's parsing), and that file
//! cut at an input-chosen length (a write cut short).

use portcullis_agent::disk::{decode, FORMAT};
use sha2::{Digest, Sha256};

/// The document's bytes and its trailer's hex digest, split as a writer lays the file out:
/// `<document>\nsha256:<64 lower-case hex>\n`.
fn split(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let body = bytes.strip_suffix(b"\n")?;
    let newline = body.iter().rposition(|&byte| byte == b'\n')?;
    let trailer = body[newline + 1..].strip_prefix(b"sha256:")?;
    Some((&body[..newline], trailer))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The contract for one file.
fn check_file(bytes: &[u8]) {
    let Ok(snapshot) = decode(bytes) else {
        return;
    };
    let (document, trailer) = split(bytes).expect("an accepted file ends with a trailer line");
    assert_eq!(
        trailer,
        hex(&Sha256::digest(document)).as_bytes(),
        "an accepted file's trailer matches its document"
    );
    assert_eq!(
        snapshot.format, FORMAT,
        "an accepted document is of this format"
    );
    let reparsed: serde_json::Value =
        serde_json::from_slice(document).expect("an accepted document is JSON");
    assert_eq!(
        reparsed
            .get("configVersion")
            .and_then(serde_json::Value::as_i64),
        Some(snapshot.config_version),
        "the decoded document is the one in the file"
    );
}

/// The target's contract for one input; panics on a violation.
pub fn check(data: &[u8]) {
    check_file(data);

    let mut sealed = data.to_vec();
    sealed.extend_from_slice(b"\nsha256:");
    sealed.extend_from_slice(hex(&Sha256::digest(data)).as_bytes());
    sealed.push(b'\n');
    check_file(&sealed);

    if let Some(&cut) = data.first() {
        let keep = sealed.len() * usize::from(cut) / 256;
        check_file(&sealed[..keep]);
    }
}
