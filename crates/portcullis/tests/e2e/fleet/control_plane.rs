//! `portcullis control-plane` as a process: started on a free port (or a given one), killed,
//! and started again on the same port and data.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::fleet::{blocking, Storage};
use crate::harness::{parse_addr, GatewayProcess};

/// The stable line the control plane logs once it is bound.
const LISTENING: &str = "control plane listening addr=";

pub struct ControlPlaneProcess {
    process: GatewayProcess,
    pub addr: SocketAddr,
    data_dir: PathBuf,
    database_url: Option<String>,
    label: String,
}

impl ControlPlaneProcess {
    /// Starts on a free port over `storage`.
    pub async fn start(storage: &Storage) -> ControlPlaneProcess {
        ControlPlaneProcess::start_on(storage, "127.0.0.1:0", "control-plane").await
    }

    /// Starts on `listen` over `storage`, its log lines echoed as `[label]`.
    pub async fn start_on(storage: &Storage, listen: &str, label: &str) -> ControlPlaneProcess {
        let data_dir = storage.data_dir.path().to_path_buf();
        let database_url = storage.database_url();
        let label = label.to_string();
        let (process, addr) = spawn(
            data_dir.clone(),
            database_url.clone(),
            listen.to_string(),
            label.clone(),
        )
        .await;
        ControlPlaneProcess {
            process,
            addr,
            data_dir,
            database_url,
            label,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The first admin token's file, written by the first start.
    pub fn admin_token_file(&self) -> PathBuf {
        self.data_dir.join("admin.token")
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// True while the process runs.
    pub fn is_running(&mut self) -> bool {
        self.process.exited().is_none()
    }

    /// SIGKILL: no shutdown of any kind, as a crash or an OOM kill.
    pub fn kill(&mut self) {
        tokio::task::block_in_place(|| {
            self.process.signal("KILL");
            let status = self.process.wait_exit(Duration::from_secs(10));
            assert!(!status.success(), "killed, not exited: {status}");
        });
    }

    /// SIGTERM, and the clean exit it promises.
    pub fn stop(&mut self) {
        tokio::task::block_in_place(|| {
            self.process.signal("TERM");
            let status = self.process.wait_exit(Duration::from_secs(20));
            assert_eq!(status.code(), Some(0), "{}: exit after SIGTERM", self.label);
        });
    }

    /// Starts again (after [`ControlPlaneProcess::kill`] or [`ControlPlaneProcess::stop`]) on
    /// the same port, over the same data.
    pub async fn restart(&mut self) {
        let (process, addr) = spawn(
            self.data_dir.clone(),
            self.database_url.clone(),
            self.addr.to_string(),
            self.label.clone(),
        )
        .await;
        assert_eq!(addr, self.addr, "restarted on the same address");
        self.process = process;
    }
}

async fn spawn(
    data_dir: PathBuf,
    database_url: Option<String>,
    listen: String,
    label: String,
) -> (GatewayProcess, SocketAddr) {
    blocking(move || {
        let data_dir = data_dir.to_str().expect("utf-8 data directory").to_string();
        let args = [
            "control-plane",
            "--listen",
            &listen,
            "--data-dir",
            &data_dir,
        ];
        let env = [("PORTCULLIS_DATABASE_URL", database_url.as_deref())];
        let mut process = GatewayProcess::spawn_with(&args, &env, &label);
        let line = process.wait_for_line(LISTENING, Duration::from_secs(30));
        let addr = parse_addr(&line, "addr=");
        (process, addr)
    })
    .await
}
