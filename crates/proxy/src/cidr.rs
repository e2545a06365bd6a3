//! `listeners[].trustedProxies` blocks, parsed once at bind time by the configuration's own
//! parser (`portcullis_config::cidr`), so the proxy enforces exactly what validation accepted.

use std::net::IpAddr;

use portcullis_config::cidr::{cidr_contains, parse_cidr, IpNet};

pub use portcullis_config::cidr::CidrError;

/// One `address/prefix` block (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr(IpNet);

impl Cidr {
    pub fn parse(value: &str) -> Result<Cidr, CidrError> {
        parse_cidr(value).map(Cidr)
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        cidr_contains(&self.0, address)
    }
}

pub fn any_contains(blocks: &[Cidr], address: IpAddr) -> bool {
    blocks.iter().any(|block| block.contains(address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_match_through_the_shared_parser() {
        let block = Cidr::parse("10.1.0.0/16").expect("valid");
        assert!(block.contains("10.1.200.3".parse().expect("ip")));
        assert!(!block.contains("10.2.0.1".parse().expect("ip")));
        let v4 = Cidr::parse("127.0.0.0/8").expect("valid");
        assert!(v4.contains("::ffff:127.0.0.1".parse().expect("ip")));
    }

    #[test]
    fn whitespace_is_refused_as_in_validation() {
        for bad in [" 10.0.0.0/8", "10.0.0.0/8 ", "10.0.0.0/33", "10.0.0.1/8"] {
            let error = Cidr::parse(bad).expect_err(bad);
            assert_eq!(error.value(), bad);
        }
    }
}
