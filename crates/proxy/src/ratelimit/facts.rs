//! The request facts a limit is keyed by, borrowed from what the pipeline already knows:
//! no allocation (the client address is written into a stack buffer).

use std::fmt::Write as _;
use std::net::IpAddr;

use portcullis_config::model::{AuthMethod, Config};
use portcullis_policy::Principal;
use portcullis_ratelimit::RequestFacts;

/// What the rate-limit phase is given about one request. The principal is `None` until the
/// request is authenticated (then tenant, user, API key and tier take the placeholder).
#[derive(Clone, Copy)]
pub(crate) struct FactsInput<'a> {
    /// Resolved by ingress (rightmost untrusted `X-Forwarded-For` hop, else the peer).
    pub(crate) client_ip: IpAddr,
    pub(crate) principal: Option<&'a Principal>,
}

/// An IP address as text, without a heap allocation (the longest IPv6 text is 45 bytes).
pub(super) struct IpText {
    bytes: [u8; 48],
    len: usize,
}

impl IpText {
    pub(super) fn new(ip: IpAddr) -> IpText {
        let mut text = IpText {
            bytes: [0; 48],
            len: 0,
        };
        // Cannot fail: every address fits.
        let _ = write!(text, "{ip}");
        text
    }

    pub(super) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Write for IpText {
    fn write_str(&mut self, part: &str) -> std::fmt::Result {
        let end = self.len + part.len();
        let slot = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(part.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The facts of one request. `tenantId`, `userId` and `apiKey` come from the principal only
/// (never from a header); `productTier` is the principal's tenant's tier in `tenants`.
pub(super) fn request_facts<'a>(
    input: &FactsInput<'a>,
    client_ip: &'a IpText,
    route_name: &'a str,
    config: &'a Config,
) -> RequestFacts<'a> {
    let principal = input.principal;
    let tenant_id = principal.and_then(|principal| principal.tenant_id.as_deref());
    RequestFacts {
        tenant_id,
        user_id: principal.map(|principal| principal.subject.as_str()),
        // The key's id, and only for an API key: a JWT `kid` names a signing key, not a
        // caller.
        api_key_id: principal
            .filter(|principal| principal.method == AuthMethod::ApiKey)
            .and_then(|principal| principal.key_id.as_deref()),
        client_ip: Some(client_ip.as_str()),
        route_name: Some(route_name),
        product_tier: tenant_id
            .and_then(|tenant| config.tenants.get(tenant))
            .and_then(|tenant| tenant.tier.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(method: AuthMethod) -> Principal {
        Principal {
            subject: "alice".into(),
            tenant_id: Some("tenant_abc".into()),
            scopes: vec![],
            key_id: Some("key-7".into()),
            products: vec![],
            method,
        }
    }

    #[test]
    fn addresses_render_without_allocation() {
        let v6: IpAddr = "2001:db8:ffff:ffff:ffff:ffff:255.255.255.255"
            .parse()
            .expect("ip");
        assert_eq!(IpText::new(v6).as_str(), v6.to_string());
        let v4: IpAddr = "192.0.2.7".parse().expect("ip");
        assert_eq!(IpText::new(v4).as_str(), "192.0.2.7");
    }

    #[test]
    fn principal_fields_fill_the_dimensions() {
        let mut config = Config::default();
        config.tenants.insert(
            "tenant_abc".into(),
            portcullis_config::model::Tenant {
                status: "ACTIVE".into(),
                tier: Some("gold".into()),
            },
        );
        let ip = IpText::new("10.0.0.1".parse().expect("ip"));
        let with_key = principal(AuthMethod::ApiKey);
        let input = FactsInput {
            client_ip: "10.0.0.1".parse().expect("ip"),
            principal: Some(&with_key),
        };
        let facts = request_facts(&input, &ip, "orders", &config);
        assert_eq!(facts.tenant_id, Some("tenant_abc"));
        assert_eq!(facts.user_id, Some("alice"));
        assert_eq!(facts.api_key_id, Some("key-7"));
        assert_eq!(facts.product_tier, Some("gold"));
        assert_eq!(facts.route_name, Some("orders"));
        assert_eq!(facts.client_ip, Some("10.0.0.1"));

        let jwt = principal(AuthMethod::Jwt);
        let input = FactsInput {
            principal: Some(&jwt),
            ..input
        };
        assert_eq!(
            request_facts(&input, &ip, "orders", &config).api_key_id,
            None
        );

        let anonymous = FactsInput {
            principal: None,
            ..input
        };
        let facts = request_facts(&anonymous, &ip, "orders", &config);
        assert_eq!(
            (facts.tenant_id, facts.user_id, facts.product_tier),
            (None, None, None)
        );
    }
}
