//! `Gateway::prepare` refuses configurations that validate but cannot be built, with every
//! error and its field path; nothing of a refused (or prepared and dropped) configuration is
//! installed or started; the running snapshot keeps serving.

mod common;

use std::time::{Duration, Instant};

use common::single_route;
use portcullis_proxy::Gateway;
use portcullis_telemetry::access_log::AccessLog;
use portcullis_telemetry::metrics::Metrics;
use portcullis_testkit::certs::TestPki;
use portcullis_testkit::jwks::JwksServer;
use portcullis_testkit::MockUpstream;

fn gateway() -> std::sync::Arc<Gateway> {
    Gateway::new(Metrics::new(), AccessLog::disabled())
}

/// One route to `endpoint` (authenticated when `authentication`, a YAML section, is given),
/// with `listeners` (a YAML section or empty) added.
fn config(endpoint: &str, authentication: &str, listeners: &str) -> String {
    let auth = if authentication.is_empty() {
        "none"
    } else {
        "required"
    };
    format!(
        r#"
services:
  backend:
    visibility: public
    endpoints: ["{endpoint}"]
routes:
  - name: main
    match:
      pathPrefix: /
    upstream:
      service: backend
    policies:
      auth: {auth}
{authentication}{listeners}"#
    )
}

fn tls_listener(cert: &str, key: &str, client_ca: Option<&str>) -> String {
    let client = client_ca
        .map(|ca| format!("      clientAuth: optional\n      clientCaFile: {ca}\n"))
        .unwrap_or_default();
    format!(
        "listeners:\n  - name: secure\n    address: 127.0.0.1:0\n    tls:\n      certFile: {cert}\n      keyFile: {key}\n{client}"
    )
}

struct Case {
    name: &'static str,
    authentication: String,
    listeners: String,
    path: &'static str,
    says: String,
}

#[test]
fn configurations_that_cannot_be_built_are_refused_with_the_field_path() {
    let pki = TestPki::generate();
    let cert = pki.server.cert_path.display().to_string();
    let key = pki.server.key_path.display().to_string();
    let absent = pki.dir().join("absent.pem").display().to_string();
    let cases = [
        Case {
            name: "missing environment secret",
            authentication: "authentication:\n  signatures:\n    keys:\n      - keyId: partner\n        algorithm: hmac-sha256\n        secret: env:PORTCULLIS_TEST_PARTNER_SECRET_UNSET\n        subject: acme\n".into(),
            listeners: String::new(),
            path: "authentication.signatures.keys[0].secret",
            says: "PORTCULLIS_TEST_PARTNER_SECRET_UNSET".into(),
        },
        Case {
            name: "unreadable secret file",
            authentication: format!("authentication:\n  introspection:\n    endpoint: https://auth.example.com/introspect\n    clientId: gateway\n    clientSecret: file:{absent}\n"),
            listeners: String::new(),
            path: "authentication.introspection.clientSecret",
            says: absent.clone(),
        },
        Case {
            name: "inline JWK that does not parse",
            authentication: "authentication:\n  jwt:\n    issuers:\n      - issuer: https://issuer.test\n        jwks: {\"keys\": [{\"kty\": \"RSA\", \"n\": \"%%%\", \"e\": \"AQAB\"}]}\n".into(),
            listeners: String::new(),
            path: "authentication.jwt.issuers[0].jwks.keys[0]",
            says: "RSA".into(),
        },
        Case {
            name: "unreadable certificate on a listener",
            authentication: String::new(),
            listeners: tls_listener(&absent, &key, None),
            path: "listeners[0].tls.certFile",
            says: absent.clone(),
        },
        Case {
            name: "a key file that holds no key",
            authentication: String::new(),
            listeners: tls_listener(&cert, &cert, None),
            path: "listeners[0].tls.keyFile",
            says: "private key".into(),
        },
        Case {
            name: "unreadable client CA bundle",
            authentication: String::new(),
            listeners: tls_listener(&cert, &key, Some(&absent)),
            path: "listeners[0].tls.clientCaFile",
            says: absent.clone(),
        },
    ];
    for case in cases {
        let yaml = config("127.0.0.1:9", &case.authentication, &case.listeners);
        portcullis_config::load_str(&yaml, portcullis_config::Format::Yaml)
            .unwrap_or_else(|errors| panic!("{}: validates: {errors}", case.name));
        let gateway = gateway();
        let errors = common::prepare(&gateway, &yaml).expect_err(case.name);
        assert_eq!(errors.len(), 1, "{}: {errors}", case.name);
        let error = &errors.errors[0];
        assert_eq!(error.path, case.path, "{}: {errors}", case.name);
        assert!(
            error.message.contains(&case.says),
            "{}: {:?} missing from {error}",
            case.name,
            case.says
        );
        assert!(!gateway.is_ready(), "{}: nothing installed", case.name);
    }
    // The good TLS files build.
    let gateway = gateway();
    let good = config(
        "127.0.0.1:9",
        "",
        &tls_listener(&cert, &key, Some(&pki.ca_cert_path.display().to_string())),
    );
    gateway.install(common::prepare(&gateway, &good).expect("good TLS files build"));
}

