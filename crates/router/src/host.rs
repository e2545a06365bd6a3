//! Host normalisation: how a request's `Host`/authority and a route's `match.host` are
//! compared (DESIGN §4: case-insensitive, port and trailing dot stripped).

use std::borrow::Cow;

/// Lower-case a host, strip a port and a trailing dot (`API.Example.com.:443` → `api.example.com`).
/// An IPv6 literal keeps its brackets (`[::1]:8080` → `[::1]`). Borrows (a slice of the input)
/// unless upper-case letters force a copy.
pub fn normalize_host(host: &str) -> Cow<'_, str> {
    let without_port = if host.starts_with('[') {
        match host.find(']') {
            Some(close) => &host[..=close],
            // An unclosed bracket is not a host any route can name; keep it whole.
            None => host,
        }
    } else {
        match host.find(':') {
            Some(colon) => &host[..colon],
            None => host,
        }
    };
    let name = without_port.strip_suffix('.').unwrap_or(without_port);
    if name.bytes().any(|byte| byte.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_cases_and_strips_port_and_trailing_dot() {
        assert_eq!(normalize_host("API.Example.com.:443"), "api.example.com");
        assert_eq!(normalize_host("api.example.com:8080"), "api.example.com");
        assert_eq!(normalize_host("api.example.com."), "api.example.com");
        assert_eq!(normalize_host("Api.Example.Com"), "api.example.com");
    }

    #[test]
    fn ipv6_literals_keep_their_brackets() {
        assert_eq!(normalize_host("[::1]:8080"), "[::1]");
        assert_eq!(normalize_host("[::1]"), "[::1]");
        assert_eq!(normalize_host("[FE80::1]:80"), "[fe80::1]");
    }

    #[test]
    fn borrows_when_no_copy_is_needed() {
        assert!(matches!(
            normalize_host("api.example.com"),
            Cow::Borrowed("api.example.com")
        ));
        assert!(matches!(
            normalize_host("api.example.com:443"),
            Cow::Borrowed("api.example.com")
        ));
        assert!(matches!(normalize_host(""), Cow::Borrowed("")));
        assert!(matches!(normalize_host("API.example.com"), Cow::Owned(_)));
    }
}
