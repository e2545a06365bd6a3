//! JWKS over real sockets: rotation, the unknown-`kid` cooldown, `Cache-Control: max-age`,
//! and an endpoint outage (last keys kept up to the max-stale age).

use std::time::Duration;

use crate::common;
use crate::support::*;
use jsonwebtoken::Algorithm;
use portcullis_testkit::jwks::JwksServer;
use portcullis_testkit::MockUpstream;
use serde_json::json;

const REQUIRED_JWT: &str = "      auth: required\n      authMethods: [jwt]";

async fn gateway_for(
    jwks: &JwksServer,
    upstream: &MockUpstream,
    issuer_extra: &str,
) -> common::TestGateway {
    // Token cache off: every request exercises the current key set.
    let authentication = format!(
        "{}    tokenCacheSize: 0\n",
        jwt_authentication(&jwks.uri(), issuer_extra)
    );
    common::start(&config(
        &upstream.endpoint(),
        &authentication,
        REQUIRED_JWT,
        "",
    ))
    .await
}

async fn call(gateway: &common::TestGateway, token: &str) -> u16 {
    common::get(
        gateway.addr,
        "api.test",
        "/",
        &[("authorization", &bearer(token))],
    )
    .await
    .status()
    .as_u16()
}

fn rotated_token() -> String {
    sign_raw(
        &json!({"alg": "RS256", "kid": "rsa-2"}),
        &good_claims(),
        &other_rsa_key(),
        Algorithm::RS256,
    )
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_on_its_first_unknown_kid() {
    let jwks = JwksServer::start(&jwks()).await;
    let upstream = MockUpstream::echo().await;
    let gateway = gateway_for(&jwks, &upstream, "").await;
    assert_eq!(
        call(&gateway, &token(Algorithm::RS256, "rsa-1", &good_claims())).await,
        200
    );
    assert_eq!(jwks.hits(), 1);

    jwks.set_keys(&rotated_jwks());
    assert_eq!(
        call(&gateway, &rotated_token()).await,
        200,
        "new kid fetched"
    );
    assert_eq!(jwks.hits(), 2);
    assert_eq!(call(&gateway, &rotated_token()).await, 200);
    assert_eq!(jwks.hits(), 2, "known now: no further fetch");
    // The retired key is gone with the new set.
    assert_eq!(
        call(&gateway, &token(Algorithm::RS256, "rsa-1", &good_claims())).await,
        401
    );
    gateway.stop().await;
}

#[tokio::test]
async fn an_unknown_kid_storm_causes_one_fetch_per_cooldown() {
    let jwks = JwksServer::start(&jwks()).await;
    let upstream = MockUpstream::echo().await;
    let gateway = gateway_for(&jwks, &upstream, "        unknownKidCooldownSeconds: 2\n").await;
    assert_eq!(
        call(&gateway, &token(Algorithm::ES256, "ec-1", &good_claims())).await,
        200
    );
    assert_eq!(jwks.hits(), 1);

    let storm = (0..24).map(|index| {
        let token = token(
            Algorithm::RS256,
            &format!("unknown-{index}"),
            &good_claims(),
        );
        let gateway = &gateway;
        async move { call(gateway, &token).await }
    });
    let statuses = futures_util::future::join_all(storm).await;
    assert!(statuses.iter().all(|status| *status == 401), "{statuses:?}");
    assert_eq!(jwks.hits(), 2, "one refresh for the whole storm");
    for index in 0..5 {
        let token = token(Algorithm::RS256, &format!("later-{index}"), &good_claims());
        assert_eq!(call(&gateway, &token).await, 401);
    }
    assert_eq!(jwks.hits(), 2, "unknown kids fail fast during the cooldown");
    assert_eq!(upstream.requests(), 1);

    // After the cooldown, one more refresh is allowed.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let token = token(Algorithm::RS256, "after-cooldown", &good_claims());
    assert_eq!(call(&gateway, &token).await, 401);
    assert_eq!(jwks.hits(), 3);
    gateway.stop().await;
}

#[tokio::test]
async fn cache_control_max_age_schedules_background_refreshes() {
    let jwks = JwksServer::start(&jwks()).await;
    jwks.set_cache_control(Some("public, max-age=1"));
    let upstream = MockUpstream::echo().await;
    let gateway = gateway_for(&jwks, &upstream, "        jwksRefreshMinSeconds: 1\n").await;
    assert_eq!(
        call(&gateway, &token(Algorithm::ES256, "ec-1", &good_claims())).await,
        200
    );
    // Rotate without any request asking for it: the refresher picks it up by itself.
    jwks.set_keys(&rotated_jwks());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(jwks.hits() >= 2, "{} fetches", jwks.hits());
    let hits = jwks.hits();
    assert_eq!(call(&gateway, &rotated_token()).await, 200);
    assert_eq!(jwks.hits(), hits, "the new key was already there");
    gateway.stop().await;
}

#[tokio::test]
async fn without_max_age_the_upper_bound_applies() {
    let jwks = JwksServer::start(&jwks()).await;
    let upstream = MockUpstream::echo().await;
    let gateway = gateway_for(&jwks, &upstream, "        jwksRefreshMinSeconds: 1\n").await;
    assert_eq!(
        call(&gateway, &token(Algorithm::ES256, "ec-1", &good_claims())).await,
        200
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        jwks.hits(),
        1,
        "next refresh after jwksRefreshMaxSeconds (3600 s)"
    );
    gateway.stop().await;
}

#[tokio::test]
async fn while_the_endpoint_is_down_the_last_keys_serve_until_max_stale() {
    let jwks = JwksServer::start(&jwks()).await;
    let upstream = MockUpstream::echo().await;
    let gateway = gateway_for(
        &jwks,
        &upstream,
        "        jwksRefreshMinSeconds: 1\n        jwksRefreshMaxSeconds: 1\n        maxStaleSeconds: 3\n",
    )
    .await;
    let good = token(Algorithm::ES256, "ec-1", &good_claims());
    assert_eq!(call(&gateway, &good).await, 200);
    jwks.set_down(true);
    // Refreshes fail from now on; the cached keys keep working.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(call(&gateway, &good).await, 200, "stale keys still in use");
    assert_eq!(jwks.hits(), 1, "nothing served while down");
    // Past maxStaleSeconds the keys are dropped: fail closed.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert_eq!(call(&gateway, &good).await, 401);
    // Back up: keys return (an unknown kid may refresh once the cooldown allows).
    jwks.set_down(false);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(call(&gateway, &good).await, 200);
    gateway.stop().await;
}
