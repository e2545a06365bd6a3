//! Local rate limits and quotas through the gateway over real sockets: 429 with the headers,
//! nothing forwarded after a refusal, the IP key immune to spoofed `X-Forwarded-For`, the
//! tenant key immune to client-sent tenant headers in odd cases and look-alikes, pipelined HTTP/1.1 requests and concurrent HTTP/2 streams each counted, buckets kept
//! across reloads, metrics and the access log.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use common::{single_route, split_response, start, start_with};
use http_body_util::Full;
use hyper_util::rt::{TokioExecutor, TokioIo};
use portcullis_policy::apikey::hash_api_key;
use portcullis_telemetry::access_log::{AccessLog, Destination};
use portcullis_telemetry::metrics::Metrics;
use portcullis_testkit::{raw_request, raw_request_until_close, MockUpstream};

/// A route `main` on `/` with the given policy lines, plus top-level sections.
fn config(endpoint: &str, policies: &str, sections: &str) -> String {
    format!("{}{sections}", single_route(endpoint, "/", "", policies))
}

const PER_IP_3: &str =
    "rateLimits:\n  per-ip:\n    capacity: 3\n    refillPerSecond: 0.01\n    key: [clientIp]\n";

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    fn problem(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("problem+json body")
    }
}

async fn get(addr: SocketAddr, extra_headers: &str) -> Answer {
    let request = format!("GET /orders HTTP/1.1\r\nHost: api.test\r\n{extra_headers}\r\n");
    let raw = raw_request(addr, request.as_bytes()).await.expect("answer");
    let (status, headers, body) = split_response(&raw);
    Answer {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn local_limit_admits_its_capacity_then_answers_429_with_headers() {
    let upstream = MockUpstream::echo().await;
    let yaml = config(
        &upstream.endpoint(),
        "      rateLimit: per-ip\n      rateLimitHeaders: true\n",
        PER_IP_3,
    );
    let gateway = start(&yaml).await;
    for remaining in (0..3).rev() {
        let answer = get(gateway.addr, "").await;
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.header("ratelimit-policy"),
            Some("\"per-ip\";q=3;w=300")
        );
        let status = answer.header("ratelimit").expect("RateLimit on admitted");
        assert!(
            status.starts_with(&format!("\"per-ip\";r={remaining};t=")),
            "{status}"
        );
        assert_eq!(answer.header("retry-after"), None);
    }
    for _ in 0..2 {
        let refused = get(gateway.addr, "").await;
        assert_eq!(refused.status, 429);
        // One token comes back in 100 s at 0.01/s.
        assert_eq!(refused.header("retry-after"), Some("100"));
        assert_eq!(
            refused.header("ratelimit-policy"),
            Some("\"per-ip\";q=3;w=300")
        );
        assert!(refused
            .header("ratelimit")
            .expect("RateLimit on refusal")
            .starts_with("\"per-ip\";r=0;t="));
        assert_eq!(
            refused.header("content-type"),
            Some("application/problem+json")
        );
        let problem = refused.problem();
        assert_eq!(problem["status"], 429);
        assert_eq!(problem["code"], "rate_limited");
        let detail = problem["detail"].as_str().expect("detail");
        assert!(detail.contains("rate limit per-ip"), "{detail}");
        assert_eq!(
            problem["requestId"].as_str(),
            refused.header("x-request-id")
        );
    }
    assert_eq!(upstream.requests(), 3, "nothing forwarded after a refusal");
    let metrics = gateway.gateway.metrics().encode();
    assert!(
        metrics
            .contains("portcullis_rate_limit_rejections_total{route=\"main\",limit=\"per-ip\"} 2"),
        "{metrics}"
    );
    gateway.stop().await;
}

#[tokio::test]
async fn admitted_responses_carry_no_headers_unless_the_route_asks() {
    let upstream = MockUpstream::echo().await;
    let yaml = config(&upstream.endpoint(), "      rateLimit: per-ip\n", PER_IP_3);
    let gateway = start(&yaml).await;
    let answer = get(gateway.addr, "").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("ratelimit"), None);
    assert_eq!(answer.header("ratelimit-policy"), None);
    gateway.stop().await;
}

