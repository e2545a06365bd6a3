//! Segments that an upstream may read as `.` or `..` although the canonicaliser does not:
//! the gateway would route `/v1/public/..;/admin` under `/v1/public` while a servlet
//! container, which drops `;` parameters before resolving dot-segments, serves `/v1/admin`.
//!
//! Checked on each segment in its canonical form (unreserved escapes decoded, so `%2e` is
//! already `.`; every other escape upper-case), before dot-segments are resolved:
//!
//! * `.` or `..` followed by parameters (`..;`, `.;x`, `..%3B`): refused unless the listener
//!   allows dot-segment parameters, which then pass unchanged;
//! * a segment made only of dots and blanks that is not exactly `.` or `..` — `..%20`, `. .`,
//!   `...`, full-width or other compatibility dots (U+FF0E, U+FE52, U+2024, U+2025, which
//!   NFKC turns into `.` or `..`), no-break or ideographic spaces: always refused (servers
//!   that trim blanks or trailing dots, or normalise Unicode, read them as `.` or `..`);
//! * with encoded slashes allowed, a dot-segment between `%2F`/`%5C` (`a%2F..%2Fb`,
//!   `..%5Cadmin`): always refused (an upstream that decodes before splitting climbs).
//!
//! Control bytes (`%00`, `%09`, …) never get here: the canonicaliser refuses them earlier.

use crate::PathError;

/// Escapes (upper-case, as in the canonical form) that read as one or two dots, or as a
/// blank, once decoded and NFKC-normalised or trimmed.
const DOTS: [(&[u8], usize); 5] = [
    (b".", 1),
    (b"%EF%BC%8E", 1), // U+FF0E FULLWIDTH FULL STOP
    (b"%EF%B9%92", 1), // U+FE52 SMALL FULL STOP
    (b"%E2%80%A4", 1), // U+2024 ONE DOT LEADER
    (b"%E2%80%A5", 2), // U+2025 TWO DOT LEADER
];
const BLANKS: [&[u8]; 4] = [
    b"%20",       // space
    b"+",         // a space to servers that decode paths as forms
    b"%C2%A0",    // U+00A0 NO-BREAK SPACE
    b"%E3%80%80", // U+3000 IDEOGRAPHIC SPACE
];
/// Where path parameters start (RFC 3986 §3.3), raw or escaped.
const PARAMETER_STARTS: [&[u8]; 2] = [b";", b"%3B"];
const ENCODED_SEPARATORS: [&[u8]; 2] = [b"%2F", b"%5C"];

/// What a segment (or the part of one before its parameters) reads as.
#[derive(Debug, PartialEq, Eq)]
enum Reading {
    /// Exactly `.` or `..`.
    Dots,
    /// Only dots and blanks, but not exactly `.` or `..`.
    DisguisedDots,
    Other,
}

fn read(name: &[u8]) -> Reading {
    let mut rest = name;
    let mut dots = 0usize;
    let mut plain = true;
    while !rest.is_empty() {
        if let Some((token, count)) = DOTS.iter().find(|(token, _)| rest.starts_with(token)) {
            dots += count;
            plain &= *token == b".";
            rest = &rest[token.len()..];
        } else if let Some(token) = BLANKS.iter().find(|token| rest.starts_with(token)) {
            plain = false;
            rest = &rest[token.len()..];
        } else {
            return Reading::Other;
        }
    }
    match (dots, plain) {
        (0, _) => Reading::Other,
        (1 | 2, true) => Reading::Dots,
        _ => Reading::DisguisedDots,
    }
}

/// Position of the first of `needles` in `haystack`, and its length.
fn find_any(haystack: &[u8], needles: &[&[u8]]) -> Option<(usize, usize)> {
    (0..haystack.len()).find_map(|start| {
        needles
            .iter()
            .find(|needle| haystack[start..].starts_with(needle))
            .map(|needle| (start, needle.len()))
    })
}

