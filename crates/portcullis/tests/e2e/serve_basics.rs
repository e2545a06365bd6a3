use std::time::Duration;

use crate::harness::{self, GatewayProcess};
use crate::upstream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_routes_and_answers_on_the_admin_listener() {
    let dir = harness::temp_dir();
    let alpha = upstream::named("alpha").await;
    let path = harness::config_path(dir.path());
    let yaml = harness::config_yaml(
        &[("/alpha", "alpha", alpha.addr())],
        &dir.path().join("access.log"),
        "",
    );
    std::fs::write(&path, &yaml).expect("write config");
    let gateway = tokio::task::block_in_place(|| GatewayProcess::serve(&path, &[]));
    let client = harness::client();

    let (status, _, body) = harness::get(&client, gateway.admin, "/healthz").await;
    assert_eq!((status, body.trim()), (200, "ok"));
    let (status, _, _) = harness::get(&client, gateway.admin, "/readyz").await;
    assert_eq!(status, 200);

    for _ in 0..3 {
        let (status, headers, body) =
            harness::get(&client, gateway.listener, "/alpha/items/1").await;
        assert_eq!((status, body.as_str()), (200, "alpha"));
        assert!(
            headers.contains_key("x-request-id"),
            "x-request-id returned to the client"
        );
    }
    let (status, _, _) = harness::get(&client, gateway.listener, "/missing").await;
    assert_eq!(status, 404);

    let version = harness::config_version(&client, gateway.admin).await;
    assert_eq!(version["configVersion"], 1, "{version}");
    let checksum = version["checksum"].as_str().expect("checksum string");
    assert!(
        checksum.starts_with("sha256:") && checksum.len() == 7 + 64,
        "{checksum}"
    );
    let loaded_at = version["loadedAt"].as_str().expect("loadedAt string");
    assert!(
        loaded_at.ends_with('Z') && loaded_at.contains('T'),
        "{loaded_at}"
    );

    // The validate command computes the same identity as the running gateway.
    let (exit, stdout, _) = harness::run_to_end(&["validate", path.to_str().expect("utf-8 path")]);
    assert!(exit.success());
    assert!(
        stdout.contains(checksum),
        "validate printed {stdout:?}, gateway reports {checksum}"
    );

    let metrics = harness::metrics(&client, gateway.admin).await;
    let routed = harness::metric_sum(
        &metrics,
        "portcullis_requests_total",
        &["route=\"alpha\"", "status=\"200\"", "method=\"GET\""],
    );
    assert_eq!(routed, 3.0, "requests by route in:\n{metrics}");
    let info_line = metrics
        .lines()
        .find(|line| line.starts_with("portcullis_config_info{"))
        .unwrap_or_else(|| panic!("config_info in:\n{metrics}"));
    assert!(
        info_line.contains("version=\"1\"") && info_line.contains(checksum),
        "{info_line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_version_is_reported_as_the_config_version() {
    let dir = harness::temp_dir();
    let alpha = upstream::named("alpha").await;
    let path = harness::config_path(dir.path());
    let yaml = harness::config_yaml(
        &[("/alpha", "alpha", alpha.addr())],
        &dir.path().join("access.log"),
        "version: 42\n",
    );
    std::fs::write(&path, &yaml).expect("write config");
    let gateway = tokio::task::block_in_place(|| GatewayProcess::serve(&path, &[]));
    let client = harness::client();
    let version = harness::config_version(&client, gateway.admin).await;
    assert_eq!(version["configVersion"], 42, "{version}");
    let (status, _, body) = harness::get(&client, gateway.listener, "/alpha").await;
    assert_eq!((status, body.as_str()), (200, "alpha"));
    drop(gateway);
    tokio::time::sleep(Duration::from_millis(1)).await;
}
