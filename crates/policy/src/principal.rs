//! The result of authentication: who is calling, for which tenant, with which rights.

pub use portcullis_config::model::AuthMethod;

/// An authenticated caller. Built once per request by one of the authenticators and read by
/// authorization, rate limiting (tenant, subject, key id) and the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `sub` of a token, the partner name of a signature key, or the API key's id.
    pub subject: String,
    pub tenant_id: Option<String>,
    pub scopes: Vec<String>,
    /// The id of the credential used (API key id, signature `keyid`, JWT `kid`); never a secret.
    pub key_id: Option<String>,
    /// Products an API key grants; empty for other methods.
    pub products: Vec<String>,
    pub method: AuthMethod,
}

impl Principal {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|held| held == scope)
    }

    pub fn has_product(&self, product: &str) -> bool {
        self.products.iter().any(|held| held == product)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_and_product_checks_are_exact() {
        let principal = Principal {
            subject: "alice".into(),
            tenant_id: None,
            scopes: vec!["orders:read".into()],
            key_id: None,
            products: vec!["gold".into()],
            method: AuthMethod::ApiKey,
        };
        assert!(principal.has_scope("orders:read"));
        assert!(!principal.has_scope("orders"));
        assert!(!principal.has_scope("orders:read "));
        assert!(principal.has_product("gold"));
        assert!(!principal.has_product("Gold"));
    }
}
