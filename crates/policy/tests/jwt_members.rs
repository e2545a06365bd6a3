//! Tokens whose JSON could be read two ways (a repeated member name), whose scopes hide a
//! second token behind non-ASCII-space whitespace, or whose `typ` says they are not access
//! tokens: each is correctly signed, so only these checks stand between it and a principal.

mod common;

use common::*;
use portcullis_policy::AuthFailure;

const HEADER: &str = r#"{"alg":"RS256","kid":"rsa-1","typ":"JWT"}"#;

/// The good claims as JSON text with `extra` members spliced in before the closing brace.
fn claims_with(extra: &str) -> String {
    let good = good_claims().to_string();
    format!("{},{extra}}}", &good[..good.len() - 1])
}

fn verify(token: &str) -> Result<portcullis_policy::jwt::VerifiedToken, AuthFailure> {
    all_algorithms().verify(token, NOW)
}

#[test]
fn the_text_helpers_make_good_tokens() {
    let verified = verify(&sign_text(HEADER, &claims_with(r#""x":1"#))).expect("valid");
    assert_eq!(verified.principal.subject, "user-42");
}

#[test]
fn repeated_member_names_are_refused_in_header_and_claims() {
    let cases = [
        (HEADER.to_string(), claims_with(r#""sub":"admin""#)),
        (HEADER.to_string(), claims_with(r#""scope":"admin""#)),
        (
            HEADER.to_string(),
            claims_with(r#""iss":"https://issuer.test""#),
        ),
        (HEADER.to_string(), claims_with(r#""exp":4000000000"#)),
        (HEADER.to_string(), claims_with(r#""\u0073ub":"admin""#)),
        (
            HEADER.to_string(),
            claims_with(r#""realm_access":{"roles":["a"],"roles":["admin"]}"#),
        ),
        (
            r#"{"alg":"RS256","kid":"rsa-1","alg":"RS256"}"#.to_string(),
            good_claims().to_string(),
        ),
        (
            r#"{"alg":"RS256","kid":"rsa-1","kid":"ec-1"}"#.to_string(),
            good_claims().to_string(),
        ),
        (
            r#"{"alg":"RS256","kid":"rsa-1","typ":"JWT","typ":"refresh+jwt"}"#.to_string(),
            good_claims().to_string(),
        ),
    ];
    for (header, claims) in cases {
        assert_eq!(
            verify(&sign_text(&header, &claims)).err(),
            Some(AuthFailure::DuplicateMember),
            "{header} {claims}"
        );
    }
}

#[test]
fn scope_strings_split_on_the_ascii_space_only() {
    // A token holding other whitespace is not an RFC 6749 scope-token: it is dropped, so it
    // grants nothing here and never reaches `x-portcullis-scopes` for an upstream to split.
    let cases: [(&str, &[&str]); 6] = [
        (r#""orders:read\u00a0admin""#, &[]),
        (r#""orders:read\tadmin""#, &[]),
        (r#""orders:read\nadmin""#, &[]),
        (r#""orders:read\u3000admin x""#, &["x"]),
        (
            r#""orders:read\u00a0admin orders:write""#,
            &["orders:write"],
        ),
        (r#""orders:read  admin""#, &["orders:read", "admin"]),
    ];
    for (scope, expected) in cases {
        let claims = with_claim("scope", serde_json::from_str(scope).expect("json string"));
        let verified = verify(&sign_text(HEADER, &claims.to_string())).expect("valid");
        assert_eq!(verified.principal.scopes, expected, "{scope}");
    }
    // The `scp` array form: each member is one token, never split, dropped when invalid.
    let mut claims = without_claim("scope");
    claims["scp"] = serde_json::json!(["orders:read\u{a0}admin", "orders:read admin", "b"]);
    let verified = verify(&sign_text(HEADER, &claims.to_string())).expect("valid");
    assert_eq!(verified.principal.scopes, ["b"]);
    assert!(!verified.principal.has_scope("admin"));
}

#[test]
fn only_access_token_types_are_accepted_by_default() {
    let cases = [
        (None, Ok(())),
        (Some(r#""JWT""#), Ok(())),
        (Some(r#""at+jwt""#), Ok(())),
        (Some(r#""application/at+jwt""#), Ok(())),
        (Some(r#""APPLICATION/AT+JWT""#), Ok(())),
        (Some(r#""refresh+jwt""#), Err(AuthFailure::TokenType)),
        (Some(r#""id_token+jwt""#), Err(AuthFailure::TokenType)),
        (Some(r#""JOSE""#), Err(AuthFailure::TokenType)),
        (Some(r#""logout+jwt""#), Err(AuthFailure::TokenType)),
        (Some(r#"["JWT"]"#), Err(AuthFailure::TokenType)),
    ];
    for (typ, expected) in cases {
        let header = match typ {
            Some(typ) => format!(r#"{{"alg":"RS256","kid":"rsa-1","typ":{typ}}}"#),
            None => r#"{"alg":"RS256","kid":"rsa-1"}"#.to_string(),
        };
        let outcome = verify(&sign_text(&header, &good_claims().to_string())).map(|_| ());
        assert_eq!(outcome, expected, "{header}");
    }
}

#[test]
fn an_issuer_may_list_its_own_types() {
    let mut config = issuer_config(&["RS256"]);
    config.allowed_types = vec!["at+jwt".to_string()];
    let policy = portcullis_policy::jwt::IssuerPolicy::from_config(&config).expect("policy");
    let (keys, _) = portcullis_policy::jwt::KeySet::from_jwks_value(&jwks()).expect("jwks");
    let verifier =
        portcullis_policy::jwt::JwtVerifier::new(vec![(policy, std::sync::Arc::new(keys))]);
    let with_typ = |typ: &str| {
        let header = format!(r#"{{"alg":"RS256","kid":"rsa-1","typ":"{typ}"}}"#);
        verifier
            .verify(&sign_text(&header, &good_claims().to_string()), NOW)
            .map(|_| ())
    };
    assert_eq!(with_typ("application/at+jwt"), Ok(()));
    assert_eq!(with_typ("JWT"), Err(AuthFailure::TokenType));
}
