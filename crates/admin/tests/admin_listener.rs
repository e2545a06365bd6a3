//! The admin listener over a real socket, before and after a snapshot is installed.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use portcullis_proxy::{Gateway, SnapshotMeta};
use portcullis_telemetry::access_log::AccessLog;
use portcullis_telemetry::metrics::Metrics;

const CONFIG: &str = r#"
services:
  alpha:
    visibility: public
    endpoints: ["127.0.0.1:9"]
routes:
  - name: alpha
    match: { pathPrefix: /alpha }
    upstream: { service: alpha }
    policies: { auth: none }
"#;

async fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let uri = format!("http://{addr}{path}").parse().expect("uri");
    let response = client.get(uri).await.expect("admin response");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        content_type,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test]
async fn answers_health_readiness_version_and_metrics() {
    let gateway = Gateway::new(Metrics::new(), AccessLog::disabled());
    let admin = portcullis_admin::bind(gateway.clone(), "127.0.0.1:0")
        .await
        .expect("bind admin");
    let addr = admin.local_addr();
    assert_ne!(addr.port(), 0);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(admin.run(async move {
        let _ = stopped.await;
    }));

    // Before any snapshot: alive, not ready, no version.
    assert_eq!(get(addr, "/healthz").await.0, 200);
    let (status, content_type, body) = get(addr, "/readyz").await;
    assert_eq!(
        (status, content_type.as_str()),
        (503, "application/problem+json"),
        "{body}"
    );
    let (status, content_type, body) = get(addr, "/admin/config-version").await;
    assert_eq!(
        (status, content_type.as_str()),
        (503, "application/problem+json")
    );
    let problem: serde_json::Value = serde_json::from_str(&body).expect("problem JSON");
    assert_eq!(problem["code"], "not_ready");

    let validated =
        portcullis_config::load_str(CONFIG, portcullis_config::Format::Yaml).expect("valid config");
    let loaded_at = time::macros::datetime!(2025-06-01 10:20:30.456 UTC);
    let meta = SnapshotMeta {
        config_version: 7,
        loaded_at,
    };
    let prepared = gateway.prepare(validated.clone(), meta).expect("builds");
    gateway.install(prepared);

    assert_eq!(get(addr, "/readyz").await.0, 200);
    let (status, content_type, body) = get(addr, "/admin/config-version").await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let version: serde_json::Value = serde_json::from_str(&body).expect("version JSON");
    assert_eq!(version["configVersion"], 7);
    assert_eq!(version["checksum"], validated.checksum());
    assert_eq!(version["loadedAt"], "2025-06-01T10:20:30.456Z");

    let (status, content_type, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, portcullis_admin::METRICS_CONTENT_TYPE);
    let info = body
        .lines()
        .find(|line| line.starts_with("portcullis_config_info{"))
        .unwrap_or_else(|| panic!("config info in:\n{body}"));
    assert!(
        info.contains("version=\"7\"") && info.contains(validated.checksum()),
        "{info}"
    );

    assert_eq!(get(addr, "/nothing-here").await.0, 404);
    let _ = stop.send(());
    server.await.expect("admin server task");
}

#[tokio::test]
async fn a_bad_address_is_explained() {
    let gateway = Gateway::new(Metrics::new(), AccessLog::disabled());
    let error = portcullis_admin::bind(gateway, "localhost-ish")
        .await
        .expect_err("must fail");
    let message = error.to_string();
    assert!(
        message.contains("admin.address") && message.contains("localhost-ish"),
        "{message}"
    );
}
