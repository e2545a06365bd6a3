//! Hop-by-hop and internal header handling, in both directions.

use http::header::{
    CONNECTION, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, TE, TRAILER, TRANSFER_ENCODING, UPGRADE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Version};

/// Headers that describe one connection, never the message (RFC 9110 §7.6.1), plus the
/// legacy `Keep-Alive` and `Proxy-Connection`, and `HTTP2-Settings`, which only means
/// something on the connection that asked for an h2c upgrade (RFC 7540 §3.2.1). Parsed
/// names, not strings: removing by `&str` would parse and hash each name again on every
/// request, in both directions.
static HOP_BY_HOP: [HeaderName; 10] = [
    CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    TE,
    TRAILER,
    TRANSFER_ENCODING,
    UPGRADE,
    PROXY_AUTHENTICATE,
    PROXY_AUTHORIZATION,
    HeaderName::from_static("http2-settings"),
];

/// Prefix of headers the gateway owns; a client may not set them.
pub const INTERNAL_PREFIX: &str = "x-portcullis-";

fn connection_tokens(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

/// True for an HTTP/1.1 request that asks for a protocol switch (`Connection: upgrade` +
/// `Upgrade`), e.g. a WebSocket handshake.
///
/// An `Upgrade` that offers `h2c` is never one: the gateway ignores it (RFC 9110 §7.8 lets a
/// server) and serves the request over HTTP/1.1, stripping `Upgrade` and `HTTP2-Settings`
/// like every hop-by-hop header. Passed on, it would let an upstream that speaks h2c switch
/// the client's connection into a raw HTTP/2 tunnel whose later requests no route, policy or
/// limit of the gateway ever sees (h2c smuggling). HTTP/2 clients use prior knowledge on
/// plain TCP or ALPN on TLS; RFC 9113 deprecated the upgrade.
pub fn is_upgrade_request(version: Version, method: &Method, headers: &HeaderMap) -> bool {
    version == Version::HTTP_11
        && method != Method::CONNECT
        && headers.contains_key(UPGRADE)
        && !offers_h2c(headers)
        && connection_tokens(headers).any(|token| token.eq_ignore_ascii_case("upgrade"))
}

/// Does any `Upgrade` line name `h2c` (alone or among other protocols)?
fn offers_h2c(headers: &HeaderMap) -> bool {
    headers
        .get_all(UPGRADE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|token| {
            let protocol = token.trim();
            let name = protocol.split('/').next().unwrap_or(protocol);
            name.eq_ignore_ascii_case("h2c")
        })
}

/// Remove hop-by-hop headers and every header named in `Connection`. With `keep_upgrade`,
/// the `Upgrade` header survives and `Connection` is rewritten to exactly `upgrade`, so a
/// protocol switch can pass through. With `keep_te_trailers`, `TE: trailers` survives
/// (the only TE value that is end-to-end in meaning; gRPC needs it).
pub fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool, keep_te_trailers: bool) {
    // The common message carries none of them: one pass over the names, no lookups.
    // (Everything `Connection` names is only looked at when `Connection` is present.)
    if !keep_upgrade && !headers.keys().any(|name| HOP_BY_HOP.contains(name)) {
        return;
    }
    // Only allocate when `Connection` names something outside the fixed list.
    let named_extra = connection_tokens(headers).any(|token| {
        !HOP_BY_HOP
            .iter()
            .any(|known| token.eq_ignore_ascii_case(known.as_str()))
            && !token.eq_ignore_ascii_case("close")
    });
    if named_extra {
        let named: Vec<HeaderName> = connection_tokens(headers)
            .filter_map(|token| HeaderName::from_bytes(token.as_bytes()).ok())
            .collect();
        for name in named {
            if keep_upgrade && name == UPGRADE {
                continue;
            }
            headers.remove(&name);
        }
    }
    let te_trailers = keep_te_trailers
        && headers
            .get(TE)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"trailers"));
    for name in &HOP_BY_HOP {
        if keep_upgrade && name == UPGRADE {
            continue;
        }
        headers.remove(name);
    }
    if keep_upgrade {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    }
    if te_trailers {
        headers.insert(TE, HeaderValue::from_static("trailers"));
    }
    debug_assert!(!headers.contains_key(TRANSFER_ENCODING) && !headers.contains_key(TRAILER));
}

/// Remove `x-portcullis-*` headers: only the gateway may set them.
pub fn strip_internal(headers: &mut HeaderMap) {
    let has_internal = headers
        .keys()
        .any(|name| name.as_str().starts_with(INTERNAL_PREFIX));
    if !has_internal {
        return;
    }
    let internal: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with(INTERNAL_PREFIX))
        .cloned()
        .collect();
    for name in internal {
        headers.remove(&name);
    }
}

