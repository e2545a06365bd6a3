//! The one strict parser for a request's authority: the `Host` header, an absolute-form
//! target's authority and HTTP/2 `:authority` (RFC 9112 §3.2, RFC 9113 §8.3.1).
//!
//! Accepted: `host[:port]` where host is a DNS-style reg-name (ASCII letters, digits, `-`,
//! `_`, dot-separated non-empty labels, an optional trailing dot), a dotted IPv4 address, or
//! a bracketed IPv6 literal that `std` parses; port is 1 to 5 ASCII digits whose value is at
//! most 65535. An empty port after the colon (`api.test:`) is allowed and means no port, as
//! RFC 3986 §3.2.3 allows and §6.2.3 normalises. An empty value is allowed (RFC 9110 §7.2:
//! a target without an authority is sent with an empty `Host`) and matches only host-less
//! routes.
//!
//! Refused, although RFC 3986's reg-name would admit some of them: userinfo (`a@h`), lists
//! (`,`) and the other sub-delims, `%` escapes, whitespace, control and non-ASCII bytes,
//! empty labels, IPvFuture and IPv6 zone identifiers. A gateway routes on this value and
//! hands it to the upstream: anything two parsers could read differently is refused.

use std::net::Ipv6Addr;

/// Longest host accepted (a DNS name is at most 253 characters plus the trailing dot).
const MAX_HOST_LEN: usize = 254;
/// Longest DNS label (RFC 1035 §2.3.4).
const MAX_LABEL_LEN: usize = 63;

/// Why an authority is refused. The text is public: fixed, nothing from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AuthorityError {
    #[error("it holds userinfo (`user@`); send only host[:port]")]
    Userinfo,
    #[error("it holds a comma: send one host, not a list")]
    List,
    #[error("it holds whitespace: send host[:port] with no spaces or tabs")]
    Whitespace,
    #[error("it holds a control or non-ASCII byte: send an ASCII (punycode) host name")]
    NonAscii,
    #[error("it holds a percent-encoding: send the host name unencoded")]
    PercentEncoded,
    #[error("it holds a character that is not a letter, digit, `-`, `_` or `.` in a host name")]
    InvalidCharacter,
    #[error("a host name label is empty or longer than 63 characters")]
    InvalidLabel,
    #[error("the host name is longer than 253 characters")]
    TooLong,
    #[error("the port is not a number from 0 to 65535")]
    InvalidPort,
    #[error("the IPv6 literal is malformed: send `[address]` or `[address]:port`")]
    InvalidIpv6,
    #[error("the host is empty but a port is given")]
    MissingHost,
}

/// A valid authority, borrowed from the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Authority<'a> {
    /// As written (case kept; brackets kept for IPv6; trailing dot kept).
    pub(crate) host: &'a str,
    /// `None` when absent or empty (`host:`).
    pub(crate) port: Option<u16>,
}

impl Authority<'_> {
    /// Whether two authorities name the same origin: hosts equal ignoring ASCII case and a
    /// trailing dot, ports equal once a missing port is read as `default_port` (the scheme's).
    pub(crate) fn same_as(&self, other: &Authority<'_>, default_port: Option<u16>) -> bool {
        fn trim(host: &str) -> &str {
            host.strip_suffix('.').unwrap_or(host)
        }
        let port = |authority: &Authority<'_>| authority.port.or(default_port);
        trim(self.host).eq_ignore_ascii_case(trim(other.host)) && port(self) == port(other)
    }
}

/// Parse `text` as `uri-host[:port]` under the rules in the module documentation.
pub(crate) fn parse(text: &[u8]) -> Result<Authority<'_>, AuthorityError> {
    // Refusals that say most about the intent come first (a list, userinfo, spaces).
    for &byte in text {
        match byte {
            b',' => return Err(AuthorityError::List),
            b'@' => return Err(AuthorityError::Userinfo),
            b' ' | b'\t' => return Err(AuthorityError::Whitespace),
            b'%' => return Err(AuthorityError::PercentEncoded),
            0..=0x1f | 0x7f..=0xff => return Err(AuthorityError::NonAscii),
            _ => {}
        }
    }
    // Every byte is printable ASCII now, so the text is UTF-8.
    let text = std::str::from_utf8(text).map_err(|_| AuthorityError::NonAscii)?;
    if text.is_empty() {
        return Ok(Authority {
            host: "",
            port: None,
        });
    }
    let (host, port) = if text.starts_with('[') {
        let close = text.find(']').ok_or(AuthorityError::InvalidIpv6)?;
        let (literal, rest) = text.split_at(close + 1);
        let port = match rest {
            "" => None,
            _ => Some(rest.strip_prefix(':').ok_or(AuthorityError::InvalidIpv6)?),
        };
        check_ipv6(literal)?;
        (literal, port)
    } else if text.contains(['[', ']']) {
        return Err(AuthorityError::InvalidIpv6);
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let port = match port {
        None | Some("") => None,
        Some(digits) => Some(parse_port(digits)?),
    };
    if host.is_empty() {
        return Err(AuthorityError::MissingHost);
    }
    if !host.starts_with('[') {
        check_reg_name(host)?;
    }
    Ok(Authority { host, port })
}

