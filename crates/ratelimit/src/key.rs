//! Bucket keys: the request facts a limit is keyed by, written as one unambiguous string.
//!
//! A key is `<limit name>|<segment>|<segment>…`, one segment per configured dimension, in the
//! configured order. A dimension the request lacks is written as the placeholder
//! [`MISSING_PLACEHOLDER`] (`-`). Present values are escaped so that no two different fact
//! tuples produce the same key: `\` becomes `\\`, `|` becomes `\|`, and a value that is exactly
//! `-` becomes `\-` (so it cannot pose as a missing dimension). Thus `a|b` + `c` and `a` + `b|c`
//! land in different buckets.
//!
//! Values are compared exactly, byte for byte: no case folding, no Unicode normalisation. The
//! tenant, user and API-key dimensions come from the authenticated principal (the token's
//! claims, the API key record), never from a request header, so a caller cannot merge or split
//! a tenant's bucket by sending `Tenant_ABC`, a look-alike code point or extra whitespace: the
//! principal says which tenant it is, and the tenant id is exactly the string the identity
//! provider issued. The client IP is the address the ingress phase resolved from the peer and
//! `trustedProxies`, not the raw `X-Forwarded-For` header.

use portcullis_config::model::KeyDimension;

/// Written for a dimension the request does not have (no principal, no API key, no tier).
pub const MISSING_PLACEHOLDER: &str = "-";

/// Separates the limit name and the segments of a key.
pub const SEGMENT_SEPARATOR: char = '|';

/// What a request is known to be, borrowed from the pipeline's state for one decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestFacts<'a> {
    /// The authenticated principal's tenant.
    pub tenant_id: Option<&'a str>,
    /// The authenticated principal's subject.
    pub user_id: Option<&'a str>,
    /// The id of the API key that authenticated the request (never the key itself).
    pub api_key_id: Option<&'a str>,
    /// The client address as resolved by ingress (rightmost untrusted hop, else the peer).
    pub client_ip: Option<&'a str>,
    /// The matched route's name.
    pub route_name: Option<&'a str>,
    /// The tenant's tier from the tenant registry.
    pub product_tier: Option<&'a str>,
}

impl<'a> RequestFacts<'a> {
    /// The value of one dimension, if the request has it.
    pub fn get(&self, dimension: KeyDimension) -> Option<&'a str> {
        match dimension {
            KeyDimension::TenantId => self.tenant_id,
            KeyDimension::UserId => self.user_id,
            KeyDimension::ApiKey => self.api_key_id,
            KeyDimension::ClientIp => self.client_ip,
            KeyDimension::RouteName => self.route_name,
            KeyDimension::ProductTier => self.product_tier,
        }
    }
}

/// Writes the bucket key of `limit_name` for `facts` into `out` (cleared first), so a caller
/// can reuse one buffer across requests instead of allocating per decision.
pub fn write_key(
    limit_name: &str,
    dimensions: &[KeyDimension],
    facts: &RequestFacts<'_>,
    out: &mut String,
) {
    out.clear();
    push_escaped(limit_name, out);
    for dimension in dimensions {
        out.push(SEGMENT_SEPARATOR);
        match facts.get(*dimension) {
            Some(value) => push_escaped(value, out),
            None => out.push_str(MISSING_PLACEHOLDER),
        }
    }
}

/// The bucket key of `limit_name` for `facts`, as a new string.
pub fn bucket_key(
    limit_name: &str,
    dimensions: &[KeyDimension],
    facts: &RequestFacts<'_>,
) -> String {
    let mut key = String::with_capacity(64);
    write_key(limit_name, dimensions, facts, &mut key);
    key
}

fn push_escaped(value: &str, out: &mut String) {
    if value == MISSING_PLACEHOLDER {
        out.push_str("\\-");
        return;
    }
    for character in value.chars() {
        if character == '\\' || character == SEGMENT_SEPARATOR {
            out.push('\\');
        }
        out.push(character);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use KeyDimension::{ApiKey, ClientIp, ProductTier, RouteName, TenantId, UserId};

    fn tenant_route(tenant: Option<&str>, route: Option<&str>) -> String {
        let facts = RequestFacts {
            tenant_id: tenant,
            route_name: route,
            ..RequestFacts::default()
        };
        bucket_key("per-tenant", &[TenantId, RouteName], &facts)
    }

    #[test]
    fn dimensions_are_written_in_configured_order() {
        let facts = RequestFacts {
            tenant_id: Some("tenant_abc"),
            user_id: Some("u-1"),
            api_key_id: Some("key-7"),
            client_ip: Some("10.0.0.1"),
            route_name: Some("checkout-orders"),
            product_tier: Some("gold"),
        };
        let all = [ProductTier, ClientIp, ApiKey, UserId, TenantId, RouteName];
        assert_eq!(
            bucket_key("l", &all, &facts),
            "l|gold|10.0.0.1|key-7|u-1|tenant_abc|checkout-orders"
        );
        assert_eq!(bucket_key("l", &[], &facts), "l");
    }

    #[test]
    fn missing_dimension_takes_the_placeholder() {
        assert_eq!(tenant_route(None, Some("r")), "per-tenant|-|r");
    }

    #[test]
    fn separators_inside_values_cannot_collide() {
        assert_ne!(
            tenant_route(Some("a|b"), Some("c")),
            tenant_route(Some("a"), Some("b|c"))
        );
        assert_ne!(
            tenant_route(Some("a\\"), Some("|c")),
            tenant_route(Some("a\\|"), Some("c"))
        );
        assert_eq!(tenant_route(Some("a|b"), Some("c")), "per-tenant|a\\|b|c");
    }

    #[test]
    fn a_literal_dash_is_not_the_missing_placeholder() {
        assert_ne!(
            tenant_route(Some("-"), Some("r")),
            tenant_route(None, Some("r"))
        );
        assert_ne!(
            tenant_route(Some(""), Some("r")),
            tenant_route(None, Some("r"))
        );
    }

    #[test]
    fn tenant_ids_are_compared_exactly() {
        let plain = tenant_route(Some("tenant_abc"), Some("r"));
        assert_ne!(plain, tenant_route(Some("TENANT_ABC"), Some("r")));
        // Cyrillic `а` (U+0430) looks like Latin `a` but is another tenant id.
        assert_ne!(plain, tenant_route(Some("tenаnt_abc"), Some("r")));
        assert_eq!(plain, tenant_route(Some("tenant_abc"), Some("r")));
    }

    #[test]
    fn write_key_reuses_the_buffer() {
        let mut buffer = String::from("stale content");
        let facts = RequestFacts {
            client_ip: Some("192.0.2.1"),
            ..RequestFacts::default()
        };
        write_key("ip", &[ClientIp], &facts, &mut buffer);
        assert_eq!(buffer, "ip|192.0.2.1");
    }
}
