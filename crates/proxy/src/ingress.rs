//! Ingress: who the client is (`X-Forwarded-For` behind trusted proxies) and the
//! forwarding headers the upstream receives.

use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::cidr::{any_contains, Cidr};

pub(crate) static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub(crate) static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub(crate) static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// One `X-Forwarded-For` hop: `1.2.3.4`, `1.2.3.4:5678`, `::1` or `[::1]:80`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = hop.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    hop.strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse().ok())
}

/// The client's address: the peer, unless the peer is a trusted proxy; then walk
/// `X-Forwarded-For` from the right and take the first hop that is not trusted (a client
/// can prepend anything, so only hops added by trusted proxies count). A malformed hop
/// stops the walk at the last address vouched for.
pub(crate) fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[Cidr]) -> IpAddr {
    if trusted.is_empty() || !any_contains(trusted, peer) {
        return peer;
    }
    let mut vouched = peer;
    for value in headers.get_all(&X_FORWARDED_FOR).iter().rev() {
        let Ok(text) = value.to_str() else {
            return vouched;
        };
        for hop in text.rsplit(',') {
            let Some(ip) = parse_hop(hop) else {
                return vouched;
            };
            if !any_contains(trusted, ip) {
                return ip;
            }
            vouched = ip;
        }
    }
    vouched
}

/// `X-Forwarded-For` for the upstream: what came in, plus the peer that connected to us.
pub(crate) fn append_forwarded_for(headers: &mut HeaderMap, peer: IpAddr) {
    use std::fmt::Write as _;
    // One buffer, handed to the header value without another copy.
    let mut combined = String::with_capacity(64);
    for value in headers.get_all(&X_FORWARDED_FOR) {
        if let Ok(text) = value.to_str() {
            let text = text.trim();
            if !text.is_empty() {
                combined.push_str(text);
                combined.push_str(", ");
            }
        }
    }
    match peer {
        // `Display` for addresses goes through the formatting machinery, which costs more
        // than the rest of this function; IPv4 is the common case and trivial to write.
        IpAddr::V4(v4) => push_ipv4(&mut combined, v4),
        IpAddr::V6(_) => {
            let _ = write!(combined, "{peer}");
        }
    }
    if let Ok(value) = HeaderValue::from_maybe_shared(bytes::Bytes::from(combined)) {
        headers.insert(X_FORWARDED_FOR.clone(), value);
    }
}

/// Dotted-quad text of `address`, as `Display` writes it.
fn push_ipv4(text: &mut String, address: std::net::Ipv4Addr) {
    for (index, octet) in address.octets().into_iter().enumerate() {
        if index > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_text_matches_display_for_every_octet() {
        for octet in 0..=255u8 {
            let address = std::net::Ipv4Addr::new(octet, 0, 255 - octet, octet / 3);
            let mut text = String::new();
            push_ipv4(&mut text, address);
            assert_eq!(text, address.to_string());
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                X_FORWARDED_FOR.clone(),
                HeaderValue::from_str(value).expect("test value"),
            );
        }
        headers
    }

    fn trusted(blocks: &[&str]) -> Vec<Cidr> {
        blocks
            .iter()
            .map(|block| Cidr::parse(block).expect("test cidr"))
            .collect()
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_it_claims() {
        let headers = xff(&["1.1.1.1"]);
        assert_eq!(
            client_ip(ip("203.0.113.5"), &headers, &trusted(&["10.0.0.0/8"])),
            ip("203.0.113.5")
        );
        assert_eq!(client_ip(ip("10.0.0.1"), &headers, &[]), ip("10.0.0.1"));
    }

    #[test]
    fn rightmost_untrusted_hop_wins_across_header_lines() {
        let headers = xff(&["6.6.6.6, 198.51.100.7", "10.0.0.9"]);
        // 10.0.0.9 is trusted, 198.51.100.7 is not: the spoofable 6.6.6.6 is ignored.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers, &trusted(&["10.0.0.0/8"])),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn all_trusted_or_malformed_stops_at_the_last_vouched_address() {
        let headers = xff(&["10.0.0.3, 10.0.0.2"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers, &trusted(&["10.0.0.0/8"])),
            ip("10.0.0.3")
        );
        let headers = xff(&["garbage, 10.0.0.2"]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &headers, &trusted(&["10.0.0.0/8"])),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn hops_with_ports_and_brackets_parse() {
        assert_eq!(parse_hop(" 192.0.2.1:8080"), Some(ip("192.0.2.1")));
        assert_eq!(parse_hop("[2001:db8::1]:443"), Some(ip("2001:db8::1")));
        assert_eq!(parse_hop("[2001:db8::1]"), Some(ip("2001:db8::1")));
        assert_eq!(parse_hop("unknown"), None);
    }

    #[test]
    fn forwarded_for_appends_the_peer() {
        let mut headers = xff(&["192.0.2.1", "192.0.2.2"]);
        append_forwarded_for(&mut headers, ip("127.0.0.1"));
        assert_eq!(
            headers.get(&X_FORWARDED_FOR).expect("set"),
            "192.0.2.1, 192.0.2.2, 127.0.0.1"
        );
        let mut headers = HeaderMap::new();
        append_forwarded_for(&mut headers, ip("::1"));
        assert_eq!(headers.get(&X_FORWARDED_FOR).expect("set"), "::1");
    }
}
