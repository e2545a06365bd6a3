//! Endpoint choice across real upstreams: least-request (power of two choices) spreads
//! load and avoids a busy endpoint; round robin cycles; outstanding counts are released.

mod upstream_support;

use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use portcullis_testkit::MockUpstream;
use upstream_support::{get, Fixture};

#[tokio::test]
async fn least_request_spreads_sequential_load_over_three_endpoints() {
    let upstreams = [
        MockUpstream::echo().await,
        MockUpstream::echo().await,
        MockUpstream::echo().await,
    ];
    let endpoints: Vec<String> = upstreams.iter().map(MockUpstream::endpoint).collect();
    let fixture = Fixture::new(&endpoints, &[]);
    for _ in 0..300 {
        fixture.get("/").await.expect("forwarded");
    }
    let counts: Vec<usize> = upstreams.iter().map(MockUpstream::requests).collect();
    assert_eq!(counts.iter().sum::<usize>(), 300);
    for count in &counts {
        assert!(*count > 50, "uneven spread: {counts:?}");
    }
}

#[tokio::test]
async fn least_request_avoids_an_endpoint_with_requests_open() {
    let busy = MockUpstream::builder().hold().start().await;
    let fast = [MockUpstream::echo().await, MockUpstream::echo().await];
    let endpoints = vec![busy.endpoint(), fast[0].endpoint(), fast[1].endpoint()];
    let fixture = Arc::new(Fixture::new(&endpoints, &[]));

    // Send requests one after another. Once one hangs on the busy endpoint, its count stays
    // at 1 while the others drop back to 0, and any pair of two distinct endpoints contains
    // a less loaded one than the busy endpoint: it must never be chosen again.
    let mut held = Vec::new();
    for _ in 0..40 {
        let task = {
            let fixture = fixture.clone();
            tokio::spawn(async move { fixture.get("/").await })
        };
        let busy_before = held.len();
        loop {
            if task.is_finished() {
                task.await.expect("task").expect("fast endpoint answered");
                break;
            }
            if busy.requests() > busy_before {
                held.push(task);
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    assert!(
        busy.requests() <= 1,
        "busy endpoint chosen again: {}",
        busy.requests()
    );
    let fast_counts = [fast[0].requests(), fast[1].requests()];
    assert_eq!(busy.requests() + fast_counts[0] + fast_counts[1], 40);
    assert!(fast_counts[0] > 0 && fast_counts[1] > 0, "{fast_counts:?}");

    let loads = fixture
        .upstreams
        .endpoint_loads("svc/default")
        .expect("pool");
    let busy_load = loads
        .iter()
        .find(|(authority, _)| **authority == *busy.endpoint());
    assert_eq!(busy_load.map(|(_, load)| *load), Some(held.len() as u32));

    busy.release();
    for task in held {
        task.await.expect("task").expect("held request answered");
    }
    let loads = fixture
        .upstreams
        .endpoint_loads("svc/default")
        .expect("pool");
    assert!(loads.iter().all(|(_, load)| *load == 0), "{loads:?}");
}

#[tokio::test]
async fn round_robin_cycles_through_endpoints() {
    let upstreams = [
        MockUpstream::echo().await,
        MockUpstream::echo().await,
        MockUpstream::echo().await,
    ];
    let endpoints: Vec<String> = upstreams.iter().map(MockUpstream::endpoint).collect();
    let fixture = Fixture::new(&endpoints, &["balancing: roundRobin"]);
    for _ in 0..9 {
        fixture.get("/").await.expect("forwarded");
    }
    let counts: Vec<usize> = upstreams.iter().map(MockUpstream::requests).collect();
    assert_eq!(counts, vec![3, 3, 3]);
}

#[tokio::test]
async fn forward_streaming_keeps_the_endpoint_busy_until_the_body_ends() {
    let upstream = MockUpstream::builder()
        .stream_bytes(4 * 1024 * 1024)
        .start()
        .await;
    let fixture = Fixture::new(&[upstream.endpoint()], &[]);
    let load = || {
        fixture
            .upstreams
            .endpoint_loads("svc/default")
            .expect("pool")[0]
            .1
    };

    let response = fixture
        .upstreams
        .forward_streaming(fixture.upstream(), fixture.target(), get("/big"))
        .await
        .expect("forwarded");
    assert_eq!(load(), 1, "busy while the body is unread");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(body.len(), 4 * 1024 * 1024);
    assert_eq!(load(), 0, "released at the end of the body");

    let response = fixture
        .upstreams
        .forward_streaming(fixture.upstream(), fixture.target(), get("/dropped"))
        .await
        .expect("forwarded");
    drop(response);
    assert_eq!(load(), 0, "released when the body is dropped");

    let response = fixture
        .forward(get("/headers-only"))
        .await
        .expect("forwarded");
    assert_eq!(load(), 0, "forward releases at the response headers");
    drop(response);
}
