//! `portcullis control-plane`: starts on the embedded SQLite store with no database
//! installed, logs its stable `control plane listening addr=` line, writes the first admin
//! token, answers its API, and exits 0 on SIGTERM and on SIGINT.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::harness::{self, BINARY};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_plane_serves_on_sqlite_and_exits_cleanly_on_signals() {
    let dir = harness::temp_dir();
    for signal in ["TERM", "INT"] {
        let mut child = Command::new(BINARY)
            .args(["control-plane", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .env("RUST_LOG", "info")
            .env_remove("PORTCULLIS_DATABASE_URL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start portcullis control-plane");
        let stderr = child.stderr.take().expect("stderr");
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[control-plane] {line}");
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut logged = Vec::new();
        let addr = loop {
            let line = received
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("no listening line:\n{}", logged.join("\n")));
            if let Some(addr) = line.split("control plane listening addr=").nth(1) {
                break addr
                    .trim()
                    .parse::<std::net::SocketAddr>()
                    .expect("address");
            }
            logged.push(line);
        };
        let token = std::fs::read_to_string(dir.path().join("admin.token")).expect("admin token");
        assert!(
            !logged.iter().any(|line| line.contains(token.trim())),
            "the token is never logged"
        );
        let client = harness::client();
        let (status, _, body) = harness::get(&client, addr, "/healthz").await;
        assert_eq!((status, body.as_str()), (200, "ok\n"));
        let (status, _, _) = harness::get(&client, addr, "/v1/environments").await;
        assert_eq!(status, 401, "the API needs a token");
        assert!(dir.path().join("control.db").exists(), "the embedded store");

        let killed = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        let exit_deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < exit_deadline,
                "still running after SIG{signal}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(status.code(), Some(0), "exit after SIG{signal}");
    }
}
