//! Fuzz `canonicalize_path`: it must never panic, and a canonical path must be a fixed point
//! (canonicalising it again returns it unchanged, borrowed) free of `//`, `/./` and `/../`.

use std::borrow::Cow;

use portcullis_router::canonicalize_path;

/// The target's contract for one input; panics on a violation.
pub fn check(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(raw) = std::str::from_utf8(rest) else {
        return;
    };
    let allow_encoded_slashes = flags & 1 == 1;
    if let Ok(canonical) = canonicalize_path(raw, allow_encoded_slashes) {
        assert!(canonical.starts_with('/'));
        for forbidden in ["//", "/./", "/../"] {
            assert!(!canonical.contains(forbidden), "{raw:?} → {canonical:?}");
        }
        match canonicalize_path(&canonical, allow_encoded_slashes) {
            Ok(Cow::Borrowed(again)) => assert_eq!(again, canonical.as_ref()),
            other => panic!("{raw:?} → {canonical:?} → {other:?}"),
        }
    }
}
