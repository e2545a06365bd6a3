//! The identity headers the gateway sets upstream after authentication. Copies a client sent
//! are always removed first, so an upstream can trust them.

use http::{HeaderMap, HeaderName, HeaderValue};
use portcullis_config::model::IdentityHeaders;

use crate::principal::Principal;

#[derive(Debug, Clone)]
pub struct IdentityHeaderNames {
    pub subject: HeaderName,
    pub tenant: HeaderName,
    pub scopes: HeaderName,
}

impl IdentityHeaderNames {
    /// Fails (naming the field and value) on a header name validation should have refused.
    pub fn from_config(config: &IdentityHeaders) -> Result<Self, String> {
        let parse = |field: &str, name: &str| {
            HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).map_err(|_| {
                format!(
                    "authentication.identityHeaders.{field}: `{name}` is not a valid header name"
                )
            })
        };
        Ok(IdentityHeaderNames {
            subject: parse("subject", &config.subject)?,
            tenant: parse("tenant", &config.tenant)?,
            scopes: parse("scopes", &config.scopes)?,
        })
    }

    /// Removes every client-sent identity header (all occurrences).
    pub fn strip(&self, headers: &mut HeaderMap) {
        headers.remove(&self.subject);
        headers.remove(&self.tenant);
        headers.remove(&self.scopes);
    }

    /// Strips, then sets the headers for `principal`. Values that are not valid header text
    /// (a token's `sub` with control characters) are left out rather than forwarded mangled.
    pub fn apply(&self, headers: &mut HeaderMap, principal: Option<&Principal>) {
        self.strip(headers);
        let Some(principal) = principal else {
            return;
        };
        if let Ok(value) = HeaderValue::from_str(&principal.subject) {
            headers.insert(self.subject.clone(), value);
        }
        if let Some(tenant) = &principal.tenant_id {
            if let Ok(value) = HeaderValue::from_str(tenant) {
                headers.insert(self.tenant.clone(), value);
            }
        }
        if !principal.scopes.is_empty() {
            if let Ok(value) = HeaderValue::from_str(&principal.scopes.join(" ")) {
                headers.insert(self.scopes.clone(), value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::AuthMethod;

    #[test]
    fn client_copies_are_replaced_by_the_principal() {
        let names = IdentityHeaderNames::from_config(&IdentityHeaders::default()).expect("names");
        let mut headers = HeaderMap::new();
        headers.append("x-portcullis-subject", HeaderValue::from_static("admin"));
        headers.append("x-portcullis-subject", HeaderValue::from_static("root"));
        headers.append("x-portcullis-tenant", HeaderValue::from_static("other"));
        let principal = Principal {
            subject: "user-1".into(),
            tenant_id: None,
            scopes: vec!["a".into(), "b".into()],
            key_id: None,
            products: Vec::new(),
            method: AuthMethod::Jwt,
        };
        names.apply(&mut headers, Some(&principal));
        let subjects: Vec<_> = headers.get_all("x-portcullis-subject").iter().collect();
        assert_eq!(subjects, vec!["user-1"]);
        assert!(headers.get("x-portcullis-tenant").is_none());
        assert_eq!(headers.get("x-portcullis-scopes").expect("scopes"), "a b");

        names.apply(&mut headers, None);
        assert!(headers.get("x-portcullis-subject").is_none());
        assert!(headers.get("x-portcullis-scopes").is_none());
    }

    #[test]
    fn unprintable_subjects_are_not_forwarded() {
        let names = IdentityHeaderNames::from_config(&IdentityHeaders::default()).expect("names");
        let mut headers = HeaderMap::new();
        let principal = Principal {
            subject: "evil\r\nx-admin: 1".into(),
            tenant_id: None,
            scopes: Vec::new(),
            key_id: None,
            products: Vec::new(),
            method: AuthMethod::Jwt,
        };
        names.apply(&mut headers, Some(&principal));
        assert!(headers.is_empty());
    }
}
