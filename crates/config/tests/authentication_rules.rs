//! Validation of the authentication sections: JWKS cache bounds, signature keys, mTLS,
//! introspection, identity headers and admin path prefixes.

mod common;

use common::{expect_error, load, with_routes, GOOD_ROUTE};
use portcullis_config::model::{AuthMethod, SignatureAlgorithmName};

/// The good routes plus `extra` (top-level YAML).
fn with_extra(extra: &str) -> String {
    format!("{}{extra}", with_routes(GOOD_ROUTE))
}

const ED25519_PUBLIC: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

const FULL: &str = r#"
adminPathPrefixes: [/admin]
authentication:
  jwt:
    tokenCacheSize: 5000
    issuers:
      - issuer: https://auth.example.com
        jwksUri: https://auth.example.com/jwks.json
        unknownKidCooldownSeconds: 10
  signatures:
    keys:
      - keyId: acme-hmac
        algorithm: hmac-sha256
        secret: env:ACME_SIGNING_SECRET
        subject: acme
        tenantId: acme
        scopes: [payments:write]
      - keyId: globex-ed
        algorithm: ed25519
        publicKey: "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
        subject: globex
  mtls:
    identities:
      - identity: spiffe://example.org/ns/prod/sa/billing
        tenantId: internal
  introspection:
    endpoint: https://auth.example.com/oauth2/introspect
    clientId: portcullis
    clientSecret: file:/run/secrets/introspection
  identityHeaders:
    subject: x-caller
listeners:
  - name: mtls
    address: "127.0.0.1:8443"
    tls: {certFile: c.pem, keyFile: k.pem, clientAuth: optional, clientCaFile: ca.pem}
"#;

#[test]
fn a_full_authentication_section_loads_with_its_defaults() {
    let loaded = load(&with_extra(FULL)).expect("valid");
    assert!(loaded.warnings().is_empty(), "{:?}", loaded.warnings());
    let config = &loaded.config();
    assert_eq!(config.admin_path_prefixes, vec!["/admin"]);
    let jwt = config.authentication.jwt.as_ref().expect("jwt");
    assert_eq!(jwt.token_cache_size, 5000);
    assert_eq!(jwt.token_cache_ttl_seconds, 300);
    let issuer = &jwt.issuers[0];
    assert_eq!(issuer.unknown_kid_cooldown_seconds, 10);
    assert_eq!(
        (
            issuer.jwks_refresh_min_seconds,
            issuer.jwks_refresh_max_seconds,
            issuer.max_stale_seconds
        ),
        (60, 3600, 86_400)
    );
    let signatures = config
        .authentication
        .signatures
        .as_ref()
        .expect("signatures");
    assert_eq!(signatures.max_skew_seconds, 300);
    assert_eq!(
        signatures.keys[0].algorithm,
        SignatureAlgorithmName::HmacSha256
    );
    assert_eq!(
        signatures.keys[1].public_key.as_deref(),
        Some(ED25519_PUBLIC)
    );
    let introspection = config
        .authentication
        .introspection
        .as_ref()
        .expect("introspection");
    assert_eq!(
        (introspection.timeout_ms, introspection.cache_ttl_seconds),
        (2000, 300)
    );
    let headers = &config.authentication.identity_headers;
    assert_eq!(
        (
            headers.subject.as_str(),
            headers.tenant.as_str(),
            headers.scopes.as_str()
        ),
        ("x-caller", "x-portcullis-tenant", "x-portcullis-scopes")
    );
}

#[test]
fn jwks_cache_bounds_must_be_consistent() {
    let issuer = |extra: &str| {
        with_extra(&format!(
            "authentication:\n  jwt:\n    issuers:\n      - {{issuer: https://a.example.com, jwksUri: https://a.example.com/jwks, {extra}}}\n"
        ))
    };
    let path = "authentication.jwt.issuers[0]";
    expect_error(
        &issuer("unknownKidCooldownSeconds: 0"),
        &format!("{path}.unknownKidCooldownSeconds"),
        &["0", "kid"],
    );
    expect_error(
        &issuer("jwksRefreshMinSeconds: 0"),
        &format!("{path}.jwksRefreshMinSeconds"),
        &["max-age"],
    );
    expect_error(
        &issuer("jwksRefreshMinSeconds: 600, jwksRefreshMaxSeconds: 300"),
        &format!("{path}.jwksRefreshMaxSeconds"),
        &["300", "600"],
    );
    expect_error(
        &issuer("maxStaleSeconds: 60"),
        &format!("{path}.maxStaleSeconds"),
        &["60", "3600"],
    );
}

