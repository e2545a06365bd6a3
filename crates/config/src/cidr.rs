//! The one parser of CIDR blocks (`listeners[].trustedProxies`), shared by validation and the
//! proxy so that what loads is exactly what is enforced. Built on `ipnet`.
//!
//! Decisions, both refusals because a trusted-proxy list is a security boundary and a silent
//! fix could widen or narrow it against the operator's intent:
//! * surrounding whitespace is refused (it is a quoting mistake, and the proxy once trimmed it
//!   while validation refused it);
//! * host bits after the prefix (`10.0.0.1/8`) are refused, naming both readings: the block
//!   `10.0.0.0/8` or the single address `10.0.0.1/32`.
//!
//! A bare address is a single-host block (/32 or /128).

use std::net::IpAddr;

pub use ipnet::IpNet;

/// Why a CIDR block was refused; the message names the value and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    #[error("`{value}` has surrounding whitespace: write `{}` without it", value.trim())]
    Whitespace { value: String },
    #[error(
        "`{value}` is not an address or CIDR: write ADDRESS/PREFIX, e.g. 10.0.0.0/8 or fd00::/8"
    )]
    Syntax { value: String },
    #[error("`{value}` has host bits set after the prefix: write `{network}` for the block, or `{address}/{max}` for the one address")]
    HostBits {
        value: String,
        network: IpNet,
        address: IpAddr,
        max: u8,
    },
}

impl CidrError {
    /// The refused text, as written.
    pub fn value(&self) -> &str {
        match self {
            CidrError::Whitespace { value }
            | CidrError::Syntax { value }
            | CidrError::HostBits { value, .. } => value,
        }
    }
}

/// Parses `ADDRESS/PREFIX` or a bare address.
pub fn parse_cidr(value: &str) -> Result<IpNet, CidrError> {
    if value.trim() != value {
        return Err(CidrError::Whitespace {
            value: value.to_string(),
        });
    }
    let syntax = || CidrError::Syntax {
        value: value.to_string(),
    };
    if !value.contains('/') {
        let address: IpAddr = value.parse().map_err(|_| syntax())?;
        return Ok(IpNet::from(address));
    }
    let block: IpNet = value.parse().map_err(|_| syntax())?;
    if block.addr() != block.network() {
        return Err(CidrError::HostBits {
            value: value.to_string(),
            network: block.trunc(),
            address: block.addr(),
            max: block.max_prefix_len(),
        });
    }
    Ok(block)
}

/// Whether `address` is in `block`; an IPv4-mapped IPv6 address (a dual-stack socket's peer)
/// is compared as the IPv4 address it carries.
pub fn cidr_contains(block: &IpNet, address: IpAddr) -> bool {
    let address = match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(address),
        v4 => v4,
    };
    block.contains(&address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    #[test]
    fn blocks_and_bare_addresses_parse() {
        let cases = [
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("192.168.1.7", "192.168.1.7/32"),
            ("192.168.1.7/32", "192.168.1.7/32"),
            ("fd00::/8", "fd00::/8"),
            ("::1", "::1/128"),
            ("::/0", "::/0"),
        ];
        for (text, expected) in cases {
            let block = parse_cidr(text).unwrap_or_else(|error| panic!("{text}: {error}"));
            assert_eq!(block.to_string(), expected, "{text}");
        }
    }

    #[test]
    fn bad_blocks_are_refused_naming_value_and_fix() {
        let cases: [(&str, &[&str]); 14] = [
            (" 10.0.0.0/8", &["whitespace", "`10.0.0.0/8`"]),
            ("10.0.0.0/8 ", &["whitespace"]),
            ("\t::1", &["whitespace"]),
            ("10.0.0.0 /8", &["not an address"]),
            ("10.0.0.0/ 8", &["not an address"]),
            ("10.0.0.0/33", &["not an address", "10.0.0.0/33"]),
            ("fd00::/129", &["not an address"]),
            ("10.0.0.0/x", &["not an address"]),
            ("10.0.0.0/", &["not an address"]),
            ("nonsense", &["not an address"]),
            ("", &["not an address"]),
            ("fe80::1%eth0", &["not an address"]),
            (
                "10.0.0.1/8",
                &["host bits", "`10.0.0.0/8`", "`10.0.0.1/32`"],
            ),
            ("fd00::1/8", &["host bits", "`fd00::/8`", "`fd00::1/128`"]),
        ];
        for (text, fragments) in cases {
            let error = parse_cidr(text).expect_err(text);
            assert_eq!(error.value(), text);
            let message = error.to_string();
            for fragment in fragments {
                assert!(message.contains(fragment), "{text}: {message}");
            }
        }
    }

    #[test]
    fn containment_by_prefix_with_mapped_ipv4() {
        let cases = [
            ("10.1.0.0/16", "10.1.200.3", true),
            ("10.1.0.0/16", "10.2.0.1", false),
            ("10.1.0.0/16", "::1", false),
            ("192.168.1.7", "192.168.1.7", true),
            ("192.168.1.7", "192.168.1.8", false),
            ("0.0.0.0/0", "203.0.113.9", true),
            ("fd00::/8", "fd12::1", true),
            ("fd00::/8", "fe80::1", false),
            ("127.0.0.0/8", "::ffff:127.0.0.1", true),
        ];
        for (block, address, expected) in cases {
            let parsed = parse_cidr(block).expect("valid");
            assert_eq!(
                cidr_contains(&parsed, ip(address)),
                expected,
                "{block} {address}"
            );
        }
    }
}