/// Refuse `segment` (canonical form, no `/`) when an upstream could read it as a
/// dot-segment the gateway did not resolve. Plain `.` and `..` pass: the caller resolves them.
pub(crate) fn check(
    segment: &[u8],
    allow_encoded_slashes: bool,
    allow_parameters: bool,
) -> Result<(), PathError> {
    // Cheap exit for the common segment: every dangerous one starts with a dot, a blank or
    // an escape, or (with encoded slashes allowed) holds an escape.
    let suspicious = match segment.first() {
        Some(b'.' | b'%' | b'+') => true,
        Some(_) => allow_encoded_slashes && segment.contains(&b'%'),
        None => false,
    };
    if !suspicious {
        return Ok(());
    }
    if allow_encoded_slashes && find_any(segment, &ENCODED_SEPARATORS).is_some() {
        let mut rest = segment;
        while let Some((start, length)) = find_any(rest, &ENCODED_SEPARATORS) {
            check_piece_between_slashes(&rest[..start])?;
            rest = &rest[start + length..];
        }
        check_piece_between_slashes(rest)?;
    }
    let (name, has_parameters) = match find_any(segment, &PARAMETER_STARTS) {
        Some((start, _)) => (&segment[..start], true),
        None => (segment, false),
    };
    match read(name) {
        Reading::Dots if has_parameters && !allow_parameters => {
            Err(PathError::DotSegmentParameters)
        }
        Reading::DisguisedDots => Err(PathError::DisguisedDotSegment),
        Reading::Dots | Reading::Other => Ok(()),
    }
}

/// A part of a segment between encoded slashes: a dot-segment there climbs for an upstream
/// that decodes `%2F`/`%5C` before it splits the path.
fn check_piece_between_slashes(piece: &[u8]) -> Result<(), PathError> {
    let name = match find_any(piece, &PARAMETER_STARTS) {
        Some((start, _)) => &piece[..start],
        None => piece,
    };
    match read(name) {
        Reading::Other => Ok(()),
        Reading::Dots | Reading::DisguisedDots => Err(PathError::DotSegmentBehindEncodedSlash),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_classified_in_their_canonical_form() {
        use PathError::*;
        // (segment, encoded slashes allowed, parameters allowed, verdict)
        let cases: &[(&str, bool, bool, Result<(), PathError>)] = &[
            ("orders", false, false, Ok(())),
            (".well-known", false, false, Ok(())),
            ("v1.2", false, false, Ok(())),
            ("a;b=1", false, false, Ok(())),
            (".", false, false, Ok(())),
            ("..", false, false, Ok(())),
            ("..;", false, false, Err(DotSegmentParameters)),
            (".;x", false, false, Err(DotSegmentParameters)),
            ("..;jsessionid=1", false, false, Err(DotSegmentParameters)),
            ("..%3B", false, false, Err(DotSegmentParameters)),
            ("..;", false, true, Ok(())),
            (".;x", true, true, Ok(())),
            ("..%20", false, false, Err(DisguisedDotSegment)),
            ("..%20", false, true, Err(DisguisedDotSegment)),
            ("%20..", false, false, Err(DisguisedDotSegment)),
            (". .", false, false, Ok(())), // a raw space is escaped before this check
            (".%20.", false, false, Err(DisguisedDotSegment)),
            ("..+", false, false, Err(DisguisedDotSegment)),
            ("..%C2%A0", false, false, Err(DisguisedDotSegment)),
            ("..%E3%80%80;x", false, true, Err(DisguisedDotSegment)),
            ("...", false, false, Err(DisguisedDotSegment)),
            ("%EF%BC%8E%EF%BC%8E", false, false, Err(DisguisedDotSegment)),
            ("%EF%BC%8E", false, false, Err(DisguisedDotSegment)),
            (".%EF%BC%8E;", false, true, Err(DisguisedDotSegment)),
            ("%EF%B9%92%EF%B9%92", false, false, Err(DisguisedDotSegment)),
            ("%E2%80%A5", false, false, Err(DisguisedDotSegment)),
            ("%E2%80%A4.", false, false, Err(DisguisedDotSegment)),
            ("%EF%BC%8Ex", false, false, Ok(())),
            ("%20", false, false, Ok(())),
            ("a%2F..%2Fb", true, false, Err(DotSegmentBehindEncodedSlash)),
            ("..%5Cadmin", true, false, Err(DotSegmentBehindEncodedSlash)),
            ("a%5C.", true, false, Err(DotSegmentBehindEncodedSlash)),
            (
                "a%2F..;x%2Fb",
                true,
                true,
                Err(DotSegmentBehindEncodedSlash),
            ),
            ("a%2Fb", true, false, Ok(())),
            ("a%2F.x", true, false, Ok(())),
        ];
        for (segment, slashes, parameters, verdict) in cases {
            assert_eq!(
                check(segment.as_bytes(), *slashes, *parameters),
                *verdict,
                "{segment:?} (encoded slashes {slashes}, parameters {parameters})"
            );
        }
    }
}
