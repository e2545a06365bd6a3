//! Connection pools: keep-alive reuse, and state kept, updated or dropped by `sync`.

mod upstream_support;

use portcullis_proxy::upstream::Upstreams;
use portcullis_telemetry::metrics::Metrics;
use portcullis_testkit::MockUpstream;
use upstream_support::{compile, config_yaml, Fixture};

#[tokio::test]
async fn sequential_requests_reuse_one_connection() {
    let upstream = MockUpstream::echo().await;
    let fixture = Fixture::new(&[upstream.endpoint()], &[]);
    for _ in 0..100 {
        let (status, _) = fixture.get("/").await.expect("forwarded");
        assert_eq!(status, 200);
    }
    assert_eq!(upstream.requests(), 100);
    assert_eq!(upstream.connections(), 1);
}

#[tokio::test]
async fn the_pool_survives_a_sync_with_the_same_key() {
    let upstream = MockUpstream::echo().await;
    let yaml = config_yaml(&[upstream.endpoint()], &[]);
    let upstreams = Upstreams::new(Metrics::new());
    let first = compile(&yaml);
    upstreams.sync(&first);
    let route = &first.routes()[0];
    upstreams
        .forward(
            &route.upstream,
            &route.upstream.targets[0],
            upstream_support::get("/"),
        )
        .await
        .expect("forwarded");

    let second = compile(&yaml);
    upstreams.sync(&second);
    let route = &second.routes()[0];
    upstreams
        .forward(
            &route.upstream,
            &route.upstream.targets[0],
            upstream_support::get("/"),
        )
        .await
        .expect("forwarded after the swap");
    assert_eq!(upstream.requests(), 2);
    assert_eq!(
        upstream.connections(),
        1,
        "the idle connection was kept across the swap"
    );
}

#[tokio::test]
async fn a_sync_updates_endpoints_in_place_and_drops_unused_keys() {
    let old = MockUpstream::echo().await;
    let new = MockUpstream::echo().await;
    let fixture = Fixture::new(&[old.endpoint()], &[]);
    fixture.get("/").await.expect("forwarded");
    assert_eq!(
        fixture.upstreams.pool_keys(),
        vec![std::sync::Arc::<str>::from("svc/default")]
    );

    let moved = compile(&config_yaml(&[new.endpoint()], &[]));
    fixture.upstreams.sync(&moved);
    let route = &moved.routes()[0];
    fixture
        .upstreams
        .forward(
            &route.upstream,
            &route.upstream.targets[0],
            upstream_support::get("/"),
        )
        .await
        .expect("forwarded to the new endpoint");
    assert_eq!((old.requests(), new.requests()), (1, 1));
    let loads = fixture
        .upstreams
        .endpoint_loads("svc/default")
        .expect("pool");
    assert_eq!(loads.len(), 1);
    assert_eq!(&*loads[0].0, new.endpoint());

    let renamed = compile(&config_yaml(&[new.endpoint()], &[]).replace("svc", "other"));
    fixture.upstreams.sync(&renamed);
    assert_eq!(
        fixture.upstreams.pool_keys(),
        vec![std::sync::Arc::<str>::from("other/default")]
    );
    assert!(fixture.upstreams.endpoint_loads("svc/default").is_none());
}

#[tokio::test]
async fn a_request_from_a_replaced_snapshot_is_still_served() {
    let upstream = MockUpstream::echo().await;
    let fixture = Fixture::new(&[upstream.endpoint()], &[]);
    // Another config replaces the service while a request of the first one is in flight.
    let other = MockUpstream::echo().await;
    let renamed = compile(&config_yaml(&[other.endpoint()], &[]).replace("svc", "other"));
    fixture.upstreams.sync(&renamed);
    let (status, _) = fixture
        .get("/late")
        .await
        .expect("served on the old target");
    assert_eq!(status, 200);
    assert_eq!(upstream.requests(), 1);
}