#[test]
fn allowed_types_default_to_access_tokens_and_must_be_media_types() {
    let issuer = |extra: &str| {
        with_extra(&format!(
            "authentication:\n  jwt:\n    issuers:\n      - {{issuer: https://a.example.com, jwksUri: https://a.example.com/jwks{extra}}}\n"
        ))
    };
    let loaded = load(&issuer("")).expect("default allowedTypes");
    let jwt = loaded.config().authentication.jwt.as_ref().expect("jwt");
    assert_eq!(
        jwt.issuers[0].allowed_types,
        ["JWT", "at+jwt", "application/at+jwt"]
    );
    let custom = load(&issuer(", allowedTypes: [secevent+jwt]")).expect("custom allowedTypes");
    let jwt = custom.config().authentication.jwt.as_ref().expect("jwt");
    assert_eq!(jwt.issuers[0].allowed_types, ["secevent+jwt"]);
    let path = "authentication.jwt.issuers[0].allowedTypes";
    let cases: [(&str, String, &[&str]); 3] = [
        (
            ", allowedTypes: []",
            path.to_string(),
            &["empty", "default"],
        ),
        (
            ", allowedTypes: [JWT, '']",
            format!("{path}[1]"),
            &["\"\"", "non-empty"],
        ),
        (
            ", allowedTypes: ['at jwt']",
            format!("{path}[0]"),
            &["at jwt", "without spaces"],
        ),
    ];
    for (extra, field, words) in cases {
        expect_error(&issuer(extra), &field, words);
    }
}

#[test]
fn signature_keys_need_the_material_of_their_algorithm() {
    let key = |body: &str| {
        with_extra(&format!("authentication:\n  signatures:\n    keys:\n      - {{keyId: k1, subject: acme, {body}}}\n"))
    };
    let path = "authentication.signatures.keys[0]";
    expect_error(
        &key("algorithm: hmac-sha256"),
        &format!("{path}.secret"),
        &["env:NAME"],
    );
    expect_error(
        &key("algorithm: hmac-sha256, secret: hunter2"),
        &format!("{path}.secret"),
        &["never the secret itself"],
    );
    expect_error(
        &key(&format!(
            "algorithm: hmac-sha256, secret: env:S, publicKey: \"{ED25519_PUBLIC}\""
        )),
        &format!("{path}.publicKey"),
        &["remove"],
    );
    expect_error(
        &key("algorithm: ed25519"),
        &format!("{path}.publicKey"),
        &["publicKey"],
    );
    expect_error(
        &key("algorithm: ed25519, publicKey: AAAA"),
        &format!("{path}.publicKey"),
        &["`AAAA`", "32-byte"],
    );
    expect_error(
        &key(&format!(
            "algorithm: ed25519, publicKey: \"{ED25519_PUBLIC}\", secret: env:S"
        )),
        &format!("{path}.secret"),
        &["remove"],
    );
    assert!(load(&key("algorithm: ed25519, publicKey: file:/etc/partner.key")).is_ok());
    let duplicate = with_extra(
        "authentication:\n  signatures:\n    keys:\n      - {keyId: k1, subject: a, algorithm: hmac-sha256, secret: env:A}\n      - {keyId: k1, subject: b, algorithm: hmac-sha256, secret: env:B}\n",
    );
    expect_error(
        &duplicate,
        "authentication.signatures.keys[1].keyId",
        &["duplicate", "k1"],
    );
    let skew = with_extra("authentication:\n  signatures:\n    maxSkewSeconds: 86400\n");
    expect_error(
        &skew,
        "authentication.signatures.maxSkewSeconds",
        &["86400"],
    );
}

