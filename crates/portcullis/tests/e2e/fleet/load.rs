//! Steady traffic through data planes, counting every request that does not come back as the
//! expected 200 answer: a transport error, a timeout, another status or another body.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use tokio::task::JoinHandle;

use crate::harness::{self, HttpClient};

/// Longer than any healthy answer on a loaded machine; a request over it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Concurrent senders per data plane, each with its own pace.
const SENDERS_PER_TARGET: usize = 2;

#[derive(Default)]
struct Counts {
    succeeded: AtomicU64,
    failed: AtomicU64,
    failures: Mutex<Vec<String>>,
}

/// Load running in the background until [`Load::stop`].
pub struct Load {
    running: Arc<AtomicBool>,
    tasks: Vec<JoinHandle<()>>,
    per_target: Vec<(SocketAddr, Arc<Counts>)>,
}

/// What the load saw, all targets together.
#[derive(Debug)]
pub struct LoadReport {
    pub succeeded: u64,
    pub failed: u64,
    /// The first failures, each with its target and why.
    pub failures: Vec<String>,
}

impl Load {
    /// GET `path` on every target, `per_second` requests a second each, expecting 200 and
    /// exactly `body`.
    pub fn start(targets: &[SocketAddr], path: &str, body: &str, per_second: u32) -> Load {
        let running = Arc::new(AtomicBool::new(true));
        let client = harness::client();
        let period = Duration::from_secs(1) * SENDERS_PER_TARGET as u32 / per_second.max(1);
        let mut tasks = Vec::new();
        let mut per_target = Vec::new();
        for &target in targets {
            let counts = Arc::new(Counts::default());
            for _ in 0..SENDERS_PER_TARGET {
                tasks.push(tokio::spawn(send(
                    client.clone(),
                    target,
                    format!("http://{target}{path}"),
                    Bytes::from(body.to_string()),
                    period,
                    running.clone(),
                    counts.clone(),
                )));
            }
            per_target.push((target, counts));
        }
        Load {
            running,
            tasks,
            per_target,
        }
    }

    /// Successful answers so far, per target.
    pub fn succeeded(&self) -> Vec<u64> {
        self.per_target
            .iter()
            .map(|(_, counts)| counts.succeeded.load(Ordering::Relaxed))
            .collect()
    }

    /// Failed requests so far, all targets together.
    pub fn failed(&self) -> u64 {
        self.per_target
            .iter()
            .map(|(_, counts)| counts.failed.load(Ordering::Relaxed))
            .sum()
    }

    /// Waits until every target has answered `more` further requests successfully.
    pub async fn wait_for_successes(&self, more: u64) {
        let wanted: Vec<u64> = self.succeeded().iter().map(|seen| seen + more).collect();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self
            .succeeded()
            .iter()
            .zip(&wanted)
            .any(|(seen, wanted)| seen < wanted)
        {
            assert!(
                Instant::now() < deadline,
                "the load did not get {more} more answers from every target: {:?} of {wanted:?} \
                 ({} failed)",
                self.succeeded(),
                self.failed()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops sending, waits for the requests in flight, and reports.
    pub async fn stop(self) -> LoadReport {
        self.running.store(false, Ordering::Relaxed);
        for task in self.tasks {
            task.await.expect("load task");
        }
        let mut report = LoadReport {
            succeeded: 0,
            failed: 0,
            failures: Vec::new(),
        };
        for (_, counts) in &self.per_target {
            report.succeeded += counts.succeeded.load(Ordering::Relaxed);
            report.failed += counts.failed.load(Ordering::Relaxed);
            report
                .failures
                .extend(counts.failures.lock().expect("failures").iter().cloned());
        }
        report
    }
}

async fn send(
    client: HttpClient,
    target: SocketAddr,
    url: String,
    expected: Bytes,
    period: Duration,
    running: Arc<AtomicBool>,
    counts: Arc<Counts>,
) {
    let mut pace = tokio::time::interval(period);
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while running.load(Ordering::Relaxed) {
        pace.tick().await;
        match tokio::time::timeout(REQUEST_TIMEOUT, one_request(&client, &url)).await {
            Ok(Ok((200, body))) if body == expected => {
                counts.succeeded.fetch_add(1, Ordering::Relaxed);
            }
            outcome => {
                counts.failed.fetch_add(1, Ordering::Relaxed);
                let why = match outcome {
                    Ok(Ok((status, body))) => {
                        format!("{status}: {}", String::from_utf8_lossy(&body))
                    }
                    Ok(Err(error)) => error,
                    Err(_) => format!("no answer within {REQUEST_TIMEOUT:?}"),
                };
                let mut failures = counts.failures.lock().expect("failures");
                if failures.len() < 20 {
                    failures.push(format!("{target}: {why}"));
                }
            }
        }
    }
}

async fn one_request(client: &HttpClient, url: &str) -> Result<(u16, Bytes), String> {
    let request = hyper::Request::get(url)
        .body(Full::new(Bytes::new()))
        .map_err(|error| error.to_string())?;
    let response = client
        .request(request)
        .await
        .map_err(|error| format!("request failed: {error:?}"))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|error| format!("body failed: {error}"))?
        .to_bytes();
    Ok((status, body))
}
