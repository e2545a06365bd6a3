use std::time::Duration;

use crate::harness::{self, GatewayProcess};
use crate::upstream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_json_line_per_request_including_rejected_ones() {
    let dir = harness::temp_dir();
    let alpha = upstream::named("alpha").await;
    let path = harness::config_path(dir.path());
    let log_path = dir.path().join("access.log");
    std::fs::write(
        &path,
        harness::config_yaml(&[("/alpha", "alpha", alpha.addr())], &log_path, ""),
    )
    .expect("write config");
    let mut gateway = tokio::task::block_in_place(|| GatewayProcess::serve(&path, &[]));
    let client = harness::client();
    for _ in 0..3 {
        assert_eq!(
            harness::get(&client, gateway.listener, "/alpha/x").await.0,
            200
        );
    }
    for _ in 0..2 {
        assert_eq!(
            harness::get(&client, gateway.listener, "/missing").await.0,
            404
        );
    }
    // A graceful stop flushes the writer's queue.
    gateway.signal("TERM");
    let exit = tokio::task::block_in_place(|| gateway.wait_exit(Duration::from_secs(10)));
    assert!(exit.success());

    let text = std::fs::read_to_string(&log_path).expect("access log file");
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect();
    assert_eq!(records.len(), 5, "{text}");
    let routed: Vec<_> = records
        .iter()
        .filter(|record| record["status"] == 200)
        .collect();
    let rejected: Vec<_> = records
        .iter()
        .filter(|record| record["status"] == 404)
        .collect();
    assert_eq!((routed.len(), rejected.len()), (3, 2), "{text}");
    for record in &routed {
        assert_eq!(record["route"], "alpha", "{record}");
        assert_eq!(record["configVersion"], 1, "{record}");
        assert_eq!(record["method"], "GET", "{record}");
        assert_eq!(record["path"], "/alpha/x", "{record}");
        assert_eq!(record["upstream"], "alpha", "{record}");
        assert!(
            record["requestId"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "{record}"
        );
    }
    for record in &rejected {
        assert!(record["route"].is_null(), "{record}");
        assert_eq!(record["configVersion"], 1, "{record}");
        assert_eq!(record["path"], "/missing", "{record}");
    }
}
