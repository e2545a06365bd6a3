//! The signature base (RFC 9421 §2.5): one line per covered component, then the
//! `@signature-params` line, joined by `\n` without a trailing newline.

use std::collections::HashSet;

use http::request::Parts;

use super::sfv::{serialize_inner_list, BareItem, Item, Parameters};
use crate::failure::AuthFailure;

/// The value of one covered component of a request, or why it cannot be produced. Derived
/// components start with `@`; anything else names a header field (lower case).
pub fn component_value(parts: &Parts, name: &str) -> Result<String, AuthFailure> {
    match name {
        "@method" => Ok(parts.method.as_str().to_string()),
        "@authority" => authority(parts).ok_or(AuthFailure::SignatureMissingComponent),
        "@path" => Ok(match parts.uri.path() {
            "" => "/".to_string(),
            path => path.to_string(),
        }),
        // An absent query is the lone `?` (RFC 9421 §2.2.7).
        "@query" => Ok(format!("?{}", parts.uri.query().unwrap_or(""))),
        "@target-uri" | "@scheme" | "@request-target" | "@query-param" | "@status" => {
            Err(AuthFailure::SignatureMalformed)
        }
        derived if derived.starts_with('@') => Err(AuthFailure::SignatureMalformed),
        field => header_value(parts, field),
    }
}

/// `@authority`: the URI's authority (HTTP/2, absolute form) else `Host`, lower-cased, with the
/// scheme's default port removed when the scheme is known (RFC 9421 §2.2.3).
fn authority(parts: &Parts) -> Option<String> {
    let raw = match parts.uri.authority() {
        Some(authority) => authority.as_str().to_string(),
        None => parts
            .headers
            .get(http::header::HOST)?
            .to_str()
            .ok()?
            .to_string(),
    };
    let mut authority = raw.to_ascii_lowercase();
    let default_port = match parts.uri.scheme_str() {
        Some("http") => Some(":80"),
        Some("https") => Some(":443"),
        _ => None,
    };
    if let Some(port) = default_port {
        if authority.ends_with(port) {
            authority.truncate(authority.len() - port.len());
        }
    }
    Some(authority)
}

/// Every line of a header field, trimmed and joined with `, ` (RFC 9421 §2.1).
fn header_value(parts: &Parts, name: &str) -> Result<String, AuthFailure> {
    if name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(AuthFailure::SignatureMalformed);
    }
    let mut combined: Option<String> = None;
    for value in parts.headers.get_all(name) {
        let text = value
            .to_str()
            .map_err(|_| AuthFailure::SignatureMalformed)?;
        let text = text.trim_matches([' ', '\t']);
        match &mut combined {
            Some(existing) => {
                existing.push_str(", ");
                existing.push_str(text);
            }
            None => combined = Some(text.to_string()),
        }
    }
    combined.ok_or(AuthFailure::SignatureMissingComponent)
}

/// The component names of an inner list: plain strings only. Component parameters (`;sf`,
/// `;key`, `;bs`, `;req`, `;tr`) are not supported, and a repeated component is an error.
pub fn covered_names(covered: &[Item]) -> Result<Vec<&str>, AuthFailure> {
    let mut names: Vec<&str> = Vec::with_capacity(covered.len());
    // A set, not `names.contains`: a `Signature-Input` of up to 32 KiB can list thousands of
    // components, and a linear search per component would make it quadratic.
    let mut seen: HashSet<&str> = HashSet::with_capacity(covered.len());
    for item in covered {
        match &item.bare {
            BareItem::String(name) if item.params.is_empty() && seen.insert(name.as_str()) => {
                names.push(name)
            }
            _ => return Err(AuthFailure::SignatureMalformed),
        }
    }
    Ok(names)
}

/// Builds the signature base for the `covered` components and the signature's parameters.
pub fn signature_base(
    parts: &Parts,
    covered: &[Item],
    params: &Parameters,
) -> Result<String, AuthFailure> {
    let names = covered_names(covered)?;
    let mut base = String::with_capacity(256);
    for name in names {
        base.push('"');
        base.push_str(name);
        base.push_str("\": ");
        let value = component_value(parts, name)?;
        if value.contains('\n') || value.contains('\r') {
            return Err(AuthFailure::SignatureMalformed);
        }
        base.push_str(&value);
        base.push('\n');
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(&serialize_inner_list(covered, params));
    Ok(base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signature::sfv::{parse_dictionary, Member};

    #[test]
    fn builds_the_rfc_9421_b_2_5_signature_base() {
        let parts = http::Request::post("/foo?param=Value&Pet=dog")
            .header("host", "example.com")
            .header("date", "Tue, 20 Apr 2021 02:07:55 GMT")
            .header("content-type", "application/json")
            .body(())
            .expect("request")
            .into_parts()
            .0;
        let input = r#"sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#;
        let members = parse_dictionary(input).expect("input");
        let Member::InnerList(items, params) = &members[0].1 else {
            panic!("inner list");
        };
        let base = signature_base(&parts, items, params).expect("base");
        assert_eq!(
            base,
            "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n\"@authority\": example.com\n\"content-type\": application/json\n\"@signature-params\": (\"date\" \"@authority\" \"content-type\");created=1618884473;keyid=\"test-shared-secret\""
        );
    }

    #[test]
    fn derived_components_follow_the_rfc() {
        let parts = http::Request::get("https://Example.COM:443/a%20b?x=1")
            .body(())
            .expect("request")
            .into_parts()
            .0;
        assert_eq!(component_value(&parts, "@method"), Ok("GET".into()));
        assert_eq!(
            component_value(&parts, "@authority"),
            Ok("example.com".into())
        );
        assert_eq!(component_value(&parts, "@path"), Ok("/a%20b".into()));
        assert_eq!(component_value(&parts, "@query"), Ok("?x=1".into()));
        let bare = http::Request::get("/")
            .body(())
            .expect("request")
            .into_parts()
            .0;
        assert_eq!(component_value(&bare, "@query"), Ok("?".into()));
        assert_eq!(
            component_value(&bare, "@authority"),
            Err(AuthFailure::SignatureMissingComponent)
        );
        assert_eq!(
            component_value(&bare, "x-missing"),
            Err(AuthFailure::SignatureMissingComponent)
        );
        assert_eq!(
            component_value(&bare, "@target-uri"),
            Err(AuthFailure::SignatureMalformed)
        );
    }

    #[test]
    fn repeated_fields_are_joined() {
        let parts = http::Request::get("/")
            .header("x-list", " a ")
            .header("x-list", "b")
            .body(())
            .expect("request")
            .into_parts()
            .0;
        assert_eq!(component_value(&parts, "x-list"), Ok("a, b".into()));
    }
}
