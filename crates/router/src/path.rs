//! Request-path canonicalisation (DESIGN §4; RFC 3986 §5.2.4 and §6).
//!
//! The canonical path is what routes are matched on and what is forwarded upstream, so
//! the gateway and the upstream can never disagree about which resource was asked for.
//!
//! Rules, in the order a byte meets them:
//! * The path must start with `/`.
//! * `%XX` escapes must have two hex digits. One that decodes to an unreserved character
//!   (`A–Z a–z 0–9 - . _ ~`) is decoded; every other escape is kept, written upper-case.
//! * `%2F` and `%5C` are refused unless the listener allows encoded slashes; then they stay
//!   encoded (upper-case) and never split a segment.
//! * `%00` is refused, and so is any other escaped control byte (`%01`–`%1F`, `%7F`):
//!   upstreams that decode the path would otherwise see CR, LF or other control bytes,
//!   which is how log and header injection starts. No legitimate API path needs them.
//! * A raw `\`, `#` or control byte is refused.
//! * The decoded bytes (raw and escaped together) must be valid UTF-8.
//! * Raw bytes a path may not carry literally (space, `"`, `<`, `>`, `[`, `]`, `^`, `` ` ``,
//!   `{`, `|`, `}`, `?` and every non-ASCII byte) are percent-encoded, so that `é` and `%C3%A9`
//!   have one canonical form and the result is always a valid URI path.
//! * Repeated slashes are merged; `.` and `..` segments are removed after decoding (so
//!   `%2e%2e` is `..`); a `..` above the root is refused.
//! * A segment an upstream could read as `.` or `..` although it is not exactly one is
//!   refused (`dot_segment`): `..;`/`.;x` (path parameters; a listener may allow them, then
//!   they pass unchanged), `..%20`, `...`, full-width dots, and with encoded slashes allowed a
//!   dot-segment between `%2F`/`%5C`.
//! * A trailing slash is kept (`/v1/orders/` stays), as is a trailing `.`/`..` turned into one
//!   (`/a/b/..` → `/a/`, as RFC 3986 §5.2.4 does). Case is preserved: paths are case-sensitive.

use std::borrow::Cow;

use crate::dot_segment;
use crate::utf8::Utf8Validator;
use crate::PathError;

/// What a listener lets through beyond the strict defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathOptions {
    /// `%2F`/`%5C` are kept encoded instead of refused (`listeners[].allowEncodedSlashes`).
    pub allow_encoded_slashes: bool,
    /// `..;`-style segments pass unchanged instead of being refused
    /// (`listeners[].allowDotSegmentParameters`).
    pub allow_dot_segment_parameters: bool,
}

/// Canonicalise the path part of a request target (without the query), per DESIGN §4, with
/// dot-segment parameters refused. Returns `Cow::Borrowed` when the input is already
/// canonical (the common case, one scan).
pub fn canonicalize_path(
    raw_path: &str,
    allow_encoded_slashes: bool,
) -> Result<Cow<'_, str>, PathError> {
    canonicalize_path_with(
        raw_path,
        PathOptions {
            allow_encoded_slashes,
            allow_dot_segment_parameters: false,
        },
    )
}

/// [`canonicalize_path`] with every listener option.
pub fn canonicalize_path_with(
    raw_path: &str,
    options: PathOptions,
) -> Result<Cow<'_, str>, PathError> {
    if is_canonical(raw_path.as_bytes(), options) {
        return Ok(Cow::Borrowed(raw_path));
    }
    let canonical = rewrite(raw_path.as_bytes(), options)?;
    // The fast check is deliberately conservative; never allocate for an equal result twice.
    if canonical == raw_path {
        Ok(Cow::Borrowed(raw_path))
    } else {
        Ok(Cow::Owned(canonical))
    }
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Characters a path segment may carry literally (RFC 3986 `pchar` minus `%`).
fn is_literal_pchar(byte: u8) -> bool {
    is_unreserved(byte)
        || matches!(
            byte,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'@'
        )
}