#[test]
fn every_problem_is_reported_at_once() {
    let yaml = config(
        "127.0.0.1:9",
        "authentication:\n  signatures:\n    keys:\n      - keyId: a\n        algorithm: hmac-sha256\n        secret: env:PORTCULLIS_TEST_UNSET_A\n        subject: a\n      - keyId: b\n        algorithm: hmac-sha256\n        secret: env:PORTCULLIS_TEST_UNSET_B\n        subject: b\n",
        &tls_listener("/nonexistent/cert.pem", "/nonexistent/key.pem", None),
    );
    let errors = common::prepare(&gateway(), &yaml).expect_err("refused");
    let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "authentication.signatures.keys[0].secret",
            "authentication.signatures.keys[1].secret",
            "listeners[0].tls.certFile",
        ]
    );
}

#[tokio::test]
async fn a_refused_configuration_leaves_the_running_one_serving() {
    let upstream = MockUpstream::echo().await;
    let good = single_route(&upstream.endpoint(), "/", "", "");
    let running = common::start(&good).await;
    let installed = running.gateway.current().expect("installed");

    let bad = config(
        &upstream.endpoint(),
        "authentication:\n  signatures:\n    keys:\n      - keyId: a\n        algorithm: hmac-sha256\n        secret: env:PORTCULLIS_TEST_UNSET_SECRET\n        subject: a\n",
        "",
    );
    let errors = common::prepare(&running.gateway, &bad).expect_err("refused");
    assert_eq!(
        errors.errors[0].path,
        "authentication.signatures.keys[0].secret"
    );

    let still = running.gateway.current().expect("still installed");
    assert!(
        std::sync::Arc::ptr_eq(&installed, &still),
        "the same snapshot serves"
    );
    let response = common::get(running.addr, "h", "/x", &[]).await;
    assert_eq!(response.status(), 200);
    running.stop().await;
}

/// Polls `condition` until it holds or `timeout` passes.
async fn eventually(timeout: Duration, condition: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    condition()
}

fn fetched_issuer(endpoint: &str, jwks_uri: &str, extra: &str) -> String {
    config(
        endpoint,
        &format!("authentication:\n  jwt:\n    issuers:\n      - issuer: https://issuer.test\n        jwksUri: {jwks_uri}\n{extra}"),
        "",
    )
}

#[tokio::test]
async fn preparing_starts_nothing_until_the_snapshot_is_installed() {
    let never = JwksServer::start(&serde_json::json!({"keys": []})).await;
    let installed = JwksServer::start(&serde_json::json!({"keys": []})).await;
    let gateway = gateway();

    // Refused: a secret that cannot be read, beside an issuer whose keys are fetched.
    let refused = fetched_issuer(
        "127.0.0.1:9",
        &never.uri(),
        "  signatures:\n    keys:\n      - keyId: a\n        algorithm: hmac-sha256\n        secret: env:PORTCULLIS_TEST_UNSET_SECRET\n        subject: a\n",
    );
    common::prepare(&gateway, &refused).expect_err("refused");
    // Built, then dropped without being installed.
    drop(
        common::prepare(&gateway, &fetched_issuer("127.0.0.1:9", &never.uri(), ""))
            .expect("builds"),
    );

    // Installing starts the fetch of the installed issuer at once: had either of the others
    // started one, it would have happened before this.
    common::install(
        &gateway,
        &fetched_issuer("127.0.0.1:9", &installed.uri(), ""),
    );
    assert!(
        eventually(Duration::from_secs(10), || installed.hits() > 0).await,
        "the installed issuer's keys are fetched"
    );
    assert_eq!(
        never.hits(),
        0,
        "nothing prepared but not installed fetched keys"
    );

    // The same issuer, installed this time, does fetch: the check above can see a fetch.
    common::install(&gateway, &fetched_issuer("127.0.0.1:9", &never.uri(), ""));
    assert!(eventually(Duration::from_secs(10), || never.hits() > 0).await);
}

#[test]
fn a_store_that_is_down_is_not_a_build_failure() {
    // Redis is reached on first use, never while preparing: an unreachable one builds, and
    // its failure mode decides at run time.
    let yaml = single_route("127.0.0.1:9", "/", "", "      rateLimit: shared")
        + "redis:\n  url: redis://127.0.0.1:1\nrateLimits:\n  shared:\n    capacity: 10\n    refillPerSecond: 1\n    store: redis\n    key: [clientIp]\n";
    let gateway = gateway();
    gateway.install(common::prepare(&gateway, &yaml).expect("builds without connecting"));
}

#[test]
fn unchanged_tls_settings_reuse_the_loaded_files_and_a_changed_path_must_be_readable() {
    let pki = TestPki::generate();
    let cert = pki.server.cert_path.display().to_string();
    let key = pki.server.key_path.display().to_string();
    let gateway = gateway();
    let running = config("127.0.0.1:9", "", &tls_listener(&cert, &key, None));
    common::install(&gateway, &running);

    // Listeners change only at a restart: with the same settings, what the running listener
    // loaded is kept, even when the file has gone since.
    let moved = pki.dir().join("moved.pem");
    std::fs::rename(&pki.server.cert_path, &moved).expect("move the certificate away");
    common::prepare(&gateway, &running).expect("unchanged TLS settings build");

    // A changed path is read now, and refused when it cannot be.
    let changed = config(
        "127.0.0.1:9",
        "",
        &tls_listener(
            &pki.server
                .cert_path
                .display()
                .to_string()
                .replace("server", "renamed"),
            &key,
            None,
        ),
    );
    let errors = common::prepare(&gateway, &changed).expect_err("unreadable new path");
    assert_eq!(errors.errors[0].path, "listeners[0].tls.certFile");
    let readable = config(
        "127.0.0.1:9",
        "",
        &tls_listener(&moved.display().to_string(), &key, None),
    );
    common::prepare(&gateway, &readable).expect("a readable new path builds");
}