#[test]
fn introspection_needs_a_url_a_secret_reference_and_sane_timings() {
    let section =
        |body: &str| with_extra(&format!("authentication:\n  introspection: {{{body}}}\n"));
    let good =
        "endpoint: https://auth.example.com/introspect, clientId: gw, clientSecret: env:SECRET";
    assert!(load(&section(good)).is_ok());
    let path = "authentication.introspection";
    expect_error(
        &section(&good.replace("https://auth.example.com/introspect", "auth.example.com")),
        &format!("{path}.endpoint"),
        &["auth.example.com", "http(s)"],
    );
    expect_error(
        &section(&good.replace("env:SECRET", "s3cr3t")),
        &format!("{path}.clientSecret"),
        &["env:NAME"],
    );
    expect_error(
        &section(&format!("{good}, timeoutMs: 0")),
        &format!("{path}.timeoutMs"),
        &["0"],
    );
    expect_error(
        &section(&format!("{good}, cacheTtlSeconds: 0")),
        &format!("{path}.cacheTtlSeconds"),
        &["every request"],
    );
}

#[test]
fn mtls_identities_are_unique_and_need_a_listener_asking_for_certificates() {
    let section = "authentication:\n  mtls:\n    identities:\n      - {identity: spiffe://x/a}\n      - {identity: spiffe://x/a}\n";
    expect_error(
        &with_extra(section),
        "authentication.mtls.identities[1].identity",
        &["duplicate"],
    );
    let loaded = load(&with_extra(
        "authentication:\n  mtls:\n    identities:\n      - {identity: billing.internal}\n",
    ))
    .expect("loads");
    assert_eq!(loaded.warnings().len(), 1, "{:?}", loaded.warnings());
    assert_eq!(loaded.warnings()[0].path, "authentication.mtls");
}

#[test]
fn identity_headers_are_valid_and_distinct() {
    let text = with_extra("authentication:\n  identityHeaders: {subject: x-id, tenant: X-ID}\n");
    expect_error(
        &text,
        "authentication.identityHeaders.tenant",
        &["already used for subject"],
    );
    let text = with_extra("authentication:\n  identityHeaders: {scopes: \"bad header\"}\n");
    expect_error(
        &text,
        "authentication.identityHeaders.scopes",
        &["`bad header`"],
    );
}

#[test]
fn admin_routes_cannot_be_public() {
    let admin_route = r#"
  - name: admin-users
    match: {host: api.example.com, pathPrefix: /admin/users}
    upstream: {service: checkout-api}
    policies: {auth: none}
"#;
    let text = format!(
        "{}{admin_route}adminPathPrefixes: [/admin]\n",
        with_routes(GOOD_ROUTE)
    );
    expect_error(
        &text,
        "routes[1].policies.auth",
        &["admin-users", "/admin", "auth: required"],
    );
    let required = text.replace("auth: none", "auth: required");
    assert!(load(&required).is_ok());
    // `/administrator` is not under `/admin`.
    let lookalike = text.replace("/admin/users", "/administrator");
    assert!(load(&lookalike).is_ok());
    expect_error(
        &with_extra("adminPathPrefixes: [admin]\n"),
        "adminPathPrefixes[0]",
        &["start with `/`"],
    );
    expect_error(
        &with_extra("adminPathPrefixes: [/]\n"),
        "adminPathPrefixes[0]",
        &["every route"],
    );
}

#[test]
fn every_auth_method_needs_its_section() {
    for method in [
        AuthMethod::Signature,
        AuthMethod::Mtls,
        AuthMethod::Introspection,
    ] {
        let name = serde_json::to_value(method).expect("name");
        let name = name.as_str().expect("a string");
        let text = with_routes(&GOOD_ROUTE.replace(
            "auth: required",
            &format!("auth: required\n      authMethods: [{name}]"),
        ));
        expect_error(
            &text,
            "routes[0].policies.authMethods[0]",
            &[name, "not configured"],
        );
    }
}