/// Keep only the listed headers plus those that frame the message or that the gateway
/// sets itself (`requestPolicy.allowedHeaders`).
pub fn apply_allowlist(headers: &mut HeaderMap, allowed: &[HeaderName]) {
    const ALWAYS_KEPT: [&str; 7] = [
        "host",
        "content-length",
        "content-type",
        "connection",
        "upgrade",
        "te",
        "x-request-id",
    ];
    let is_kept =
        |name: &HeaderName| allowed.contains(name) || ALWAYS_KEPT.contains(&name.as_str());
    if headers.keys().all(is_kept) {
        return;
    }
    let dropped: Vec<HeaderName> = headers
        .keys()
        .filter(|name| !is_kept(name))
        .cloned()
        .collect();
    for name in dropped {
        headers.remove(&name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).expect("test header name"),
                HeaderValue::from_str(value).expect("test header value"),
            );
        }
        map
    }

    #[test]
    fn hop_by_hop_and_connection_named_headers_are_removed() {
        let mut map = headers(&[
            ("connection", "keep-alive, X-Secret-Hop"),
            ("keep-alive", "timeout=5"),
            ("x-secret-hop", "1"),
            ("proxy-authorization", "Basic abc"),
            ("te", "gzip"),
            ("trailer", "x-sum"),
            ("upgrade", "websocket"),
            ("x-kept", "yes"),
        ]);
        strip_hop_by_hop(&mut map, false, true);
        let left: Vec<&str> = map.keys().map(HeaderName::as_str).collect();
        assert_eq!(left, ["x-kept"]);
    }

    #[test]
    fn upgrade_pair_survives_when_asked() {
        let mut map = headers(&[
            ("connection", "Upgrade, x-other"),
            ("upgrade", "websocket"),
            ("x-other", "1"),
        ]);
        assert!(is_upgrade_request(Version::HTTP_11, &Method::GET, &map));
        strip_hop_by_hop(&mut map, true, false);
        assert_eq!(map.get(UPGRADE).expect("kept"), "websocket");
        assert_eq!(map.get(CONNECTION).expect("rewritten"), "upgrade");
        assert!(!map.contains_key("x-other"));
    }

    #[test]
    fn te_trailers_is_kept_only_when_asked_and_exact() {
        let mut map = headers(&[("te", "trailers")]);
        strip_hop_by_hop(&mut map, false, true);
        assert_eq!(map.get(TE).expect("kept"), "trailers");
        let mut map = headers(&[("te", "trailers")]);
        strip_hop_by_hop(&mut map, false, false);
        assert!(!map.contains_key(TE));
    }

    #[test]
    fn h2c_upgrade_is_ignored_and_stripped() {
        for offered in ["h2c", "H2C", "websocket, h2c", "h2c/1"] {
            let mut map = headers(&[
                ("connection", "Upgrade, HTTP2-Settings"),
                ("upgrade", offered),
                ("http2-settings", "AAMAAABkAARAAAAAAAIAAAAA"),
            ]);
            assert!(
                !is_upgrade_request(Version::HTTP_11, &Method::GET, &map),
                "{offered}"
            );
            strip_hop_by_hop(&mut map, false, true);
            assert!(map.is_empty(), "{offered}: {map:?}");
        }
        // Not named in `Connection`, `HTTP2-Settings` still goes.
        let mut map = headers(&[("http2-settings", "AAMAAABk"), ("accept", "*/*")]);
        strip_hop_by_hop(&mut map, false, true);
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn upgrade_needs_http11_and_both_headers() {
        let only_upgrade = headers(&[("upgrade", "websocket")]);
        assert!(!is_upgrade_request(
            Version::HTTP_11,
            &Method::GET,
            &only_upgrade
        ));
        let both = headers(&[("connection", "upgrade"), ("upgrade", "websocket")]);
        assert!(!is_upgrade_request(Version::HTTP_10, &Method::GET, &both));
        assert!(!is_upgrade_request(Version::HTTP_2, &Method::GET, &both));
    }

    #[test]
    fn internal_headers_are_stripped() {
        let mut map = headers(&[
            ("x-portcullis-principal", "admin"),
            ("x-portcullis-tenant", "t"),
            ("accept", "*/*"),
        ]);
        strip_internal(&mut map);
        let left: Vec<&str> = map.keys().map(HeaderName::as_str).collect();
        assert_eq!(left, ["accept"]);
    }

    #[test]
    fn allowlist_keeps_listed_and_framing_headers() {
        let mut map = headers(&[
            ("accept", "*/*"),
            ("cookie", "a=b"),
            ("content-type", "text/plain"),
            ("host", "h"),
        ]);
        apply_allowlist(&mut map, &[HeaderName::from_static("accept")]);
        let mut left: Vec<&str> = map.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["accept", "content-type", "host"]);
    }
}
