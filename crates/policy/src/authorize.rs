//! Coarse authorization (DESIGN §5 phase 6): required scopes, tenant status, API-key product
//! and the `admin` scope under admin path prefixes. Compiled once per route; the per-request
//! check allocates nothing.

use std::collections::BTreeMap;

use http::HeaderValue;
use portcullis_config::model::{Authorization, Tenant};

use crate::failure::{Denial, DenyReason};
use crate::principal::Principal;

/// The scope every request under an admin path prefix needs.
pub const ADMIN_SCOPE: &str = "admin";

/// One route's authorization rules, ready for the hot path.
#[derive(Debug, Clone)]
pub struct RouteAuthorizer {
    required_scopes: Vec<String>,
    tenant_statuses: Vec<String>,
    product: Option<String>,
    admin_path_prefixes: Vec<String>,
    /// Challenge for denials that are about scopes (names the route's scopes).
    scope_challenge: HeaderValue,
    /// Challenge for admin-path denials (the route's scopes plus `admin`).
    admin_challenge: HeaderValue,
}

impl RouteAuthorizer {
    /// `admin_path_prefixes` is the top-level list; a request whose path is at or under one of
    /// them (segment-aware: `/admin` covers `/admin/x`, never `/administrator`) needs `admin`.
    pub fn new(authorization: Option<&Authorization>, admin_path_prefixes: &[String]) -> Self {
        let (required_scopes, tenant_statuses, product) = match authorization {
            Some(rules) => (
                rules.required_scopes.clone(),
                rules.tenant_status.clone(),
                rules.product.clone(),
            ),
            None => (Vec::new(), Vec::new(), None),
        };
        let mut admin_scopes = required_scopes.clone();
        if !admin_scopes.iter().any(|scope| scope == ADMIN_SCOPE) {
            admin_scopes.push(ADMIN_SCOPE.to_string());
        }
        RouteAuthorizer {
            scope_challenge: insufficient_scope_challenge(&required_scopes),
            admin_challenge: insufficient_scope_challenge(&admin_scopes),
            required_scopes,
            tenant_statuses,
            product,
            admin_path_prefixes: admin_path_prefixes
                .iter()
                .map(|prefix| prefix.trim_end_matches('/').to_string())
                .collect(),
        }
    }

    /// Whether this route checks anything at all (when not, anonymous requests pass).
    pub fn has_rules(&self) -> bool {
        !self.required_scopes.is_empty()
            || !self.tenant_statuses.is_empty()
            || self.product.is_some()
            || !self.admin_path_prefixes.is_empty()
    }

    /// Checks `principal` (absent for `auth: optional` requests without credentials) against the
    /// route's rules for a request to `path`, with tenants from the current snapshot.
    pub fn authorize(
        &self,
        principal: Option<&Principal>,
        path: &str,
        tenants: &BTreeMap<String, Tenant>,
    ) -> Result<(), Denial> {
        let admin_path = self.is_admin_path(path);
        let needs_principal = !self.required_scopes.is_empty()
            || !self.tenant_statuses.is_empty()
            || self.product.is_some()
            || admin_path;
        let Some(principal) = principal else {
            return if needs_principal {
                Err(self.deny(DenyReason::NoPrincipal, admin_path))
            } else {
                Ok(())
            };
        };
        if admin_path && !principal.has_scope(ADMIN_SCOPE) {
            return Err(self.deny(DenyReason::AdminScopeRequired, true));
        }
        if !self
            .required_scopes
            .iter()
            .all(|scope| principal.has_scope(scope))
        {
            return Err(self.deny(DenyReason::InsufficientScope, admin_path));
        }
        if !self.tenant_statuses.is_empty() {
            let Some(tenant_id) = principal.tenant_id.as_deref() else {
                return Err(self.deny(DenyReason::NoTenant, admin_path));
            };
            let Some(tenant) = tenants.get(tenant_id) else {
                return Err(self.deny(DenyReason::UnknownTenant, admin_path));
            };
            if !self.tenant_statuses.contains(&tenant.status) {
                return Err(self.deny(DenyReason::TenantStatusNotAllowed, admin_path));
            }
        }
        if let Some(product) = &self.product {
            if !principal.has_product(product) {
                return Err(self.deny(DenyReason::ProductNotAllowed, admin_path));
            }
        }
        Ok(())
    }

