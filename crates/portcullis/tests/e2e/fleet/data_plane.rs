//! `portcullis serve --control-plane URL` as a process: listeners on free ports (instance
//! overrides), its state directory kept across restarts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::fleet::blocking;
use crate::harness::{self, GatewayProcess, HttpClient};

pub struct DataPlane {
    pub process: GatewayProcess,
    pub instance_id: String,
    pub state_dir: PathBuf,
    args: Vec<String>,
}

impl DataPlane {
    /// Starts a data plane of environment `production` that long-polls `control_plane` with
    /// the token in `token_file` and keeps its last good configuration in `state_dir`; returns
    /// once it listens (its first configuration is installed).
    pub async fn start(
        control_plane: &str,
        token_file: &Path,
        state_dir: &Path,
        instance_id: &str,
    ) -> DataPlane {
        let args: Vec<String> = [
            "serve",
            "--control-plane",
            control_plane,
            "--environment",
            "production",
            "--state-dir",
            state_dir.to_str().expect("utf-8 path"),
            "--token-file",
            token_file.to_str().expect("utf-8 path"),
            "--instance-id",
            instance_id,
            "--listener",
            "default=127.0.0.1:0",
            "--admin-address",
            "127.0.0.1:0",
            // Short, so that a start with the control plane down does not wait 5 s for it.
            "--startup-timeout-seconds",
            "1",
            "--heartbeat-seconds",
            "1",
        ]
        .iter()
        .map(|arg| arg.to_string())
        .collect();
        let process = spawn(args.clone(), instance_id.to_string()).await;
        DataPlane {
            process,
            instance_id: instance_id.to_string(),
            state_dir: state_dir.to_path_buf(),
            args,
        }
    }

    /// SIGKILL, then the same command again (same state directory, new free ports); returns
    /// once it listens.
    pub async fn restart(&mut self) {
        self.kill();
        self.process = spawn(self.args.clone(), self.instance_id.clone()).await;
    }

    /// SIGKILL (unless it has exited already), and wait for the exit.
    pub fn kill(&mut self) {
        tokio::task::block_in_place(|| {
            if self.process.exited().is_none() {
                self.process.signal("KILL");
                self.process.wait_exit(Duration::from_secs(10));
            }
        });
    }

    /// The newest disk generation (`snapshot.current.json`).
    pub fn current_generation(&self) -> PathBuf {
        self.state_dir.join("snapshot.current.json")
    }

    /// The older disk generation (`snapshot.previous.json`).
    pub fn previous_generation(&self) -> PathBuf {
        self.state_dir.join("snapshot.previous.json")
    }

    /// Waits until the newest disk generation holds `version` (the copy is saved just after
    /// the install, so a test that stops the data plane must wait for it).
    pub async fn wait_for_saved_version(&self, version: i64) {
        let path = self.current_generation();
        let needle = format!("\"configVersion\":{version},");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        // Written to a temporary file and renamed into place: whatever is read is complete.
        while !std::fs::read_to_string(&path).is_ok_and(|text| text.contains(&needle)) {
            assert!(
                std::time::Instant::now() < deadline,
                "{} never saved version {version} to {}",
                self.instance_id,
                path.display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `/admin/config-version`.
    pub async fn config_version(&self, client: &HttpClient) -> Value {
        harness::config_version(client, self.process.admin).await
    }

    /// Waits until `/admin/config-version` says `version`; returns that document.
    pub async fn wait_for_version(&self, client: &HttpClient, version: i64) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let (status, _, body) =
                harness::get(client, self.process.admin, "/admin/config-version").await;
            if status == 200 {
                let document: Value = serde_json::from_str(&body).expect("config-version JSON");
                if document["configVersion"] == version {
                    return document;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{} never served version {version} (last answer {status}: {body})",
                self.instance_id
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn count_lines(&self, needle: &str) -> usize {
        self.process.count_lines(needle)
    }

    /// Waits until a log line contains `needle`; returns it.
    pub async fn wait_for_line(&mut self, needle: &str) -> String {
        tokio::task::block_in_place(|| self.process.wait_for_line(needle, Duration::from_secs(30)))
    }
}

async fn spawn(args: Vec<String>, label: String) -> GatewayProcess {
    blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        GatewayProcess::spawn_args_with(&args, &[("PORTCULLIS_TOKEN", None)], &label)
    })
    .await
}
