//! Configurations that validate but cannot be built (a secret that cannot be read, an inline
//! key that does not parse, a certificate that cannot be loaded) are refused the same way
//! everywhere: `portcullis validate` and `portcullis serve` exit 1 naming the field, and a
//! reload is refused with the same words while the running configuration keeps serving.

use std::path::Path;
use std::time::Duration;

use crate::harness::{self, GatewayProcess};
use crate::upstream;

const REFUSED: &str = "reload refused; the previous configuration keeps serving";

struct Case {
    name: &'static str,
    /// The field the one error names.
    path: &'static str,
    /// What its message must say (the value).
    says: String,
}

/// Turns `base` (a valid file from `harness::config_yaml`) into a case's configuration.
type Transform = Box<dyn Fn(&str) -> String>;

/// Each case with the change that makes a valid file unbuildable.
fn cases(dir: &Path) -> Vec<(Case, Transform)> {
    let absent_secret = dir.join("absent-secret").display().to_string();
    let absent_cert = dir.join("absent-cert.pem").display().to_string();
    let absent_key = dir.join("absent-key.pem").display().to_string();
    let authentication = |section: String| -> Transform {
        Box::new(move |base: &str| {
            base.replacen("services:\n", &format!("{section}services:\n"), 1)
        })
    };
    vec![
        (
            Case {
                name: "missing environment secret",
                path: "authentication.signatures.keys[0].secret",
                says: "PORTCULLIS_E2E_PARTNER_SECRET_UNSET".into(),
            },
            authentication(
                "authentication:\n  signatures:\n    keys:\n      - keyId: partner\n        algorithm: hmac-sha256\n        secret: env:PORTCULLIS_E2E_PARTNER_SECRET_UNSET\n        subject: acme\n".into(),
            ),
        ),
        (
            Case {
                name: "unreadable secret file",
                path: "authentication.introspection.clientSecret",
                says: absent_secret.clone(),
            },
            authentication(format!(
                "authentication:\n  introspection:\n    endpoint: https://auth.example.com/introspect\n    clientId: gateway\n    clientSecret: file:{absent_secret}\n"
            )),
        ),
        (
            Case {
                name: "inline JWK that does not parse",
                path: "authentication.jwt.issuers[0].jwks.keys[0]",
                says: "RSA".into(),
            },
            authentication(
                "authentication:\n  jwt:\n    issuers:\n      - issuer: https://issuer.test\n        jwks: {\"keys\": [{\"kty\": \"RSA\", \"n\": \"%%%\", \"e\": \"AQAB\"}]}\n".into(),
            ),
        ),
        (
            Case {
                name: "unreadable certificate on a listener",
                path: "listeners[0].tls.certFile",
                says: absent_cert.clone(),
            },
            Box::new(move |base: &str| {
                base.replacen(
                    "    address: 127.0.0.1:0\n",
                    &format!("    address: 127.0.0.1:0\n    tls:\n      certFile: {absent_cert}\n      keyFile: {absent_key}\n"),
                    1,
                )
            }),
        ),
    ]
}

/// `portcullis validate FILE`: the one error line it prints for `case` (checked to name the
/// field and the value), after checking it exits 1.
fn validate_error_line(file: &Path, case: &Case) -> String {
    let (exit, stdout, stderr) =
        harness::run_to_end(&["validate", file.to_str().expect("utf-8 path")]);
    assert_eq!(exit.code(), Some(1), "{}: {stdout}\n{stderr}", case.name);
    assert!(
        stderr.contains("(1 error)"),
        "{}: one error expected:\n{stderr}",
        case.name
    );
    let line = stderr
        .lines()
        .find(|line| line.starts_with(case.path))
        .unwrap_or_else(|| panic!("{}: no {} in:\n{stderr}", case.name, case.path));
    assert!(line.contains(&case.says), "{}: {line}", case.name);
    line.to_string()
}

#[test]
fn validate_and_serve_refuse_what_cannot_be_built_naming_the_field() {
    let dir = harness::temp_dir();
    let upstream: std::net::SocketAddr = "127.0.0.1:9".parse().expect("addr");
    let base = harness::config_yaml(
        &[("/alpha", "alpha", upstream)],
        &dir.path().join("access.log"),
        "",
    );
    for (case, build) in cases(dir.path()) {
        let path = dir.path().join("unbuildable.yaml");
        std::fs::write(&path, build(&base)).expect("write config");
        let line = validate_error_line(&path, &case);

        let (exit, _, stderr) =
            harness::run_to_end(&["serve", "--config", path.to_str().expect("utf-8 path")]);
        assert_eq!(exit.code(), Some(1), "{}: {stderr}", case.name);
        assert!(
            stderr.contains(&line),
            "{}: serve says what validate says ({line}):\n{stderr}",
            case.name
        );
        assert!(
            !stderr.contains("listening name="),
            "{}: must not bind: {stderr}",
            case.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_cannot_be_built_is_refused_and_the_old_config_keeps_serving() {
    let dir = harness::temp_dir();
    let alpha = upstream::named("alpha").await;
    let base = harness::config_yaml(
        &[("/svc", "alpha", alpha.addr())],
        &dir.path().join("access.log"),
        "",
    );
    let path = harness::config_path(dir.path());
    std::fs::write(&path, &base).expect("write config");
    let gateway = tokio::task::block_in_place(|| GatewayProcess::serve(&path, &[]));
    let client = harness::client();

    let cases = cases(dir.path());
    for (refused, (case, build)) in cases.iter().enumerate() {
        harness::write_atomically(&path, &build(&base));
        let wanted = refused + 1;
        harness::eventually(Duration::from_secs(20), case.name, || {
            let seen = gateway.count_lines(REFUSED);
            async move { seen == wanted }
        })
        .await;
        let line = tokio::task::block_in_place(|| validate_error_line(&path, case));
        assert!(
            gateway
                .lines()
                .iter()
                .any(|logged| logged.contains(&format!("reload refused: {line}"))),
            "{}: the reload names the error as validate does ({line}):\n{}",
            case.name,
            gateway.lines().join("\n")
        );
        let (status, _, body) = harness::get(&client, gateway.listener, "/svc/item").await;
        assert_eq!((status, body.as_str()), (200, "alpha"), "{}", case.name);
        assert_eq!(
            harness::config_version(&client, gateway.admin).await["configVersion"],
            1,
            "{}: the first configuration still serves",
            case.name
        );
    }
    let metrics = harness::metrics(&client, gateway.admin).await;
    assert_eq!(
        harness::metric_sum(
            &metrics,
            "portcullis_config_loads_total",
            &["result=\"failure\""]
        ),
        cases.len() as f64,
        "{metrics}"
    );
    // A buildable file is taken again afterwards.
    harness::write_atomically(&path, &base.replace("timeoutMs: 20000", "timeoutMs: 19000"));
    harness::eventually(Duration::from_secs(20), "the good file", || {
        let client = client.clone();
        let admin = gateway.admin;
        async move { harness::config_version(&client, admin).await["configVersion"] == 2 }
    })
    .await;
}
