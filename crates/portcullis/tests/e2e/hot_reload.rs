use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::harness::{self, GatewayProcess};
use crate::upstream;

/// How long a reload may take to show. Generous: on a loaded 2-core CI machine a debounce,
/// a parse and a compile can take seconds; a healthy run returns in milliseconds.
const RELOAD_WAIT: Duration = Duration::from_secs(20);

const REFUSED: &str = "reload refused; the previous configuration keeps serving";

fn config_for(
    service: &str,
    address: SocketAddr,
    access_log: &std::path::Path,
    extra: &str,
) -> String {
    // Both configurations route `/svc` (route name `svc`) to a different upstream service.
    harness::config_yaml(&[("/svc", service, address)], access_log, extra)
}

struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failures: Arc<Mutex<Vec<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// `clients` tasks, each with its own keep-alive client, send requests back to back until
/// stopped (or for at most 120 s).
fn start_load(listener: SocketAddr, clients: usize) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let tasks = (0..clients)
        .map(|_| {
            let (stop, ok, failures) = (stop.clone(), ok.clone(), failures.clone());
            tokio::spawn(async move {
                let client = harness::client();
                let deadline = Instant::now() + Duration::from_secs(120);
                while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                    let request = hyper::Request::get(format!("http://{listener}/svc/item"))
                        .body(http_body_util::Full::new(bytes::Bytes::new()))
                        .expect("request");
                    match client.request(request).await {
                        Ok(response) => {
                            let status = response.status();
                            let body = http_body_util::BodyExt::collect(response.into_body())
                                .await
                                .map(http_body_util::Collected::to_bytes);
                            match body {
                                Ok(body)
                                    if status == 200 && matches!(&body[..], b"alpha" | b"beta") =>
                                {
                                    ok.fetch_add(1, Ordering::Relaxed);
                                }
                                Ok(body) => failures
                                    .lock()
                                    .expect("failures")
                                    .push(format!("{status}: {body:?}")),
                                Err(error) => failures
                                    .lock()
                                    .expect("failures")
                                    .push(format!("body: {error}")),
                            }
                        }
                        Err(error) => failures
                            .lock()
                            .expect("failures")
                            .push(format!("request: {error:?}")),
                    }
                }
            })
        })
        .collect();
    Load {
        stop,
        ok,
        failures,
        tasks,
    }
}

async fn served_by(client: &harness::HttpClient, listener: SocketAddr) -> String {
    let (status, _, body) = harness::get(client, listener, "/svc/item").await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_changes_under_load_fail_no_request() {
    let dir = harness::temp_dir();
    let access_log = dir.path().join("access.log");
    let (alpha, beta) = (
        upstream::named("alpha").await,
        upstream::named("beta").await,
    );
    let path = harness::config_path(dir.path());
    let alpha_config = config_for("alpha", alpha.addr(), &access_log, "");
    let beta_config = config_for("beta", beta.addr(), &access_log, "");
    let invalid_configs = [
        alpha_config.replace("timeoutMs: 20000", "timeoutMs: 99999"),
        "routes: [ {name: broken\n".to_string(),
        beta_config.replace(
            "service: beta\n    policies",
            "service: nowhere\n    policies",
        ),
    ];
    std::fs::write(&path, &alpha_config).expect("write config");
    let gateway = tokio::task::block_in_place(|| GatewayProcess::serve(&path, &[]));
    let client = harness::client();
    let load = start_load(gateway.listener, 4);

    let mut expected = "alpha";
    let mut version = 1;
    let mut refused = 0;
    for change in 0..50 {
        if change % 7 == 3 {
            harness::write_atomically(&path, &invalid_configs[refused % invalid_configs.len()]);
            refused += 1;
            harness::eventually(RELOAD_WAIT, "the invalid file to be refused", || {
                let seen = gateway.count_lines(REFUSED);
                async move { seen == refused }
            })
            .await;
        } else {
            expected = if expected == "alpha" { "beta" } else { "alpha" };
            let next = if expected == "alpha" {
                &alpha_config
            } else {
                &beta_config
            };
            harness::write_atomically(&path, next);
            version += 1;
            let wanted = version;
            harness::eventually(RELOAD_WAIT, "the new version", || {
                let client = client.clone();
                let admin = gateway.admin;
                async move { harness::config_version(&client, admin).await["configVersion"] == wanted }
            })
            .await;
        }
        // Whatever the last change was, the installed configuration is the one serving.
        assert_eq!(
            served_by(&client, gateway.listener).await,
            expected,
            "after change {change}"
        );
    }

    load.stop.store(true, Ordering::Relaxed);
    for task in load.tasks {
        task.await.expect("load task");
    }
    let failures = load.failures.lock().expect("failures").clone();
    let ok = load.ok.load(Ordering::Relaxed);
    eprintln!(
        "hot reload: {ok} requests ok, {} failed, {refused} files refused, final version {version}",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failed requests, first: {:?}",
        failures.len(),
        failures.first()
    );
    assert!(ok >= 200, "the load loop ran only {ok} requests");
    assert_eq!(refused, 7);
    assert_eq!(
        harness::config_version(&client, gateway.admin).await["configVersion"],
        version
    );
    let metrics = harness::metrics(&client, gateway.admin).await;
    let failed_loads = harness::metric_sum(
        &metrics,
        "portcullis_config_loads_total",
        &["result=\"failure\""],
    );
    assert_eq!(failed_loads, refused as f64, "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_file() {
    let dir = harness::temp_dir();
    let access_log = dir.path().join("access.log");
    let (alpha, beta) = (
        upstream::named("alpha").await,
        upstream::named("beta").await,
    );
    let path = harness::config_path(dir.path());
    std::fs::write(&path, config_for("alpha", alpha.addr(), &access_log, ""))
        .expect("write config");
    let gateway = tokio::task::block_in_place(|| GatewayProcess::serve(&path, &["--no-watch"]));
    let client = harness::client();
    assert_eq!(served_by(&client, gateway.listener).await, "alpha");

    harness::write_atomically(
        &path,
        &config_for("beta", beta.addr(), &access_log, "version: 42\n"),
    );
    // With the watcher off, nothing changes until the signal.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        harness::config_version(&client, gateway.admin).await["configVersion"],
        1
    );
    assert_eq!(served_by(&client, gateway.listener).await, "alpha");

    gateway.signal("HUP");
    harness::eventually(Duration::from_secs(5), "SIGHUP reload", || {
        let client = client.clone();
        let admin = gateway.admin;
        async move { harness::config_version(&client, admin).await["configVersion"] == 42 }
    })
    .await;
    assert_eq!(served_by(&client, gateway.listener).await, "beta");
}
