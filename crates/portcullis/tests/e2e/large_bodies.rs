use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::harness::{self, GatewayProcess};
use crate::upstream;

const GIB: u64 = 1 << 30;
const RSS_LIMIT_KIB: u64 = 100 * 1024;
const TRANSFER_LIMIT: Duration = Duration::from_secs(90);

/// Samples the gateway's VmRSS every 50 ms until stopped; returns the peak.
fn sample_rss(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    let peak = AtomicU64::new(0);
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                let rss = status
                    .lines()
                    .find_map(|line| line.strip_prefix("VmRSS:"))
                    .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
                    .unwrap_or(0);
                peak.fetch_max(rss, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        peak.load(Ordering::Relaxed)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gib_up_and_down_stream_through_in_bounded_memory() {
    let dir = harness::temp_dir();
    // Uploads go to an echo upstream that counts the body it reads (`bodyLength`);
    // downloads come from one that generates 1 GiB chunk by chunk.
    let counting = upstream::MockUpstream::echo().await;
    let generating = upstream::MockUpstream::builder()
        .stream_bytes(GIB)
        .start()
        .await;
    let path = harness::config_path(dir.path());
    let yaml = harness::config_yaml(
        &[
            ("/up", "up", counting.addr()),
            ("/down", "down", generating.addr()),
        ],
        &dir.path().join("access.log"),
        "",
    );
    std::fs::write(&path, yaml).expect("write config");
    let gateway = tokio::task::block_in_place(|| GatewayProcess::serve(&path, &[]));
    let idle_rss = gateway.rss_kib();
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = sample_rss(gateway.pid(), stop.clone());
    let client: Client<_, BoxBody<Bytes, Infallible>> =
        Client::builder(TokioExecutor::new()).build_http();

    let started = Instant::now();
    let upload = hyper::Request::post(format!("http://{}/up/load", gateway.listener))
        .body(upstream::generated_body(GIB))
        .expect("upload request");
    let response = client.request(upload).await.expect("upload response");
    assert_eq!(response.status(), 200);
    let echo = response
        .into_body()
        .collect()
        .await
        .expect("upload answer")
        .to_bytes();
    let echo: serde_json::Value = serde_json::from_slice(&echo).expect("echo JSON");
    assert_eq!(
        echo["bodyLength"], GIB,
        "the upstream received every byte: {echo}"
    );
    let upload_time = started.elapsed();

    let started = Instant::now();
    let download = hyper::Request::get(format!("http://{}/down/load", gateway.listener))
        .body(BoxBody::new(http_body_util::Empty::new()))
        .expect("download request");
    let response = client.request(download).await.expect("download response");
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut received: u64 = 0;
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame.expect("download frame").data_ref() {
            received += data.len() as u64;
        }
    }
    let download_time = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let peak_rss = sampler.join().expect("rss sampler");

    eprintln!(
        "1 GiB upload {upload_time:?} ({:.0} MiB/s), download {download_time:?} ({:.0} MiB/s), gateway RSS idle {idle_rss} KiB, peak {peak_rss} KiB",
        1024.0 / upload_time.as_secs_f64(),
        1024.0 / download_time.as_secs_f64()
    );
    assert_eq!(received, GIB);
    assert!(peak_rss > 0, "RSS was sampled");
    assert!(
        peak_rss < RSS_LIMIT_KIB,
        "gateway RSS peaked at {peak_rss} KiB"
    );
    assert!(upload_time < TRANSFER_LIMIT && download_time < TRANSFER_LIMIT);
}
