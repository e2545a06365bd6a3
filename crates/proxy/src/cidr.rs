//! CIDR blocks for `listeners[].trustedProxies`, parsed once at bind time.
//!
//! Written here rather than pulled in as a crate: it is twenty lines of bit masking and the
//! hot path only needs `contains`.

use std::net::IpAddr;

/// One `address/prefix` block (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CIDR {value:?}: use ADDRESS/PREFIX, e.g. 10.0.0.0/8 or fd00::/8")]
pub struct CidrError {
    pub value: String,
}

impl Cidr {
    pub fn parse(value: &str) -> Result<Cidr, CidrError> {
        let invalid = || CidrError {
            value: value.to_string(),
        };
        let (address, prefix) = match value.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (value, None),
        };
        let network: IpAddr = address.trim().parse().map_err(|_| invalid())?;
        let max_prefix = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.trim().parse::<u8>().map_err(|_| invalid())?,
            None => max_prefix,
        };
        if prefix > max_prefix {
            return Err(invalid());
        }
        Ok(Cidr { network, prefix })
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        // An IPv4-mapped IPv6 peer (dual-stack socket) is compared as the IPv4 it carries.
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(address),
            v4 => v4,
        };
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

pub fn any_contains(blocks: &[Cidr], address: IpAddr) -> bool {
    blocks.iter().any(|block| block.contains(address))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    #[test]
    fn ipv4_blocks_match_by_prefix() {
        let block = Cidr::parse("10.1.0.0/16").expect("valid");
        assert!(block.contains(ip("10.1.200.3")));
        assert!(!block.contains(ip("10.2.0.1")));
        assert!(!block.contains(ip("::1")));
    }

    #[test]
    fn bare_address_is_a_single_host_and_zero_prefix_matches_all() {
        let host = Cidr::parse("192.168.1.7").expect("valid");
        assert!(host.contains(ip("192.168.1.7")));
        assert!(!host.contains(ip("192.168.1.8")));
        let all = Cidr::parse("0.0.0.0/0").expect("valid");
        assert!(all.contains(ip("203.0.113.9")));
    }

    #[test]
    fn ipv6_and_mapped_ipv4() {
        let block = Cidr::parse("fd00::/8").expect("valid");
        assert!(block.contains(ip("fd12::1")));
        assert!(!block.contains(ip("fe80::1")));
        let v4 = Cidr::parse("127.0.0.0/8").expect("valid");
        assert!(v4.contains(ip("::ffff:127.0.0.1")));
    }

    #[test]
    fn malformed_blocks_are_refused_with_the_value() {
        for bad in ["10.0.0.0/33", "fd00::/129", "nonsense", "10.0.0.0/x", ""] {
            let error = Cidr::parse(bad).expect_err("must be refused");
            assert_eq!(error.value, bad);
        }
    }
}