fn is_control(byte: u8) -> bool {
    byte < 0x20 || byte == 0x7F
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

fn is_upper_hex(digit: u8) -> bool {
    digit.is_ascii_digit() || (b'A'..=b'F').contains(&digit)
}

const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";

fn is_dot_segment(segment: &[u8]) -> bool {
    segment == b"." || segment == b".."
}

/// One scan: true only when [`rewrite`] would return the input unchanged. May say false for
/// an input that is in fact canonical (the slow path then returns it borrowed anyway).
fn is_canonical(path: &[u8], options: PathOptions) -> bool {
    let allow_encoded_slashes = options.allow_encoded_slashes;
    if path.first() != Some(&b'/') {
        return false;
    }
    let mut utf8 = Utf8Validator::default();
    let mut segment_start = 1;
    let mut index = 1;
    while index < path.len() {
        let byte = path[index];
        match byte {
            b'/' => {
                let segment = &path[segment_start..index];
                if !utf8.feed(byte) {
                    return false;
                }
                if segment.is_empty()
                    || is_dot_segment(segment)
                    || !passes_dot_check(segment, options)
                {
                    return false;
                }
                segment_start = index + 1;
            }
            b'%' => {
                let (Some(&high), Some(&low)) = (path.get(index + 1), path.get(index + 2)) else {
                    return false;
                };
                if !is_upper_hex(high) || !is_upper_hex(low) {
                    return false;
                }
                let decoded = (hex_value(high).unwrap_or(0) << 4) | hex_value(low).unwrap_or(0);
                let refused_slash = matches!(decoded, b'/' | b'\\') && !allow_encoded_slashes;
                if is_unreserved(decoded) || is_control(decoded) || refused_slash {
                    return false;
                }
                if !utf8.feed(decoded) {
                    return false;
                }
                index += 2;
            }
            _ if is_literal_pchar(byte) => {}
            _ => return false,
        }
        index += 1;
    }
    let last = &path[segment_start..];
    !is_dot_segment(last) && passes_dot_check(last, options) && utf8.is_complete()
}

fn passes_dot_check(segment: &[u8], options: PathOptions) -> bool {
    dot_segment::check(
        segment,
        options.allow_encoded_slashes,
        options.allow_dot_segment_parameters,
    )
    .is_ok()
}

/// The general path: build the canonical form, or say why the path is refused.
fn rewrite(path: &[u8], options: PathOptions) -> Result<String, PathError> {
    let allow_encoded_slashes = options.allow_encoded_slashes;
    if path.first() != Some(&b'/') {
        return Err(PathError::NotAbsolute);
    }
    // Only ASCII is ever pushed (non-ASCII is percent-encoded), so the output is valid UTF-8.
    // It holds "/seg/seg" with no trailing slash; the trailing slash is added at the end.
    let mut output: Vec<u8> = Vec::with_capacity(path.len() + 8);
    let mut utf8 = Utf8Validator::default();
    let mut ends_with_slash = false;
    for raw_segment in path[1..].split(|&byte| byte == b'/') {
        // The separator is part of the decoded stream: `%C3/%A9` is not UTF-8.
        if !utf8.feed(b'/') {
            return Err(PathError::InvalidUtf8);
        }
        let segment_start = output.len();
        output.push(b'/');
        append_segment(raw_segment, allow_encoded_slashes, &mut utf8, &mut output)?;
        let segment = &output[segment_start + 1..];
        dot_segment::check(
            segment,
            allow_encoded_slashes,
            options.allow_dot_segment_parameters,
        )?;
        if segment.is_empty() || segment == b"." {
            output.truncate(segment_start);
            ends_with_slash = true;
        } else if segment == b".." {
            output.truncate(segment_start);
            let parent_start = output
                .iter()
                .rposition(|&byte| byte == b'/')
                .ok_or(PathError::AboveRoot)?;
            output.truncate(parent_start);
            ends_with_slash = true;
        } else {
            ends_with_slash = false;
        }
    }
    if !utf8.is_complete() {
        return Err(PathError::InvalidUtf8);
    }
    if output.is_empty() || ends_with_slash {
        output.push(b'/');
    }
    String::from_utf8(output).map_err(|_| PathError::InvalidUtf8)
}

fn append_segment(
    raw_segment: &[u8],
    allow_encoded_slashes: bool,
    utf8: &mut Utf8Validator,
    output: &mut Vec<u8>,
) -> Result<(), PathError> {
    let mut index = 0;
    while index < raw_segment.len() {
        let byte = raw_segment[index];
        if byte == b'%' {
            let high = raw_segment.get(index + 1).copied().and_then(hex_value);
            let low = raw_segment.get(index + 2).copied().and_then(hex_value);
            let (Some(high), Some(low)) = (high, low) else {
                return Err(PathError::MalformedEscape);
            };
            let decoded = (high << 4) | low;
            match decoded {
                0 => return Err(PathError::EncodedNul),
                b'/' if !allow_encoded_slashes => return Err(PathError::EncodedSlash),
                b'\\' if !allow_encoded_slashes => return Err(PathError::EncodedBackslash),
                _ if is_control(decoded) => return Err(PathError::ControlByte),
                _ => {}
            }
            if !utf8.feed(decoded) {
                return Err(PathError::InvalidUtf8);
            }
            if is_unreserved(decoded) {
                output.push(decoded);
            } else {
                push_escaped(decoded, output);
            }
            index += 3;
            continue;
        }
        match byte {
            b'\\' => return Err(PathError::RawBackslash),
            b'#' => return Err(PathError::Fragment),
            _ if is_control(byte) => return Err(PathError::ControlByte),
            _ => {}
        }
        if !utf8.feed(byte) {
            return Err(PathError::InvalidUtf8);
        }
        if is_literal_pchar(byte) {
            output.push(byte);
        } else {
            push_escaped(byte, output);
        }
        index += 1;
    }
    Ok(())
}

fn push_escaped(byte: u8, output: &mut Vec<u8>) {
    output.push(b'%');
    output.push(UPPER_HEX[usize::from(byte >> 4)]);
    output.push(UPPER_HEX[usize::from(byte & 0x0F)]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(path: &str) -> Result<String, PathError> {
        canonicalize_path(path, false).map(Cow::into_owned)
    }

    #[test]
    fn dot_dot_removes_the_previous_segment() {
        assert_eq!(
            canonical("/v1/orders/../admin"),
            Ok("/v1/admin".to_string())
        );
        assert_eq!(canonical("/a/./b/../c"), Ok("/a/c".to_string()));
    }

    #[test]
    fn encoded_dots_are_decoded_before_dot_segments_are_removed() {
        assert_eq!(
            canonical("/v1/orders/%2e%2e/admin"),
            Ok("/v1/admin".to_string())
        );
        assert_eq!(
            canonical("/v1/orders/.%2E/admin"),
            Ok("/v1/admin".to_string())
        );
        assert_eq!(canonical("/v1/%2e/admin"), Ok("/v1/admin".to_string()));
        assert_eq!(canonical("/%2e%2e"), Err(PathError::AboveRoot));
    }

    #[test]
    fn dot_dot_above_the_root_is_refused() {
        assert_eq!(canonical("/.."), Err(PathError::AboveRoot));
        assert_eq!(canonical("/a/../../b"), Err(PathError::AboveRoot));
        assert_eq!(canonical("/../a"), Err(PathError::AboveRoot));
    }

    #[test]
    fn encoded_slashes_are_refused_unless_allowed_then_kept_upper_case() {
        assert_eq!(canonical("/a%2Fb"), Err(PathError::EncodedSlash));
        assert_eq!(canonical("/a%2fb"), Err(PathError::EncodedSlash));
        assert_eq!(canonical("/a%5Cb"), Err(PathError::EncodedBackslash));
        assert_eq!(canonical("/a%5cb"), Err(PathError::EncodedBackslash));
        let allowed = canonicalize_path("/a%2fb%5c", true).expect("allowed");
        assert_eq!(allowed, "/a%2Fb%5C");
        // An allowed encoded slash does not split a segment, so `..` after it pops it whole.
        let popped = canonicalize_path("/x/a%2Fb/../c", true).expect("allowed");
        assert_eq!(popped, "/x/c");
        assert!(matches!(
            canonicalize_path("/a%2Fb", true),
            Ok(Cow::Borrowed(_))
        ));
    }

    #[test]
    fn encoded_nul_and_controls_are_refused() {
        assert_eq!(canonical("/a%00b"), Err(PathError::EncodedNul));
        assert_eq!(canonical("/a%0Ab"), Err(PathError::ControlByte));
        assert_eq!(canonical("/a%0d%0a"), Err(PathError::ControlByte));
        assert_eq!(canonical("/a%7F"), Err(PathError::ControlByte));
        assert_eq!(canonical("/a\u{1}b"), Err(PathError::ControlByte));
        assert_eq!(canonical("/a\tb"), Err(PathError::ControlByte));
        assert_eq!(canonical("/a\u{7f}"), Err(PathError::ControlByte));
    }

    #[test]
    fn repeated_slashes_are_merged_and_trailing_slash_kept() {
        assert_eq!(canonical("//a///b//"), Ok("/a/b/".to_string()));
        assert_eq!(canonical("//"), Ok("/".to_string()));
        assert_eq!(canonical("/v1/orders/"), Ok("/v1/orders/".to_string()));
        assert!(matches!(
            canonicalize_path("/v1/orders/", false),
            Ok(Cow::Borrowed(_))
        ));
        assert_eq!(canonical("/a/b/.."), Ok("/a/".to_string()));
        assert_eq!(canonical("/a/."), Ok("/a/".to_string()));
        assert_eq!(canonical("/a/.."), Ok("/".to_string()));
        assert_eq!(canonical("/."), Ok("/".to_string()));
    }

    #[test]
    fn unreserved_escapes_are_decoded_and_others_upper_cased() {
        assert_eq!(canonical("/%41%7e%2D"), Ok("/A~-".to_string()));
        assert_eq!(canonical("/a%3ab%20c"), Ok("/a%3Ab%20c".to_string()));
        assert_eq!(canonical("/caf%c3%a9"), Ok("/caf%C3%A9".to_string()));
    }

    #[test]
    fn malformed_escapes_are_refused() {
        assert_eq!(canonical("/a%"), Err(PathError::MalformedEscape));
        assert_eq!(canonical("/a%4"), Err(PathError::MalformedEscape));
        assert_eq!(canonical("/a%zz"), Err(PathError::MalformedEscape));
        assert_eq!(canonical("/a%4/"), Err(PathError::MalformedEscape));
    }

    #[test]
    fn raw_backslash_fragment_and_relative_paths_are_refused() {
        assert_eq!(canonical("/a\\b"), Err(PathError::RawBackslash));
        assert_eq!(canonical("/a#b"), Err(PathError::Fragment));
        assert_eq!(canonical("a/b"), Err(PathError::NotAbsolute));
        assert_eq!(canonical(""), Err(PathError::NotAbsolute));
    }

    #[test]
    fn invalid_utf8_after_decoding_is_refused() {
        assert_eq!(canonical("/%C3%28"), Err(PathError::InvalidUtf8));
        assert_eq!(canonical("/%FF"), Err(PathError::InvalidUtf8));
        assert_eq!(canonical("/%C3"), Err(PathError::InvalidUtf8));
        assert_eq!(canonical("/%C3/%A9"), Err(PathError::InvalidUtf8));
        assert_eq!(
            canonical("/%ED%A0%80"),
            Err(PathError::InvalidUtf8),
            "surrogate"
        );
        assert_eq!(
            canonical("/%C0%AF"),
            Err(PathError::InvalidUtf8),
            "overlong slash"
        );
        // A lone escaped lead byte followed by a raw continuation character is still refused.
        assert_eq!(canonical("/%C3é"), Err(PathError::InvalidUtf8));
    }

    #[test]
    fn raw_characters_a_path_cannot_carry_are_encoded() {
        assert_eq!(canonical("/café"), Ok("/caf%C3%A9".to_string()));
        assert_eq!(canonical("/a b\"{}"), Ok("/a%20b%22%7B%7D".to_string()));
        assert_eq!(canonical("/a?b"), Ok("/a%3Fb".to_string()));
    }

    #[test]
    fn dot_segments_with_parameters_and_disguised_dots_are_refused() {
        use PathError::*;
        let cases: &[(&str, PathError)] = &[
            ("/v1/public/..;/admin/users", DotSegmentParameters),
            ("/v1/public/..;jsessionid=1/admin", DotSegmentParameters),
            ("/.;x/admin", DotSegmentParameters),
            ("/v1/..;", DotSegmentParameters),
            ("/v1/%2e%2e;/admin", DotSegmentParameters),
            ("/v1/%2E.;/admin", DotSegmentParameters),
            ("/v1/.%2e;x/admin", DotSegmentParameters),
            ("/v1/..%3b/admin", DotSegmentParameters),
            ("/v1/..%20/admin", DisguisedDotSegment),
            ("/v1/.. /admin", DisguisedDotSegment),
            ("/v1/...", DisguisedDotSegment),
            ("/v1/%EF%BC%8E%EF%BC%8E/admin", DisguisedDotSegment),
            ("/v1/%ef%bc%8e%ef%bc%8e;/admin", DisguisedDotSegment),
            ("/v1/\u{ff0e}\u{ff0e}/admin", DisguisedDotSegment),
            ("/v1/\u{2025}/admin", DisguisedDotSegment),
            ("/v1/..%C2%A0/admin", DisguisedDotSegment),
            ("/v1/..%09/admin", ControlByte),
            ("/v1/..%00/admin", EncodedNul),
            ("/v1/..\\admin", RawBackslash),
            ("/v1/..%5Cadmin", EncodedBackslash),
        ];
        for (path, error) in cases {
            assert_eq!(canonical(path), Err(error.clone()), "{path:?}");
        }
    }

    #[test]
    fn the_listener_options_admit_parameters_verbatim_and_check_behind_encoded_slashes() {
        let options = |allow_encoded_slashes, allow_dot_segment_parameters| PathOptions {
            allow_encoded_slashes,
            allow_dot_segment_parameters,
        };
        let with = |path, options| canonicalize_path_with(path, options).map(Cow::into_owned);
        // Parameters allowed: the segment passes unchanged (not resolved as `..`).
        assert!(matches!(
            canonicalize_path_with("/v1/public/..;/admin", options(false, true)),
            Ok(Cow::Borrowed("/v1/public/..;/admin"))
        ));
        assert_eq!(
            with("/v1/%2e%2e;x/a", options(false, true)),
            Ok("/v1/..;x/a".to_string())
        );
        // Disguised dots stay refused whatever the options.
        assert_eq!(
            with("/v1/..%20;/a", options(true, true)),
            Err(PathError::DisguisedDotSegment)
        );
        // Encoded slashes allowed: a dot-segment behind one is refused.
        for path in ["/v1/a%2F..%2Fadmin", "/v1/..%5Cadmin", "/v1/x%5C.%5Cy"] {
            assert_eq!(
                with(path, options(true, false)),
                Err(PathError::DotSegmentBehindEncodedSlash),
                "{path:?}"
            );
        }
        assert_eq!(
            with("/v1/a%2Fb/c", options(true, false)),
            Ok("/v1/a%2Fb/c".to_string())
        );
        // Ordinary dotted names and parameters are untouched.
        for path in [
            "/.well-known/jwks.json",
            "/v1/a;b=1/c",
            "/v1.2/x",
            "/a/.hidden",
        ] {
            assert!(
                matches!(canonicalize_path(path, false), Ok(Cow::Borrowed(_))),
                "{path:?}"
            );
        }
    }

    #[test]
    fn paths_are_case_sensitive_and_canonical_ones_are_borrowed() {
        assert!(matches!(
            canonicalize_path("/V1/Orders", false),
            Ok(Cow::Borrowed("/V1/Orders"))
        ));
        assert!(matches!(
            canonicalize_path("/", false),
            Ok(Cow::Borrowed("/"))
        ));
        assert!(matches!(
            canonicalize_path("/a:b@c!$&'()*+,;=/%20", false),
            Ok(Cow::Borrowed(_))
        ));
        assert!(matches!(
            canonicalize_path("/%41", false),
            Ok(Cow::Owned(_))
        ));
    }
}
