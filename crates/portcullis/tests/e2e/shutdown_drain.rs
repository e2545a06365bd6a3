use std::time::{Duration, Instant};

use crate::harness::{self, GatewayProcess};
use crate::upstream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_request_finish_then_exits_zero() {
    let dir = harness::temp_dir();
    let alpha = upstream::slow("alpha", Duration::from_millis(1500)).await;
    let path = harness::config_path(dir.path());
    std::fs::write(
        &path,
        harness::config_yaml(
            &[("/alpha", "alpha", alpha.addr())],
            &dir.path().join("access.log"),
            "",
        ),
    )
    .expect("write config");
    let mut gateway =
        tokio::task::block_in_place(|| GatewayProcess::serve(&path, &["--drain-seconds", "10"]));
    let listener = gateway.listener;
    let slow = tokio::spawn(async move {
        let client = harness::client();
        harness::get(&client, listener, "/alpha/slow").await
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let signalled = Instant::now();
    gateway.signal("TERM");

    let (status, _, body) = slow.await.expect("slow request task");
    assert_eq!((status, body.as_str()), (200, "alpha slow done"));
    let exit = tokio::task::block_in_place(|| gateway.wait_exit(Duration::from_secs(10)));
    assert_eq!(exit.code(), Some(0));
    let took = signalled.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "exited after {took:?}, before the request finished"
    );
    assert!(took < Duration::from_secs(10), "exited after {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drain_deadline_bounds_the_shutdown() {
    let dir = harness::temp_dir();
    let alpha = upstream::slow("alpha", Duration::from_secs(15)).await;
    let path = harness::config_path(dir.path());
    std::fs::write(
        &path,
        harness::config_yaml(
            &[("/alpha", "alpha", alpha.addr())],
            &dir.path().join("access.log"),
            "",
        ),
    )
    .expect("write config");
    let mut gateway =
        tokio::task::block_in_place(|| GatewayProcess::serve(&path, &["--drain-seconds", "1"]));
    let listener = gateway.listener;
    let stuck = tokio::spawn(async move {
        let client = harness::client();
        let request = hyper::Request::get(format!("http://{listener}/alpha/slow"))
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .expect("request");
        client
            .request(request)
            .await
            .map(|response| response.status())
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    let signalled = Instant::now();
    gateway.signal("TERM");
    let exit = tokio::task::block_in_place(|| gateway.wait_exit(Duration::from_secs(6)));
    let took = signalled.elapsed();
    assert_eq!(exit.code(), Some(0));
    assert!(took < Duration::from_secs(4), "drain of 1 s took {took:?}");
    let outcome = stuck.await.expect("stuck request task");
    assert!(
        outcome.map(|status| status != 200).unwrap_or(true),
        "the cut request cannot have succeeded"
    );
}
