//! Runs the real `portcullis` binary and talks to it over loopback.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

pub const BINARY: &str = env!("CARGO_BIN_EXE_portcullis");

/// Held by every test that binds the quickstart's fixed example-upstream ports
/// (127.0.0.1:18081-18083), so that such tests take turns.
pub fn lock_quickstart_ports() -> std::sync::MutexGuard<'static, ()> {
    static PORTS: Mutex<()> = Mutex::new(());
    PORTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running `portcullis` process; killed when dropped.
pub struct GatewayProcess {
    child: Child,
    stderr_lines: Arc<Mutex<Vec<String>>>,
    pub listener: SocketAddr,
    pub admin: SocketAddr,
}

impl GatewayProcess {
    /// `portcullis serve --config FILE EXTRA...`, waiting for its listening lines.
    pub fn serve(config: &Path, extra_args: &[&str]) -> GatewayProcess {
        let mut args = vec!["serve", "--config", config.to_str().expect("utf-8 path")];
        args.extend_from_slice(extra_args);
        GatewayProcess::spawn_args(&args)
    }

    /// Run the binary with `args` and wait for its `listening` lines (stable log interface).
    pub fn spawn_args(args: &[&str]) -> GatewayProcess {
        GatewayProcess::spawn_args_with(args, &[], "portcullis")
    }

    /// [`GatewayProcess::spawn_args`] with [`GatewayProcess::spawn_with`]'s environment and label.
    pub fn spawn_args_with(
        args: &[&str],
        env: &[(&str, Option<&str>)],
        label: &str,
    ) -> GatewayProcess {
        let mut process = GatewayProcess::spawn_with(args, env, label);
        let listening = process.wait_for_line("listening name=", Duration::from_secs(20));
        process.listener = parse_addr(&listening, "addr=");
        let admin = process.wait_for_line("admin listening addr=", Duration::from_secs(20));
        process.admin = parse_addr(&admin, "addr=");
        process
    }

    /// Start the binary with `args` and `env` (`None` removes a variable), its stderr kept and
    /// echoed as `[label] line`; waits for nothing.
    pub fn spawn_with(args: &[&str], env: &[(&str, Option<&str>)], label: &str) -> GatewayProcess {
        let mut command = Command::new(BINARY);
        command
            .args(args)
            .env("RUST_LOG", "info")
            .env("PORTCULLIS_WORKER_THREADS", "2");
        for (name, value) in env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the portcullis binary");
        let stderr = child.stderr.take().expect("piped stderr");
        let stderr_lines = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr_lines.clone();
        let label = label.to_string();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                eprintln!("[{label}] {line}");
                sink.lock().expect("stderr lines").push(line);
            }
        });
        let unbound = SocketAddr::from(([127, 0, 0, 1], 0));
        GatewayProcess {
            child,
            stderr_lines,
            listener: unbound,
            admin: unbound,
        }
    }

    /// The exit status once the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The first stderr line containing `needle`, waiting up to `timeout`.
    pub fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.lines().into_iter().find(|line| line.contains(needle)) {
                return line;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "portcullis exited ({status}) before logging {needle:?}:\n{}",
                    self.lines().join("\n")
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} within {timeout:?}:\n{}",
                self.lines().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn lines(&self) -> Vec<String> {
        self.stderr_lines.lock().expect("stderr lines").clone()
    }

    pub fn count_lines(&self, needle: &str) -> usize {
        self.lines()
            .iter()
            .filter(|line| line.contains(needle))
            .count()
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Wait for the process to exit, up to `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "portcullis still running after {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Resident set size of the gateway process, in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn parse_addr(line: &str, marker: &str) -> SocketAddr {
    let start = line.find(marker).expect("marker in line") + marker.len();
    let value: String = line[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != ',')
        .collect();
    value
        .parse()
        .unwrap_or_else(|_| panic!("address in {line:?}"))
}

/// Run the binary to completion: (exit status, stdout, stderr).
pub fn run_to_end(args: &[&str]) -> (ExitStatus, String, String) {
    let output = Command::new(BINARY)
        .args(args)
        .output()
        .expect("run portcullis");
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Replace `path` atomically (write beside it, then rename), as editors and deploy tools do.
pub fn write_atomically(path: &Path, contents: &str) {
    let temporary = path.with_extension("tmp-write");
    std::fs::write(&temporary, contents).expect("write temporary config");
    std::fs::rename(&temporary, path).expect("rename config into place");
}

pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

/// A minimal configuration: one public service per `(service, address)`, routed by
/// `/<service>` prefixes, listeners on port 0, the access log in `access_log`.
pub fn config_yaml(routes: &[(&str, &str, SocketAddr)], access_log: &Path, extra: &str) -> String {
    let mut yaml = format!(
        "listeners:\n  - name: default\n    address: 127.0.0.1:0\nadmin:\n  address: 127.0.0.1:0\n\
         accessLog:\n  path: {}\n{extra}services:\n",
        access_log.display()
    );
    for (_, service, address) in routes {
        yaml.push_str(&format!(
            "  {service}:\n    visibility: public\n    endpoints: [\"{address}\"]\n"
        ));
    }
    yaml.push_str("routes:\n");
    for (prefix, service, _) in routes {
        let name = prefix.trim_start_matches('/').replace('/', "-");
        yaml.push_str(&format!(
            "  - name: {name}\n    match:\n      pathPrefix: {prefix}\n    upstream:\n      service: {service}\n    policies:\n      auth: none\n      timeoutMs: 20000\n"
        ));
    }
    yaml
}

pub fn config_path(dir: &Path) -> PathBuf {
    dir.join("gateway.yaml")
}

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// GET `http://addr/path`: (status, headers, body).
pub async fn get(
    client: &HttpClient,
    addr: SocketAddr,
    path: &str,
) -> (u16, hyper::HeaderMap, String) {
    request(client, "GET", addr, path).await
}

pub async fn request(
    client: &HttpClient,
    method: &str,
    addr: SocketAddr,
    path: &str,
) -> (u16, hyper::HeaderMap, String) {
    let request = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .body(Full::new(Bytes::new()))
        .expect("request");
    let response = client.request(request).await.expect("response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// `/admin/config-version` as JSON.
pub async fn config_version(client: &HttpClient, admin: SocketAddr) -> serde_json::Value {
    let (status, _, body) = get(client, admin, "/admin/config-version").await;
    assert_eq!(status, 200, "config-version: {body}");
    serde_json::from_str(&body).expect("config-version JSON")
}

/// Sum of the samples of `metric` whose labels contain every `label="value"` in `labels`.
pub fn metric_sum(metrics_text: &str, metric: &str, labels: &[&str]) -> f64 {
    metrics_text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter(|line| {
            line.strip_prefix(metric)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter(|line| labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub async fn metrics(client: &HttpClient, admin: SocketAddr) -> String {
    let (status, headers, body) = get(client, admin, "/metrics").await;
    assert_eq!(status, 200);
    assert_eq!(
        headers
            .get("content-type")
            .and_then(|value| value.to_str().ok()),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    body
}

/// Poll `condition` every 20 ms for up to `timeout`.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !condition().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
