//! `portcullis example-upstreams`: the quickstart's example upstreams alone, each answering
//! JSON that names it, one `example upstreams listening` line, exit 0 on SIGTERM; a taken
//! address fails at once naming it and the flag that moves it. (Free ports here: the fixed
//! defaults are exercised by the walkthrough.)

use std::time::Duration;

use crate::harness::{self, GatewayProcess};

const FREE: &str = "127.0.0.1:0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_upstreams_answer_naming_themselves_until_sigterm() {
    let args = [
        "example-upstreams",
        "--orders-stable",
        FREE,
        "--orders-canary",
        FREE,
        "--users",
        FREE,
    ];
    let (mut process, line) = tokio::task::block_in_place(|| {
        let mut process = GatewayProcess::spawn_with(&args, &[], "example-upstreams");
        let line = process.wait_for_line("example upstreams listening", Duration::from_secs(20));
        (process, line)
    });
    let client = harness::client();
    for (flag, service, version) in [
        ("orders-stable=", "orders", "stable"),
        ("orders-canary=", "orders", "canary"),
        ("users=", "users", "default"),
    ] {
        let addr = harness::parse_addr(&line, flag);
        let (status, _, body) = harness::get(&client, addr, "/v1/anything?x=1").await;
        assert_eq!(status, 200, "{flag}: {body}");
        let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(
            (&answer["service"], &answer["version"], &answer["path"]),
            (
                &serde_json::json!(service),
                &serde_json::json!(version),
                &serde_json::json!("/v1/anything?x=1")
            )
        );
    }
    process.signal("TERM");
    let status = tokio::task::block_in_place(|| process.wait_exit(Duration::from_secs(10)));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_taken_address_is_named_with_the_flag_that_moves_it() {
    let taken = std::net::TcpListener::bind(FREE).expect("bind");
    let address = taken.local_addr().expect("address").to_string();
    let (exit, _, stderr) = harness::run_to_end(&[
        "example-upstreams",
        "--orders-stable",
        FREE,
        "--orders-canary",
        &address,
        "--users",
        FREE,
    ]);
    assert_eq!(exit.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("orders (canary) upstream on {address}"))
            && stderr.contains("--orders-canary IP:PORT"),
        "{stderr}"
    );
}
