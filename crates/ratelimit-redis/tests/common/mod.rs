//! Test support: the machine's Redis, spawned `redis-server` children (standalone and a
//! 3-master Cluster) that are killed on drop, and a listener that never answers.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use portcullis_config::model::{FailureMode, KeyDimension, RateLimitStore};
use portcullis_ratelimit::{BucketParams, LimitSpec};

pub const SHARED_REDIS: &str = "127.0.0.1:6379";

/// The URL of the machine's Redis, or `None` (after a loud notice) when it is not reachable.
/// Under `CI=true` an unreachable Redis fails the test instead.
pub fn shared_redis_url() -> Option<String> {
    let address: SocketAddr = SHARED_REDIS.parse().expect("valid address");
    if TcpStream::connect_timeout(&address, Duration::from_millis(500)).is_ok() {
        return Some(format!("redis://{SHARED_REDIS}"));
    }
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!("Redis is not reachable at {SHARED_REDIS} and CI=true: start redis-server");
    }
    eprintln!("SKIPPED: Redis not reachable at {SHARED_REDIS}");
    None
}

/// True when `redis-server` and `redis-cli` can be run; else a loud notice (a failure under CI).
pub fn redis_binaries_available() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        if std::env::var("CI").is_ok_and(|value| value == "true") {
            panic!("redis-server is not installed and CI=true");
        }
        eprintln!("SKIPPED: redis-server not installed");
    }
    found
}

/// A key prefix no other test run uses, so tests sharing one Redis never meet.
pub fn unique_prefix(test: &str) -> String {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!(
        "pctest:{test}:{}:{nanos}:{}",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn spec(capacity: f64, refill_per_second: f64, failure_mode: FailureMode) -> LimitSpec {
    let params = BucketParams {
        capacity,
        refill_per_second,
    };
    LimitSpec {
        name: "test-limit".into(),
        params,
        key: vec![KeyDimension::TenantId].into(),
        store: RateLimitStore::Redis,
        failure_mode,
        fallback: params,
        lease_size: 1,
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind a free port")
        .port()
}

fn wait_for_port(port: u16, within: Duration) {
    let deadline = Instant::now() + within;
    let address: SocketAddr = format!("127.0.0.1:{port}").parse().expect("valid address");
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&address, Duration::from_millis(100)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("redis-server on port {port} did not start within {within:?}");
}

/// A `redis-server` child process, killed on drop.
pub struct RedisChild {
    pub port: u16,
    child: Child,
}

impl RedisChild {
    pub fn start(port: u16, directory: &Path, extra: &[&str]) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(directory)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        wait_for_port(port, Duration::from_secs(5));
        RedisChild { port, child }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisChild {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A 3-master Redis Cluster on loopback ports, torn down on drop.
pub struct RedisCluster {
    pub nodes: Vec<RedisChild>,
    _directory: tempfile::TempDir,
}

impl RedisCluster {
    pub fn start() -> Self {
        let directory = tempfile::tempdir().expect("temp dir");
        let mut nodes = Vec::new();
        for index in 0..3 {
            let port = free_port();
            let node_directory = directory.path().join(format!("node-{index}"));
            std::fs::create_dir_all(&node_directory).expect("node dir");
            let config_file = node_directory.join("nodes.conf");
            let config_file = config_file.to_string_lossy().into_owned();
            nodes.push(RedisChild::start(
                port,
                &node_directory,
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    &config_file,
                ],
            ));
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect();
        let status = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run redis-cli --cluster create");
        assert!(status.success(), "redis-cli --cluster create failed");
        let cluster = RedisCluster {
            nodes,
            _directory: directory,
        };
        cluster.wait_until_ok(Duration::from_secs(15));
        cluster
    }

    pub fn seed_nodes(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect()
    }

    fn wait_until_ok(&self, within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            let all_ok = self.nodes.iter().all(|node| {
                Command::new("redis-cli")
                    .args(["-p", &node.port.to_string(), "cluster", "info"])
                    .output()
                    .is_ok_and(|output| {
                        String::from_utf8_lossy(&output.stdout).contains("cluster_state:ok")
                    })
            });
            if all_ok {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the cluster did not reach cluster_state:ok within {within:?}");
    }
}

/// A TCP listener that accepts connections and never answers, on a free loopback port.
pub struct SilentListener {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl SilentListener {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind silent listener");
        let port = listener.local_addr().expect("local addr").port();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        SilentListener { port, task }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for SilentListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}
