//! Shapes of individual values: names, hosts, paths, endpoints, header names.

use std::net::{IpAddr, Ipv6Addr};

/// `^[a-z0-9]+(-[a-z0-9]+)*$`
pub(crate) fn is_kebab(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
}

/// A kebab-case spelling of `name` to suggest (`Checkout_Orders` → `checkout-orders`).
pub(crate) fn kebab_suggestion(name: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for character in name.chars() {
        // camelCase words become separate kebab words: `perIp` → `per-ip`.
        if character.is_ascii_uppercase() && previous_lower {
            out.push('-');
        }
        previous_lower = character.is_ascii_lowercase() || character.is_ascii_digit();
        if character.is_ascii_alphanumeric() {
            out.push(character.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "my-name".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Why a `path`/`pathPrefix` is not canonical, if it is not.
pub(crate) fn path_problem(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return Some(format!(
            "must start with `/`: write `/{}`",
            path.trim_start_matches('/')
        ));
    }
    if path.contains("//") {
        return Some("contains `//`: write single slashes (paths are matched after merging repeated slashes)".into());
    }
    if path
        .split('/')
        .any(|segment| segment == "." || segment == "..")
    {
        return Some(
            "contains a `.` or `..` segment: write the path with dot segments resolved".into(),
        );
    }
    if let Some(bad) = path
        .chars()
        .find(|c| matches!(c, '%' | '?' | '#' | '\\') || c.is_control() || c.is_whitespace())
    {
        let shown = if bad.is_control() || bad.is_whitespace() {
            format!("{:?}", bad)
        } else {
            format!("`{bad}`")
        };
        return Some(format!(
            "contains {shown}: write the decoded canonical path without `%` escapes, query (`?`), fragment (`#`), backslashes, spaces or control characters"
        ));
    }
    None
}

/// `label(.label)*`, lower-case, labels 1–63 of `[a-z0-9-]` not starting or ending with `-`.
pub(crate) fn is_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
        })
}

/// Why a route or `internalHosts` host is invalid, if it is.
pub(crate) fn host_problem(host: &str) -> Option<String> {
    let bare = host.strip_prefix("*.").unwrap_or(host);
    if host.contains(':') {
        return Some(
            "must not carry a port: write the host name alone (ports belong to listeners)".into(),
        );
    }
    if host.ends_with('.') {
        return Some(format!(
            "must not end with a dot: write `{}`",
            host.trim_end_matches('.')
        ));
    }
    if host.bytes().any(|byte| byte.is_ascii_uppercase()) && is_dns_name(&bare.to_ascii_lowercase())
    {
        return Some(format!(
            "must be lower-case: write `{}`",
            host.to_ascii_lowercase()
        ));
    }
    if !is_dns_name(bare) {
        return Some(
            "is not a DNS name: use lower-case labels of letters, digits and `-` separated by dots, or `*.suffix` for a wildcard"
                .into(),
        );
    }
    None
}

/// Whether a route host (exact or wildcard) is covered by an `internalHosts` pattern.
pub(crate) fn host_covered_by(host: &str, pattern: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    if host == pattern {
        return true;
    }
    match pattern.strip_prefix("*.") {
        // `*.corp.example` covers `a.corp.example`, `a.b.corp.example` and `*.x.corp.example`.
        Some(suffix) => {
            let host_name = host.strip_prefix("*.").unwrap_or(&host);
            host_name.len() > suffix.len()
                && host_name.ends_with(suffix)
                && host_name[..host_name.len() - suffix.len()].ends_with('.')
        }
        None => false,
    }
}

/// Upper-case method token such as `GET` or `PROPFIND`.
pub(crate) fn is_method(method: &str) -> bool {
    method
        .bytes()
        .next()
        .is_some_and(|byte| byte.is_ascii_uppercase())
        && method.bytes().all(|byte| {
            byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_'
        })
}

/// RFC 9110 token characters.
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(is_token_byte)
}

/// `type/subtype` without parameters.
pub(crate) fn is_media_type(text: &str) -> bool {
    match text.split_once('/') {
        Some((kind, subtype)) => is_header_name(kind) && is_header_name(subtype),
        None => false,
    }
}

/// An endpoint: `host:port`, `host`, `[v6]:port` or `[v6]`. Returns the port when it names one.
pub(crate) fn parse_endpoint(endpoint: &str) -> Result<Option<u16>, String> {
    let (host, port) =
        if let Some(rest) = endpoint.strip_prefix('[') {
            let Some((address, after)) = rest.split_once(']') else {
                return Err("opens `[` without a closing `]`: write `[2001:db8::1]:8080`".into());
            };
            if address.parse::<Ipv6Addr>().is_err() {
                return Err(format!(
                    "`{address}` inside brackets is not an IPv6 address"
                ));
            }
            match after {
                "" => return Ok(None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (None, Some(port)),
                    None => return Err("has text after `]`: write `[v6]:port`".into()),
                },
            }
        } else {
            match endpoint.rsplit_once(':') {
                Some((host, _)) if host.contains(':') => return Err(
                    "looks like a bare IPv6 address: write it in brackets, `[2001:db8::1]:8080`"
                        .into(),
                ),
                Some((host, port)) => (Some(host), Some(port)),
                None => (Some(endpoint), None),
            }
        };
    if let Some(host) = host {
        let lower = host.to_ascii_lowercase();
        if host.parse::<IpAddr>().is_err() && !is_dns_name(&lower) {
            return Err(format!(
                "host `{host}` is neither an IP address nor a DNS name"
            ));
        }
    }
    match port {
        None => Ok(None),
        Some(port) => match port.parse::<u16>() {
            Ok(0) | Err(_) => Err(format!("port `{port}` is not a number from 1 to 65535")),
            Ok(number) => Ok(Some(number)),
        },
    }
}

