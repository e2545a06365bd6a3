//! The policy material builder: configurations that pass validation but cannot be built are
//! refused with the field path, the value and the fix, by the data plane's build (secrets read)
//! and, when the problem does not depend on the data plane's environment, by the dry run too.

use std::collections::HashMap;

use portcullis_config::{load_str, Format, ValidatedConfig};
use portcullis_policy::material::{
    self, dry_run, Secret, SecretError, SecretReference, SecretSource,
};

/// Secrets from a fixed table: what a data plane's environment and files would hold.
struct TableSecrets(HashMap<String, Vec<u8>>);

impl TableSecrets {
    fn standard() -> TableSecrets {
        TableSecrets(HashMap::from([
            (
                "env:PARTNER_SECRET".to_string(),
                b"0123456789abcdef".to_vec(),
            ),
            ("env:EMPTY_SECRET".to_string(), Vec::new()),
            ("env:CLIENT_SECRET".to_string(), b"client-secret".to_vec()),
            ("env:NOT_UTF8".to_string(), vec![0xff, 0xfe]),
            (
                "file:/keys/garbage.pub".to_string(),
                b"not a key at all".to_vec(),
            ),
        ]))
    }
}

impl SecretSource for TableSecrets {
    fn read(&self, reference: SecretReference<'_>) -> Result<Option<Secret>, SecretError> {
        match self.0.get(&reference.to_string()) {
            Some(bytes) => Ok(Some(Secret::new(bytes.clone()))),
            None => Err(match reference {
                SecretReference::Env(name) => SecretError::EnvNotSet(name.to_string()),
                SecretReference::File(path) => SecretError::File {
                    path: path.to_string(),
                    source: std::io::Error::from(std::io::ErrorKind::NotFound),
                },
            }),
        }
    }
}

fn config(authentication: &str) -> ValidatedConfig {
    let yaml = format!(
        r#"
services:
  backend:
    visibility: public
    endpoints: ["127.0.0.1:9"]
routes:
  - name: main
    match: {{pathPrefix: /}}
    upstream: {{service: backend}}
    policies: {{auth: required}}
authentication:
{authentication}"#
    );
    load_str(&yaml, Format::Yaml).unwrap_or_else(|errors| panic!("validates:\n{yaml}\n{errors}"))
}

const ED25519_PUBLIC: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
/// 32 bytes of base64 that are not a point on the curve.
const NOT_A_POINT: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";

struct Case {
    name: &'static str,
    authentication: String,
    path: &'static str,
    /// Words the message must hold: the value and the fix.
    says: &'static [&'static str],
    /// Decided without the data plane's environment and files: the dry run refuses it too.
    environment_independent: bool,
}

fn hmac_key(secret: &str) -> String {
    format!(
        "  signatures:\n    keys:\n      - keyId: partner\n        algorithm: hmac-sha256\n        secret: {secret}\n        subject: acme\n"
    )
}

fn ed25519_key(public_key: &str) -> String {
    format!(
        "  signatures:\n    keys:\n      - keyId: partner\n        algorithm: ed25519\n        publicKey: \"{public_key}\"\n        subject: acme\n"
    )
}

fn inline_jwks(jwks: &str) -> String {
    format!("  jwt:\n    issuers:\n      - issuer: https://issuer.test\n        jwks: {jwks}\n")
}

