//! Fuzz `canonicalize_path_with`: it must never panic, and a canonical path must be a fixed
//! point (canonicalising it again returns it unchanged, borrowed) free of `//`, `/./` and
//! `/../`, and of `/..;` and `/.;` (escaped or not) unless dot-segment parameters are allowed.
//! The first byte picks the listener options: bit 0 `allowEncodedSlashes`, bit 1
//! `allowDotSegmentParameters`.

use std::borrow::Cow;

use portcullis_router::{canonicalize_path_with, PathOptions};

/// The target's contract for one input; panics on a violation.
pub fn check(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let Ok(raw) = std::str::from_utf8(rest) else {
        return;
    };
    let options = PathOptions {
        allow_encoded_slashes: flags & 1 == 1,
        allow_dot_segment_parameters: flags & 2 == 2,
    };
    if let Ok(canonical) = canonicalize_path_with(raw, options) {
        assert!(canonical.starts_with('/'));
        for forbidden in ["//", "/./", "/../"] {
            assert!(!canonical.contains(forbidden), "{raw:?} → {canonical:?}");
        }
        if !options.allow_dot_segment_parameters {
            for forbidden in ["/..;", "/.;", "/..%3B", "/.%3B"] {
                assert!(!canonical.contains(forbidden), "{raw:?} → {canonical:?}");
            }
        }
        match canonicalize_path_with(&canonical, options) {
            Ok(Cow::Borrowed(again)) => assert_eq!(again, canonical.as_ref()),
            other => panic!("{raw:?} → {canonical:?} → {other:?}"),
        }
    }
}