#[tokio::test]
async fn an_exhausted_quota_answers_429_naming_the_quota() {
    let upstream = MockUpstream::echo().await;
    let yaml = config(
        &upstream.endpoint(),
        "      quotas: [daily-cap]\n",
        "quotas:\n  daily-cap:\n    limit: 2\n    window: day\n    key: [clientIp]\n",
    );
    let gateway = start(&yaml).await;
    assert_eq!(get(gateway.addr, "").await.status, 200);
    assert_eq!(get(gateway.addr, "").await.status, 200);
    let refused = get(gateway.addr, "").await;
    assert_eq!(refused.status, 429);
    let detail = refused.problem()["detail"]
        .as_str()
        .expect("detail")
        .to_string();
    assert!(detail.contains("quota daily-cap"), "{detail}");
    let retry: u64 = refused
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("whole seconds");
    assert!((1..=86_400).contains(&retry), "{retry}");
    assert_eq!(
        refused.header("ratelimit-policy"),
        Some("\"daily-cap\";q=2;w=86400")
    );
    assert_eq!(upstream.requests(), 2);
    gateway.stop().await;
}

#[tokio::test]
async fn every_limit_must_admit_and_a_refusal_consumes_nothing() {
    let upstream = MockUpstream::echo().await;
    let sections = "rateLimits:\n  roomy:\n    capacity: 10\n    refillPerSecond: 0.01\n  tight:\n    capacity: 1\n    refillPerSecond: 0.01\n";
    let yaml = config(
        &upstream.endpoint(),
        "      rateLimits: [roomy, tight]\n      rateLimitHeaders: true\n",
        sections,
    );
    let gateway = start(&yaml).await;
    let first = get(gateway.addr, "").await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.header("ratelimit-policy"),
        Some("\"roomy\";q=10;w=1000, \"tight\";q=1;w=100")
    );
    for _ in 0..3 {
        let refused = get(gateway.addr, "").await;
        assert_eq!(refused.status, 429);
        assert!(refused.problem()["detail"]
            .as_str()
            .expect("detail")
            .contains("tight"));
        // `roomy` was given its token back: still 9 after every refusal.
        assert!(refused
            .header("ratelimit")
            .expect("RateLimit")
            .starts_with("\"roomy\";r=9;"));
    }
    gateway.stop().await;
}

#[tokio::test]
async fn spoofed_forwarded_for_from_an_untrusted_peer_cannot_change_the_ip_key() {
    let upstream = MockUpstream::echo().await;
    let yaml = config(&upstream.endpoint(), "      rateLimit: per-ip\n", PER_IP_3);
    // The test listener trusts no proxy, so the peer (127.0.0.1) is the client.
    let gateway = start(&yaml).await;
    let mut statuses = Vec::new();
    for index in 0..6 {
        let spoof = format!("X-Forwarded-For: 198.51.100.{index}, 203.0.113.{index}\r\n");
        statuses.push(get(gateway.addr, &spoof).await.status);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429, 429]);
    assert_eq!(upstream.requests(), 3);
    gateway.stop().await;
}

#[tokio::test]
async fn pipelined_http1_requests_are_each_counted() {
    let upstream = MockUpstream::echo().await;
    let yaml = config(&upstream.endpoint(), "      rateLimit: per-ip\n", PER_IP_3);
    let gateway = start(&yaml).await;
    let mut pipeline = Vec::new();
    for index in 0..5 {
        let close = if index == 4 {
            "Connection: close\r\n"
        } else {
            ""
        };
        pipeline.extend_from_slice(
            format!("GET /p/{index} HTTP/1.1\r\nHost: api.test\r\n{close}\r\n").as_bytes(),
        );
    }
    let raw = raw_request_until_close(gateway.addr, &pipeline, std::time::Duration::from_secs(5))
        .await
        .expect("answers");
    let text = String::from_utf8_lossy(&raw);
    let statuses: Vec<&str> = text
        .match_indices("HTTP/1.1 ")
        .map(|(at, _)| &text[at + 9..at + 12])
        .collect();
    assert_eq!(statuses, ["200", "200", "200", "429", "429"], "{text}");
    assert_eq!(upstream.requests(), 3);
    gateway.stop().await;
}