fn introspection(endpoint: &str, secret: &str) -> String {
    format!(
        "  introspection:\n    endpoint: \"{endpoint}\"\n    clientId: gateway\n    clientSecret: {secret}\n"
    )
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "missing environment secret",
            authentication: hmac_key("env:PARTNER_SECRET_MISSING"),
            path: "authentication.signatures.keys[0].secret",
            says: &["PARTNER_SECRET_MISSING", "not set", "export it", "file:PATH"],
            environment_independent: false,
        },
        Case {
            name: "unreadable secret file",
            authentication: hmac_key("file:/run/secrets/absent"),
            path: "authentication.signatures.keys[0].secret",
            says: &["/run/secrets/absent", "env:NAME"],
            environment_independent: false,
        },
        Case {
            name: "empty secret",
            authentication: hmac_key("env:EMPTY_SECRET"),
            path: "authentication.signatures.keys[0].secret",
            says: &["env:EMPTY_SECRET", "empty"],
            environment_independent: false,
        },
        Case {
            name: "ed25519 key that is not a curve point",
            authentication: ed25519_key(NOT_A_POINT),
            path: "authentication.signatures.keys[0].publicKey",
            says: &[NOT_A_POINT, "Ed25519 public key"],
            environment_independent: true,
        },
        Case {
            name: "ed25519 key file holding no key",
            authentication: ed25519_key("file:/keys/garbage.pub"),
            path: "authentication.signatures.keys[0].publicKey",
            says: &["file:/keys/garbage.pub", "does not hold"],
            environment_independent: false,
        },
        Case {
            name: "inline JWK Set without keys",
            authentication: inline_jwks("{\"not-keys\": []}"),
            path: "authentication.jwt.issuers[0].jwks",
            says: &["`keys` array", "public keys"],
            environment_independent: true,
        },
        Case {
            name: "inline JWK that cannot be used",
            authentication: inline_jwks(
                "{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-521\", \"x\": \"AA\", \"y\": \"AA\"}]}",
            ),
            path: "authentication.jwt.issuers[0].jwks.keys[0]",
            says: &["P-521", "remove it"],
            environment_independent: true,
        },
        Case {
            name: "empty inline JWK Set",
            authentication: inline_jwks("{\"keys\": []}"),
            path: "authentication.jwt.issuers[0].jwks",
            says: &["no keys"],
            environment_independent: true,
        },
        Case {
            name: "JWKS URL that is not http(s)",
            authentication: "  jwt:\n    issuers:\n      - issuer: https://issuer.test\n        jwksUri: ftp://keys.example.com/jwks.json\n".to_string(),
            path: "authentication.jwt.issuers[0].jwksUri",
            says: &["ftp://keys.example.com/jwks.json", "https://"],
            environment_independent: true,
        },
        Case {
            name: "introspection endpoint that is not a URL",
            authentication: introspection("https://auth example.com/introspect", "env:CLIENT_SECRET"),
            path: "authentication.introspection.endpoint",
            says: &["https://auth example.com/introspect", "http(s) URL"],
            environment_independent: true,
        },
        Case {
            name: "identity header name longer than a header name can be",
            authentication: format!("  identityHeaders:\n    subject: x-{}\n", "s".repeat(70_000)),
            path: "authentication.identityHeaders.subject",
            says: &["x-sss", "70002 bytes", "x-portcullis-subject"],
            environment_independent: true,
        },
        Case {
            name: "missing introspection client secret",
            authentication: introspection("https://auth.example.com/introspect", "env:CLIENT_SECRET_MISSING"),
            path: "authentication.introspection.clientSecret",
            says: &["CLIENT_SECRET_MISSING", "not set"],
            environment_independent: false,
        },
        Case {
            name: "introspection client secret that is not text",
            authentication: introspection("https://auth.example.com/introspect", "env:NOT_UTF8"),
            path: "authentication.introspection.clientSecret",
            says: &["env:NOT_UTF8", "UTF-8"],
            environment_independent: false,
        },
    ]
}