/// `[` IPv6address `]` as `std` reads it; no zone identifier, no IPvFuture.
fn check_ipv6(literal: &str) -> Result<(), AuthorityError> {
    let inner = literal
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .ok_or(AuthorityError::InvalidIpv6)?;
    inner
        .parse::<Ipv6Addr>()
        .map(drop)
        .map_err(|_| AuthorityError::InvalidIpv6)
}

fn parse_port(digits: &str) -> Result<u16, AuthorityError> {
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthorityError::InvalidPort);
    }
    digits.parse().map_err(|_| AuthorityError::InvalidPort)
}

/// A DNS-style name (a dotted IPv4 address is one too): labels of letters, digits, `-` and
/// `_`, separated by single dots, with an optional trailing dot.
fn check_reg_name(host: &str) -> Result<(), AuthorityError> {
    if host.len() > MAX_HOST_LEN {
        return Err(AuthorityError::TooLong);
    }
    if !host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(AuthorityError::InvalidCharacter);
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name
        .split('.')
        .any(|label| label.is_empty() || label.len() > MAX_LABEL_LEN)
    {
        return Err(AuthorityError::InvalidLabel);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_authorities_parse_into_host_and_port() {
        let cases: &[(&str, &str, Option<u16>)] = &[
            ("", "", None),
            ("api.test", "api.test", None),
            ("API.Test.", "API.Test.", None),
            ("api.test:8080", "api.test", Some(8080)),
            ("api.test:", "api.test", None),
            ("api.test:0", "api.test", Some(0)),
            ("api.test:65535", "api.test", Some(65535)),
            ("127.0.0.1:80", "127.0.0.1", Some(80)),
            ("_svc.my-host.test", "_svc.my-host.test", None),
            ("[::1]", "[::1]", None),
            ("[2001:db8::1]:443", "[2001:db8::1]", Some(443)),
            ("[::1]:", "[::1]", None),
            ("localhost", "localhost", None),
        ];
        for (text, host, port) in cases {
            let parsed = parse(text.as_bytes()).unwrap_or_else(|error| panic!("{text:?}: {error}"));
            assert_eq!((parsed.host, parsed.port), (*host, *port), "{text:?}");
        }
    }

    #[test]
    fn invalid_authorities_are_refused_with_their_reason() {
        use AuthorityError::*;
        let cases: &[(&[u8], AuthorityError)] = &[
            (b"api.test, internal.test", List),
            (b"api.test,internal.test", List),
            (b"attacker@api.test", Userinfo),
            (b"user:pass@api.test", Userinfo),
            (b"api .test", Whitespace),
            (b"api.test\t", Whitespace),
            (b" api.test", Whitespace),
            (b"api.test:80 ", Whitespace),
            (b"api%2etest", PercentEncoded),
            (b"[::1%25eth0]", PercentEncoded),
            (b"api.test\x00", NonAscii),
            (b"api.test\x7f", NonAscii),
            (b"api.t\xc3\xa9st", NonAscii),
            (b"api.test\r", NonAscii),
            (b"api.test:http", InvalidPort),
            (b"api.test:65536", InvalidPort),
            (b"api.test:123456", InvalidPort),
            (b"api.test:-1", InvalidPort),
            (b"api.test:+80", InvalidPort),
            (b"api.test:80:80", InvalidPort),
            (b"[::1", InvalidIpv6),
            (b"::1", InvalidPort),
            (b"[::1]x", InvalidIpv6),
            (b"[::1]:x", InvalidPort),
            (b"[not-ipv6]", InvalidIpv6),
            (b"[v1.fe]", InvalidIpv6),
            (b"[127.0.0.1]", InvalidIpv6),
            (b"api]test", InvalidIpv6),
            (b"a[::1]", InvalidIpv6),
            (b":80", MissingHost),
            (b"api..test", InvalidLabel),
            (b".api.test", InvalidLabel),
            (b"api.test..", InvalidLabel),
            (b"api/test", InvalidCharacter),
            (b"api;test", InvalidCharacter),
            (b"api!test", InvalidCharacter),
            (b"api~test", InvalidCharacter),
            (b"api\\test", InvalidCharacter),
        ];
        for (text, reason) in cases {
            assert_eq!(
                parse(text),
                Err(*reason),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
        let long_label = format!("{}.test", "a".repeat(64));
        assert_eq!(parse(long_label.as_bytes()), Err(InvalidLabel));
        let long_name = ["abcdefghij"; 24].join(".");
        assert_eq!(parse(long_name.as_bytes()), Err(TooLong));
    }

    #[test]
    fn same_origin_ignores_case_and_trailing_dot_and_reads_default_ports() {
        fn parsed(text: &str) -> Authority<'_> {
            parse(text.as_bytes()).expect("valid")
        }
        let same = |a: &str, b: &str, default: Option<u16>| parsed(a).same_as(&parsed(b), default);
        assert!(same("API.test", "api.TEST.", Some(80)));
        assert!(same("api.test", "api.test:80", Some(80)));
        assert!(same("api.test:", "api.test", None));
        assert!(!same("api.test", "api.test:8080", Some(80)));
        assert!(!same("api.test", "api.test:443", Some(80)));
        assert!(!same("a.test", "b.test", Some(80)));
        assert!(same("[::1]:443", "[::1]", Some(443)));
    }
}