#[tokio::test]
async fn concurrent_http2_streams_are_each_counted() {
    let upstream = MockUpstream::echo().await;
    let sections =
        "rateLimits:\n  per-ip:\n    capacity: 5\n    refillPerSecond: 0.01\n    key: [clientIp]\n";
    let yaml = config(&upstream.endpoint(), "      rateLimit: per-ip\n", sections);
    let gateway = start(&yaml).await;
    let stream = tokio::net::TcpStream::connect(gateway.addr)
        .await
        .expect("connect");
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("h2 handshake");
    tokio::spawn(connection);
    let mut streams = Vec::new();
    for index in 0..12 {
        let mut sender = sender.clone();
        let uri = format!("http://api.test:{}/s/{index}", gateway.addr.port());
        streams.push(tokio::spawn(async move {
            let request = http::Request::get(uri)
                .body(Full::<Bytes>::default())
                .expect("request");
            sender
                .send_request(request)
                .await
                .expect("response")
                .status()
                .as_u16()
        }));
    }
    let mut admitted = 0;
    let mut refused = 0;
    for stream in streams {
        match stream.await.expect("stream task") {
            200 => admitted += 1,
            429 => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((admitted, refused), (5, 7));
    assert_eq!(upstream.requests(), 5);
    gateway.stop().await;
}

#[tokio::test]
async fn buckets_survive_a_reload_that_keeps_the_limit() {
    let upstream = MockUpstream::echo().await;
    let yaml = config(&upstream.endpoint(), "      rateLimit: per-ip\n", PER_IP_3);
    let gateway = start(&yaml).await;
    for _ in 0..3 {
        assert_eq!(get(gateway.addr, "").await.status, 200);
    }
    assert_eq!(get(gateway.addr, "").await.status, 429);
    // A new snapshot (another route name, same limit and store settings): still drained.
    let renamed = yaml.replace("name: main", "name: main-v2");
    common::install(&gateway.gateway, &renamed);
    assert_eq!(get(gateway.addr, "").await.status, 429);
    // Changing the local store's bound builds a new limiter: buckets start full again.
    let rebuilt = format!("{renamed}localLimits:\n  maxBuckets: 5000\n");
    common::install(&gateway.gateway, &rebuilt);
    assert_eq!(get(gateway.addr, "").await.status, 200);
    gateway.stop().await;
}

#[tokio::test]
async fn the_access_log_marks_refusals_as_rate_limited() {
    let upstream = MockUpstream::echo().await;
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("access.log");
    let (access_log, guard) =
        AccessLog::start(Destination::File(path.clone()), 1024, Metrics::new()).expect("log");
    let sections =
        "rateLimits:\n  per-ip:\n    capacity: 1\n    refillPerSecond: 0.01\n    key: [clientIp]\n";
    let yaml = config(&upstream.endpoint(), "      rateLimit: per-ip\n", sections);
    let gateway = start_with(&yaml, common::listener(), access_log).await;
    assert_eq!(
        get(gateway.addr, "X-Request-Id: first\r\n").await.status,
        200
    );
    assert_eq!(
        get(gateway.addr, "X-Request-Id: second\r\n").await.status,
        429
    );
    let gateway_handle = Arc::clone(&gateway.gateway);
    gateway.stop().await;
    drop(gateway_handle);
    guard.finish();
    let text = std::fs::read_to_string(&path).expect("log file");
    let record = |id: &str| -> serde_json::Value {
        text.lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).expect("JSON line"))
            .find(|line| line["requestId"] == id)
            .unwrap_or_else(|| panic!("no record for {id} in {text}"))
    };
    assert_eq!(record("first")["rateLimited"], false);
    let refused = record("second");
    assert_eq!(refused["rateLimited"], true);
    assert_eq!(refused["status"], 429);
    assert_eq!(refused["error"], "rate_limited");
}

