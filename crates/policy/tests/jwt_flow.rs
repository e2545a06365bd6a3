//! JWT verification in its surroundings: bearer extraction, the token cache, compiling from
//! config with inline and fetched keys, and authorization of the resulting principal.

mod common;

use common::*;
use jsonwebtoken::Algorithm;
use portcullis_policy::jwt::{bearer_token, TokenCache};
use portcullis_policy::AuthFailure;
use serde_json::json;
use std::sync::Arc;

fn verify(token: &str) -> Result<portcullis_policy::jwt::VerifiedToken, AuthFailure> {
    all_algorithms().verify(token, NOW)
}

#[test]
fn bearer_extraction_feeds_verification_and_refuses_two_headers() {
    let good = token(Algorithm::ES256, "ec-1", &good_claims());
    let request = http::Request::get("/v1/orders")
        .header("authorization", format!("Bearer {good}"))
        .body(())
        .expect("request")
        .into_parts()
        .0;
    let extracted = bearer_token(&request)
        .expect("one header")
        .expect("a token");
    assert!(verify(extracted).is_ok());

    let twice = http::Request::get("/v1/orders")
        .header("authorization", format!("Bearer {good}"))
        .header("authorization", format!("Bearer {good}"))
        .body(())
        .expect("request")
        .into_parts()
        .0;
    assert_eq!(
        bearer_token(&twice),
        Err(AuthFailure::MultipleAuthorizationHeaders)
    );

    let in_query = http::Request::get(format!("/v1/orders?access_token={good}"))
        .body(())
        .expect("request")
        .into_parts()
        .0;
    assert_eq!(bearer_token(&in_query), Ok(None));
}

#[test]
fn verified_tokens_are_cached_until_exp() {
    let good = token(
        Algorithm::RS256,
        "rsa-1",
        &with_claim("exp", json!(NOW + 60)),
    );
    let mut cache = TokenCache::new(100, 300);
    assert!(cache.get(&good, NOW).is_none());
    let verified = verify(&good).expect("valid");
    cache.insert(
        &good,
        Arc::new(verified.principal.clone()),
        verified.expires_at,
        NOW,
    );
    assert_eq!(
        cache.get(&good, NOW + 59).as_deref(),
        Some(&verified.principal)
    );
    assert!(cache.get(&good, NOW + 60).is_none());
}

#[test]
fn the_verifier_compiles_from_config_with_inline_and_fetched_keys() {
    use portcullis_config::model::JwtAuthentication;
    use portcullis_policy::jwt::{JwtVerifier, KeySet};
    use std::collections::HashMap;

    let mut remote = issuer_config(&["ES256"]);
    remote.issuer = "https://remote.test".into();
    remote.jwks = None;
    remote.jwks_uri = Some("http://127.0.0.1:9/jwks".into());
    let config = JwtAuthentication {
        issuers: vec![issuer_config(&["RS256"]), remote],
        ..JwtAuthentication::default()
    };
    let (verifier, warnings) =
        JwtVerifier::from_config(&config, &HashMap::new()).expect("compiles");
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(verifier
        .verify(&token(Algorithm::RS256, "rsa-1", &good_claims()), NOW)
        .is_ok());
    let remote_claims = with_claim("iss", json!("https://remote.test"));
    let remote_token = token(Algorithm::ES256, "ec-1", &remote_claims);
    assert_eq!(
        verifier.verify(&remote_token, NOW).err(),
        Some(AuthFailure::UnknownKeyId),
        "no keys fetched yet"
    );
    let (fetched, _) = KeySet::from_jwks_value(&jwks()).expect("jwks");
    let fetched = HashMap::from([("https://remote.test".to_string(), Arc::new(fetched))]);
    let (verifier, _) = JwtVerifier::from_config(&config, &fetched).expect("compiles");
    assert!(verifier.verify(&remote_token, NOW).is_ok());
}

#[test]
fn a_verified_principal_goes_through_authorization() {
    use portcullis_config::model::{Authorization, Tenant};
    use portcullis_policy::{DenyReason, RouteAuthorizer};
    use std::collections::BTreeMap;

    let principal = verify(&token(Algorithm::EdDSA, "ed-1", &good_claims()))
        .expect("valid")
        .principal;
    let tenants = BTreeMap::from([(
        "acme".to_string(),
        Tenant {
            status: "ACTIVE".into(),
            tier: None,
        },
    )]);
    let rules = Authorization {
        required_scopes: vec!["orders:write".into()],
        tenant_status: vec!["ACTIVE".into()],
        product: None,
    };
    let authorizer = RouteAuthorizer::new(Some(&rules), &["/admin".to_string()]);
    assert_eq!(
        authorizer.authorize(Some(&principal), "/v1/orders", &tenants),
        Ok(())
    );
    let denial = authorizer
        .authorize(Some(&principal), "/admin/users", &tenants)
        .expect_err("no admin scope");
    assert_eq!(denial.reason, DenyReason::AdminScopeRequired);
    assert_eq!(
        denial.www_authenticate,
        "Bearer error=\"insufficient_scope\", scope=\"orders:write admin\""
    );
}