#[test]
fn configurations_that_validate_but_cannot_be_built_are_refused_by_path() {
    for case in cases() {
        let validated = config(&case.authentication);
        let errors = material::build(&validated, &TableSecrets::standard()).expect_err(case.name);
        assert_eq!(errors.len(), 1, "{}: {errors}", case.name);
        let error = &errors.errors[0];
        assert_eq!(error.path, case.path, "{}: {errors}", case.name);
        assert!(
            error.location.is_some(),
            "{}: {error} has a position",
            case.name
        );
        for word in case.says {
            assert!(
                error.message.contains(word),
                "{}: {word:?} missing from {error}",
                case.name
            );
        }
        match dry_run(&validated) {
            Err(dry) if case.environment_independent => {
                assert_eq!(dry, errors, "{}: the dry run says the same", case.name)
            }
            Ok(()) if !case.environment_independent => {}
            other => panic!("{}: dry run gave {other:?}", case.name),
        }
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let authentication = format!(
        "{}{}",
        hmac_key("env:PARTNER_SECRET_MISSING").replace(
            "        subject: acme\n",
            "        subject: acme\n      - keyId: second\n        algorithm: ed25519\n        publicKey: \"AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\"\n        subject: other\n"
        ),
        inline_jwks("{\"keys\": []}")
    );
    let errors = material::build(&config(&authentication), &TableSecrets::standard())
        .expect_err("three problems");
    let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "authentication.signatures.keys[0].secret",
            "authentication.signatures.keys[1].publicKey",
            "authentication.jwt.issuers[0].jwks",
        ],
        "in the order of the file"
    );
}

#[test]
fn a_buildable_configuration_builds_every_section_and_the_dry_run_defers_only_secrets() {
    let authentication = format!(
        "{}{}{}{}",
        hmac_key("env:PARTNER_SECRET").replace(
            "        subject: acme\n",
            &format!("        subject: acme\n      - keyId: signer\n        algorithm: ed25519\n        publicKey: \"{ED25519_PUBLIC}\"\n        subject: other\n"),
        ),
        "  jwt:\n    issuers:\n      - issuer: https://issuer.test\n        jwksUri: https://issuer.test/jwks.json\n        algorithms: [RS256, ES256]\n",
        introspection("https://auth.example.com/introspect", "env:CLIENT_SECRET"),
        "  apiKeys:\n    keys:\n      - id: k1\n        hash: sha256:0000000000000000000000000000000000000000000000000000000000000000\n  mtls:\n    identities:\n      - identity: spiffe://example.org/billing\n  identityHeaders:\n    subject: X-Caller\n",
    );
    let validated = config(&authentication);
    let built = material::build(&validated, &TableSecrets::standard()).expect("builds");
    assert!(built.is_complete());
    assert_eq!(built.identity_headers.subject.as_str(), "x-caller");
    let jwt = built.jwt.as_ref().expect("jwt");
    assert!(
        matches!(&jwt.issuers[0].keys, material::KeySource::Fetched { uri, .. } if uri.host() == Some("issuer.test"))
    );
    assert_eq!(jwt.issuers[0].policy.algorithms.len(), 2);
    assert!(built.api_keys.is_some() && built.signatures.is_some() && built.mtls.is_some());
    let introspection = built.introspection.as_ref().expect("introspection");
    assert!(introspection.authorization.is_sensitive());
    assert!(!format!("{built:?}").contains("client-secret"));

    dry_run(&validated).expect("the dry run accepts it");
    let deferred = material::build(&validated, &material::DeferredSecrets).expect("deferred");
    assert_eq!(
        deferred.deferred(),
        [
            "authentication.signatures.keys[0].secret",
            "authentication.introspection.clientSecret"
        ]
    );
    assert!(!deferred.is_complete());
}

#[test]
fn the_documented_full_example_passes_the_dry_run() {
    let doc = include_str!("../../../docs/configuration.md");
    let start = doc.find("## Full example").expect("example section");
    let body = &doc[start..];
    let yaml_start = body.find("```yaml\n").expect("yaml block") + "```yaml\n".len();
    let yaml_end = body[yaml_start..].find("```").expect("block end") + yaml_start;
    let validated = load_str(&body[yaml_start..yaml_end], Format::Yaml)
        .unwrap_or_else(|errors| panic!("{errors}"));
    dry_run(&validated).unwrap_or_else(|errors| panic!("{errors}"));
}