    fn is_admin_path(&self, path: &str) -> bool {
        self.admin_path_prefixes
            .iter()
            .any(|prefix| is_under_prefix(path, prefix))
    }

    fn deny(&self, reason: DenyReason, admin_path: bool) -> Denial {
        let www_authenticate = if admin_path {
            self.admin_challenge.clone()
        } else {
            self.scope_challenge.clone()
        };
        Denial {
            reason,
            www_authenticate,
        }
    }
}

/// Segment-aware prefix test; `prefix` has no trailing slash (an empty prefix is the root).
pub fn is_under_prefix(path: &str, prefix: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/') || prefix.is_empty(),
        None => false,
    }
}

/// `Bearer error="insufficient_scope", scope="a b"` (RFC 6750 §3.1); the scope parameter is
/// omitted when the route names no scopes.
pub fn insufficient_scope_challenge(scopes: &[String]) -> HeaderValue {
    let bare = HeaderValue::from_static("Bearer error=\"insufficient_scope\"");
    // Scope tokens are printable ASCII without `"` or `\` (RFC 6749 §3.3); others are skipped
    // rather than producing a broken header.
    let printable: Vec<&str> = scopes
        .iter()
        .map(String::as_str)
        .filter(|scope| {
            !scope.is_empty()
                && scope
                    .bytes()
                    .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
        })
        .collect();
    if printable.is_empty() {
        return bare;
    }
    let value = format!(
        "Bearer error=\"insufficient_scope\", scope=\"{}\"",
        printable.join(" ")
    );
    HeaderValue::from_str(&value).unwrap_or(bare)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::AuthMethod;

    fn principal(scopes: &[&str], tenant: Option<&str>, products: &[&str]) -> Principal {
        Principal {
            subject: "user-1".into(),
            tenant_id: tenant.map(str::to_string),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            key_id: None,
            products: products.iter().map(|s| s.to_string()).collect(),
            method: AuthMethod::Jwt,
        }
    }

    fn tenants() -> BTreeMap<String, Tenant> {
        let mut tenants = BTreeMap::new();
        tenants.insert(
            "acme".to_string(),
            Tenant {
                status: "ACTIVE".into(),
                tier: None,
            },
        );
        tenants.insert(
            "umbrella".to_string(),
            Tenant {
                status: "SUSPENDED".into(),
                tier: None,
            },
        );
        tenants
    }

    fn rules(scopes: &[&str], statuses: &[&str], product: Option<&str>) -> Authorization {
        Authorization {
            required_scopes: scopes.iter().map(|s| s.to_string()).collect(),
            tenant_status: statuses.iter().map(|s| s.to_string()).collect(),
            product: product.map(str::to_string),
        }
    }

    #[test]
    fn every_required_scope_is_needed() {
        let authorizer = RouteAuthorizer::new(
            Some(&rules(&["orders:read", "orders:write"], &[], None)),
            &[],
        );
        let both = principal(&["orders:read", "orders:write", "x"], None, &[]);
        assert_eq!(
            authorizer.authorize(Some(&both), "/v1/orders", &tenants()),
            Ok(())
        );
        let one = principal(&["orders:read"], None, &[]);
        let denial = authorizer
            .authorize(Some(&one), "/v1/orders", &tenants())
            .expect_err("one scope missing");
        assert_eq!(denial.reason, DenyReason::InsufficientScope);
        assert_eq!(
            denial.www_authenticate,
            "Bearer error=\"insufficient_scope\", scope=\"orders:read orders:write\""
        );
        assert_eq!(
            denial.to_gateway_error().status(),
            http::StatusCode::FORBIDDEN
        );
    }

    #[test]
    fn tenant_status_comes_from_the_registry_and_unknown_tenants_are_denied() {
        let authorizer = RouteAuthorizer::new(Some(&rules(&[], &["ACTIVE"], None)), &[]);
        let registry = tenants();
        let ok = principal(&[], Some("acme"), &[]);
        assert_eq!(authorizer.authorize(Some(&ok), "/", &registry), Ok(()));
        let cases = [
            (
                principal(&[], Some("umbrella"), &[]),
                DenyReason::TenantStatusNotAllowed,
            ),
            (
                principal(&[], Some("nobody"), &[]),
                DenyReason::UnknownTenant,
            ),
            (principal(&[], None, &[]), DenyReason::NoTenant),
        ];
        for (caller, expected) in cases {
            let denial = authorizer
                .authorize(Some(&caller), "/", &registry)
                .expect_err("denied");
            assert_eq!(denial.reason, expected);
        }
    }

    #[test]
    fn product_must_be_granted_by_the_key() {
        let authorizer = RouteAuthorizer::new(Some(&rules(&[], &[], Some("gold"))), &[]);
        assert_eq!(
            authorizer.authorize(
                Some(&principal(&[], None, &["silver", "gold"])),
                "/",
                &tenants()
            ),
            Ok(())
        );
        let denial = authorizer
            .authorize(Some(&principal(&[], None, &["silver"])), "/", &tenants())
            .expect_err("no gold");
        assert_eq!(denial.reason, DenyReason::ProductNotAllowed);
    }

    #[test]
    fn admin_prefixes_need_the_admin_scope_segment_aware() {
        let authorizer = RouteAuthorizer::new(None, &["/admin/".to_string()]);
        let user = principal(&["orders:read"], None, &[]);
        let admin = principal(&["admin"], None, &[]);
        for path in ["/admin", "/admin/", "/admin/users"] {
            let denial = authorizer
                .authorize(Some(&user), path, &tenants())
                .expect_err(path);
            assert_eq!(denial.reason, DenyReason::AdminScopeRequired);
            assert_eq!(
                denial.www_authenticate,
                "Bearer error=\"insufficient_scope\", scope=\"admin\""
            );
            assert_eq!(authorizer.authorize(Some(&admin), path, &tenants()), Ok(()));
        }
        assert_eq!(
            authorizer.authorize(Some(&user), "/administrator", &tenants()),
            Ok(())
        );
        let anonymous = authorizer
            .authorize(None, "/admin/x", &tenants())
            .expect_err("anonymous");
        assert_eq!(anonymous.reason, DenyReason::NoPrincipal);
        assert_eq!(authorizer.authorize(None, "/public", &tenants()), Ok(()));
    }

    #[test]
    fn routes_without_rules_admit_anonymous_requests_and_rules_do_not() {
        let open = RouteAuthorizer::new(None, &[]);
        assert!(!open.has_rules());
        assert_eq!(open.authorize(None, "/x", &tenants()), Ok(()));
        let scoped = RouteAuthorizer::new(Some(&rules(&["a"], &[], None)), &[]);
        assert_eq!(
            scoped
                .authorize(None, "/x", &tenants())
                .expect_err("anonymous")
                .reason,
            DenyReason::NoPrincipal
        );
    }

    #[test]
    fn challenge_skips_scopes_that_would_break_the_header() {
        let value = insufficient_scope_challenge(&["ok".into(), "bad\"quote".into()]);
        assert_eq!(value, "Bearer error=\"insufficient_scope\", scope=\"ok\"");
        assert_eq!(
            insufficient_scope_challenge(&[]),
            "Bearer error=\"insufficient_scope\""
        );
    }
}