/// Upper-case status token such as `ACTIVE` or `SUSPENDED`.
pub(crate) fn is_status(status: &str) -> bool {
    status
        .bytes()
        .next()
        .is_some_and(|byte| byte.is_ascii_uppercase())
        && status
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'_')
}

/// `sha256:` and 64 lower-case hex digits.
pub(crate) fn is_sha256_hash(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|digits| {
        digits.len() == 64
            && digits
                .bytes()
                .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
    })
}

/// RFC 3339 date-time shape: `2026-04-08T10:15:30Z`, optional fraction, `Z` or `±hh:mm`.
pub(crate) fn is_rfc3339(text: &str) -> bool {
    let bytes = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        bytes
            .get(range)
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    if bytes.len() < 20
        || !digits(0..4)
        || bytes[4] != b'-'
        || !digits(5..7)
        || bytes[7] != b'-'
        || !digits(8..10)
        || !matches!(bytes[10], b'T' | b't')
        || !digits(11..13)
        || bytes[13] != b':'
        || !digits(14..16)
        || bytes[16] != b':'
        || !digits(17..19)
    {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let count = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if count == 0 {
            return false;
        }
        rest = &fraction[count..];
    }
    match rest.as_bytes() {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|byte| byte.is_ascii_digit())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_case_names() {
        for good in ["checkout-orders", "a", "v2", "a-1-b"] {
            assert!(is_kebab(good), "{good}");
        }
        for bad in ["", "Checkout", "a_b", "-a", "a-", "a--b", "a b"] {
            assert!(!is_kebab(bad), "{bad}");
        }
        assert_eq!(kebab_suggestion("Checkout_Orders"), "checkout-orders");
        assert_eq!(kebab_suggestion("perIpLimit"), "per-ip-limit");
    }

    #[test]
    fn canonical_paths() {
        assert_eq!(path_problem("/v1/orders"), None);
        assert_eq!(path_problem("/"), None);
        for bad in [
            "v1", "/a//b", "/a/./b", "/a/..", "/a%2Fb", "/a?b", "/a#b", "/a\\b", "/a b", "/a\u{1}",
        ] {
            assert!(path_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn hosts_and_wildcards() {
        assert_eq!(host_problem("api.example.com"), None);
        assert_eq!(host_problem("*.example.com"), None);
        for bad in [
            "API.example.com",
            "api.example.com:443",
            "api.example.com.",
            "*",
            "a..b",
            "-a.com",
            "a_b.com",
            "*.*.com",
        ] {
            assert!(host_problem(bad).is_some(), "{bad}");
        }
        assert!(host_covered_by("a.corp.example", "*.corp.example"));
        assert!(host_covered_by("*.x.corp.example", "*.corp.example"));
        assert!(!host_covered_by("corp.example", "*.corp.example"));
        assert!(!host_covered_by("*.example", "a.example"));
        assert!(host_covered_by("admin.example", "admin.example"));
    }

    #[test]
    fn endpoints() {
        assert_eq!(parse_endpoint("10.0.0.5:8080"), Ok(Some(8080)));
        assert_eq!(parse_endpoint("checkout-stable"), Ok(None));
        assert_eq!(parse_endpoint("[::1]:9000"), Ok(Some(9000)));
        assert_eq!(parse_endpoint("[::1]"), Ok(None));
        for bad in [
            "::1",
            "[::1",
            "[zz]:1",
            "host:0",
            "host:99999",
            "host:",
            "bad_host:80",
            "[::1]x",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_and_formats() {
        assert!(is_method("GET") && is_method("PROPFIND") && !is_method("get") && !is_method(""));
        assert!(
            is_header_name("x-request-id") && !is_header_name("x request") && !is_header_name("")
        );
        assert!(
            is_media_type("application/json") && !is_media_type("json") && !is_media_type("a/b c")
        );
        assert!(is_status("ACTIVE") && !is_status("active") && !is_status(""));
        assert!(is_sha256_hash(&format!("sha256:{}", "a".repeat(64))));
        assert!(!is_sha256_hash(&format!("sha256:{}", "A".repeat(64))));
        assert!(!is_sha256_hash("sha256:abc"));
        assert!(is_rfc3339("2026-04-08T10:15:30Z") && is_rfc3339("2026-04-08T10:15:30.5+02:00"));
        assert!(!is_rfc3339("2026-04-08") && !is_rfc3339("2026-04-08T10:15:30"));
    }
}
