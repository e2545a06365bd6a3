use std::time::Duration;

use crate::harness::{self, GatewayProcess};

const BAD_CONFIG: &str = r#"listeners:
  - name: default
    address: 127.0.0.1:0
admin:
  address: 127.0.0.1:0
services:
  alpha:
    visibility: public
    endpoints: ["127.0.0.1:9"]
routes:
  - name: Bad_Name
    match:
      pathPrefix: /alpha
    upstream:
      service: alpha
    policies:
      auth: none
      timeoutMs: 45000
      retries: 5
  - name: second
    match:
      pathPrefix: /second
    upstream:
      service: nowhere
    policies:
      auth: none
"#;

const EXPECTED_PATHS: [&str; 4] = [
    "routes[0].name",
    "routes[0].policies.timeoutMs",
    "routes[0].policies.retries",
    "routes[1].upstream.service",
];

fn write(dir: &std::path::Path, name: &str, contents: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write config");
    path
}

#[test]
fn validate_accepts_a_good_file() {
    let dir = harness::temp_dir();
    let upstream: std::net::SocketAddr = "127.0.0.1:9".parse().expect("addr");
    let yaml = harness::config_yaml(
        &[("/alpha", "alpha", upstream), ("/beta", "beta", upstream)],
        &dir.path().join("access.log"),
        "",
    );
    let path = write(dir.path(), "good.yaml", &yaml);
    let (exit, stdout, stderr) = harness::run_to_end(&["validate", path.to_str().expect("utf-8")]);
    assert_eq!(exit.code(), Some(0), "stderr: {stderr}");
    assert!(stdout.contains(": OK (checksum sha256:"), "{stdout}");
    assert!(stdout.contains("2 routes"), "{stdout}");
}

#[test]
fn validate_prints_every_error_with_path_and_position() {
    let dir = harness::temp_dir();
    let path = write(dir.path(), "bad.yaml", BAD_CONFIG);
    let (exit, stdout, stderr) = harness::run_to_end(&["validate", path.to_str().expect("utf-8")]);
    assert_eq!(exit.code(), Some(1), "stdout: {stdout}\nstderr: {stderr}");
    for field in EXPECTED_PATHS {
        let line = stderr
            .lines()
            .find(|line| line.contains(field))
            .unwrap_or_else(|| panic!("{field} missing from:\n{stderr}"));
        assert!(line.contains("line "), "no line:column for {field}: {line}");
    }
    assert!(!stdout.contains("OK"), "{stdout}");
}

#[test]
fn validate_names_an_unreadable_file() {
    let dir = harness::temp_dir();
    let missing = dir.path().join("absent.yaml");
    let (exit, _, stderr) = harness::run_to_end(&["validate", missing.to_str().expect("utf-8")]);
    assert_eq!(exit.code(), Some(1));
    assert!(stderr.contains("absent.yaml"), "{stderr}");
}

#[test]
fn serve_refuses_to_start_on_an_invalid_file() {
    let dir = harness::temp_dir();
    let path = write(dir.path(), "bad.yaml", BAD_CONFIG);
    let (exit, _, stderr) =
        harness::run_to_end(&["serve", "--config", path.to_str().expect("utf-8")]);
    assert_eq!(exit.code(), Some(1), "{stderr}");
    for field in EXPECTED_PATHS {
        assert!(stderr.contains(field), "{field} missing from:\n{stderr}");
    }
    assert!(
        !stderr.contains("listening name="),
        "must not bind: {stderr}"
    );
}

#[test]
fn version_prints_the_package_version() {
    let (exit, stdout, _) = harness::run_to_end(&["version"]);
    assert!(exit.success());
    assert_eq!(
        stdout.trim(),
        format!("portcullis {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn quickstart_example_validates() {
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/quickstart.yaml"
    );
    let (exit, stdout, stderr) = harness::run_to_end(&["validate", example]);
    assert_eq!(exit.code(), Some(0), "{stderr}");
    assert!(stdout.contains("2 routes"), "{stdout}");
}

#[test]
fn quickstart_serves_the_example_with_builtin_upstreams() {
    // The example upstreams use fixed ports; the gateway and admin take free ones.
    let _ports = harness::lock_quickstart_ports();
    let mut process = GatewayProcess::spawn_args(&[
        "quickstart",
        "--listen",
        "127.0.0.1:0",
        "--admin",
        "127.0.0.1:0",
    ]);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let client = harness::client();
        let (status, _, body) = harness::get(&client, process.listener, "/v1/users/42").await;
        assert_eq!(status, 200, "{body}");
        let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON from users");
        assert_eq!(answer["service"], "users");
        let (status, headers, _) =
            harness::request(&client, "DELETE", process.listener, "/v1/users/42").await;
        assert_eq!(status, 405);
        assert_eq!(
            headers.get("allow").and_then(|v| v.to_str().ok()),
            Some("GET")
        );
        let (status, _, _) = harness::get(&client, process.listener, "/nowhere").await;
        assert_eq!(status, 404);
    });
    let curl_lines = process.count_lines("curl ");
    assert!(
        curl_lines >= 6,
        "printed curl lines:\n{}",
        process.lines().join("\n")
    );
    process.signal("INT");
    assert!(process.wait_exit(Duration::from_secs(10)).success());
}
