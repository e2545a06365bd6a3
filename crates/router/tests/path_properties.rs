//! Properties of `canonicalize_path` over generated inputs: idempotence, no dot segments or
//! repeated slashes in the output, and the fast path agreeing with the general one.

use std::borrow::Cow;

use portcullis_router::{canonicalize_path, canonicalize_path_with, PathOptions};
use proptest::prelude::*;

/// Pieces that exercise every rule: dots (raw and escaped), slashes, escapes of every kind,
/// refused bytes, and characters that must be encoded.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "/",
        "/",
        "/",
        "a",
        "B",
        "~",
        ".",
        "..",
        "%2e",
        "%2E",
        "%2f",
        "%2F",
        "%5c",
        "%41",
        "%7e",
        "%3a",
        "%3A",
        "%20",
        "%C3",
        "%A9",
        "%c3%a9",
        "%FF",
        "%00",
        "%0A",
        "%",
        "%4",
        "%zz",
        "\\",
        "#",
        " ",
        "é",
        ":",
        "@",
        "!",
        "?",
        "\t",
        ";",
        "%3b",
        "+",
        "%EF%BC%8E",
    ])
}

fn raw_path() -> impl Strategy<Value = String> {
    (any::<bool>(), prop::collection::vec(piece(), 0..12)).prop_map(|(absolute, pieces)| {
        let body = pieces.concat();
        if absolute {
            format!("/{body}")
        } else {
            body
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn canonical_form_is_a_fixed_point(raw in raw_path(), allow in any::<bool>()) {
        if let Ok(canonical) = canonicalize_path(&raw, allow) {
            let again = canonicalize_path(&canonical, allow);
            prop_assert!(matches!(again, Ok(Cow::Borrowed(_))), "{raw:?} → {canonical:?} → {again:?}");
            prop_assert_eq!(again.expect("checked above"), canonical.as_ref());
        }
    }

    #[test]
    fn canonical_form_has_no_dot_segments_or_empty_segments(raw in raw_path(), allow in any::<bool>()) {
        if let Ok(canonical) = canonicalize_path(&raw, allow) {
            prop_assert!(canonical.starts_with('/'));
            for forbidden in ["//", "/./", "/../"] {
                prop_assert!(!canonical.contains(forbidden), "{raw:?} → {canonical:?}");
            }
            prop_assert!(!canonical.ends_with("/.") && !canonical.ends_with("/.."), "{raw:?} → {canonical:?}");
            prop_assert!(canonical.bytes().all(|byte| byte.is_ascii_graphic()), "{raw:?} → {canonical:?}");
            prop_assert!(canonical.parse::<http::uri::PathAndQuery>().is_ok(), "{canonical:?}");
        }
    }

    #[test]
    fn arbitrary_strings_never_panic_and_stay_idempotent(raw in any::<String>(), allow in any::<bool>()) {
        if let Ok(canonical) = canonicalize_path(&raw, allow) {
            prop_assert_eq!(canonicalize_path(&canonical, allow).ok(), Some(canonical.clone()));
        }
    }

    #[test]
    fn allowing_encoded_slashes_only_ever_admits_more(raw in raw_path()) {
        if let Ok(strict) = canonicalize_path(&raw, false) {
            prop_assert_eq!(canonicalize_path(&raw, true).ok(), Some(strict));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// No accepted path keeps a segment an upstream could read as `.`/`..` (`..;`, `..+`,
    /// full-width dots), unless parameters are allowed, and then only the `;` form.
    #[test]
    fn no_canonical_segment_reads_as_a_dot_segment(
        raw in raw_path(),
        allow_encoded_slashes in any::<bool>(),
        allow_dot_segment_parameters in any::<bool>(),
    ) {
        let options = PathOptions { allow_encoded_slashes, allow_dot_segment_parameters };
        if let Ok(canonical) = canonicalize_path_with(&raw, options) {
            for segment in canonical.split('/') {
                let name = segment.split(';').next().unwrap_or_default();
                let name = name.split("%3B").next().unwrap_or_default();
                let dots = name.replace("%EF%BC%8E", ".").replace('+', "");
                let only_dots = !dots.is_empty() && dots.bytes().all(|byte| byte == b'.');
                if only_dots {
                    prop_assert!(
                        allow_dot_segment_parameters && segment != name && (name == "." || name == ".."),
                        "{raw:?} → {canonical:?}"
                    );
                }
            }
            let again = canonicalize_path_with(&canonical, options);
            prop_assert!(matches!(again, Ok(Cow::Borrowed(_))), "{raw:?} → {canonical:?} → {again:?}");
        }
    }
}