const TENANT_A_FIRST_KEY: &str = "pcs_tenant-a-first-key-0123456789abcdef";
const TENANT_A_SECOND_KEY: &str = "pcs_tenant-a-second-key-0123456789abcde";
const TENANT_B_KEY: &str = "pcs_tenant-b-only-key-0123456789abcdefg";

/// Route `main` behind API keys, limited per tenant (capacity 3): two keys of `tenant-a`,
/// one of `tenant-b`.
fn per_tenant_config(endpoint: &str) -> String {
    format!(
        r#"services:
  backend:
    visibility: public
    endpoints: ["{endpoint}"]
routes:
  - name: main
    match:
      pathPrefix: /
    upstream:
      service: backend
    policies:
      auth: required
      authMethods: [apiKey]
      rateLimit: per-tenant
authentication:
  apiKeys:
    header: X-Api-Key
    keys:
      - id: key-a-first
        hash: "{}"
        tenantId: tenant-a
      - id: key-a-second
        hash: "{}"
        tenantId: tenant-a
      - id: key-b
        hash: "{}"
        tenantId: tenant-b
rateLimits:
  per-tenant:
    capacity: 3
    refillPerSecond: 0.01
    key: [tenantId]
"#,
        hash_api_key(TENANT_A_FIRST_KEY),
        hash_api_key(TENANT_A_SECOND_KEY),
        hash_api_key(TENANT_B_KEY)
    )
}

#[tokio::test]
async fn tenant_header_case_and_look_alikes_do_not_split_a_tenants_bucket() {
    let upstream = MockUpstream::echo().await;
    let gateway = start(&per_tenant_config(&upstream.endpoint())).await;
    // Client-sent tenant claims in other cases, other tenants, padded, with look-alike
    // characters (U+2010 hyphen, U+0430 Cyrillic a) and repeated: none reaches the key,
    // which is the tenant of the authenticated API key.
    let tricks = [
        "X-Portcullis-Tenant: TENANT-A\r\n",
        "x-portcullis-tenant: tenant-b\r\n",
        "X-Tenant-ID: tenant-a \r\n",
        "X-PORTCULLIS-TENANT: tenant\u{2010}a\r\n",
        "x-tenant-id: tenant-b\r\nX-Portcullis-Tenant: \u{430}cme\r\n",
        "X-Portcullis-Tenant: tenant-a\r\nX-Portcullis-Tenant: tenant-c\r\n",
    ];
    let mut seen = Vec::new();
    for (index, trick) in tricks.iter().enumerate() {
        // Alternate between the tenant's two keys.
        let key = if index % 2 == 0 {
            TENANT_A_FIRST_KEY
        } else {
            TENANT_A_SECOND_KEY
        };
        let answer = get(gateway.addr, &format!("X-Api-Key: {key}\r\n{trick}")).await;
        seen.push(answer.status);
    }
    assert_eq!(
        seen,
        [200, 200, 200, 429, 429, 429],
        "one bucket for tenant-a"
    );
    assert_eq!(upstream.requests(), 3);

    // Another tenant's key still has its own full bucket, whatever tenant header it sends.
    let mut other = Vec::new();
    for trick in [
        "X-Portcullis-Tenant: tenant-a\r\n",
        "",
        "x-tenant-id: TENANT-A\r\n",
        "",
    ] {
        let answer = get(
            gateway.addr,
            &format!("X-Api-Key: {TENANT_B_KEY}\r\n{trick}"),
        )
        .await;
        other.push(answer.status);
    }
    assert_eq!(other, [200, 200, 200, 429], "tenant-b's own bucket");
    assert_eq!(upstream.requests(), 6);
    gateway.stop().await;
}
