//! The common start of every fleet test: a control plane over a store, an upstream, a
//! `dataplane` token, and configurations to publish.

use std::path::{Path, PathBuf};

use crate::fleet::{Backend, Cli, ControlPlaneProcess, DataPlane, Storage};
use crate::harness::{self, HttpClient};
use crate::upstream::{self, MockUpstream};

/// What the upstream answers; the load expects exactly this body.
pub const UPSTREAM_BODY: &str = "alpha";
/// The path the configurations route to the upstream.
pub const ROUTED_PATH: &str = "/svc/item";

pub struct Fleet {
    pub control: ControlPlaneProcess,
    /// The operators' CLI with the first admin token.
    pub cli: Cli,
    /// A token of the `dataplane` role, for `serve --token-file`.
    pub dataplane_token: PathBuf,
    /// Configuration files and the data planes' state directories.
    pub dir: tempfile::TempDir,
    pub upstream: MockUpstream,
    pub client: HttpClient,
    pub storage: Storage,
}

impl Fleet {
    /// `None` when PostgreSQL cannot be had outside CI (a `SKIPPED:` line is printed).
    pub async fn start(backend: Backend) -> Option<Fleet> {
        Some(Fleet::start_on(Storage::new(backend).await?).await)
    }

    pub async fn start_on(storage: Storage) -> Fleet {
        let control = ControlPlaneProcess::start(&storage).await;
        let cli = Cli::new(&control.url(), &control.admin_token_file());
        let dir = harness::temp_dir();
        let dataplane_token = cli.create_token("edge", "dataplane", dir.path()).await;
        Fleet {
            control,
            cli,
            dataplane_token,
            dir,
            upstream: upstream::named(UPSTREAM_BODY).await,
            client: harness::client(),
            storage,
        }
    }

    /// A configuration routing `/svc` to the upstream, its route timeout `timeout_ms` (so
    /// distinct timeouts make distinct versions), written to `<dir>/<name>.yaml`.
    pub fn config_file(&self, name: &str, timeout_ms: u32) -> PathBuf {
        let yaml = harness::config_yaml(
            &[("/svc", "alpha", self.upstream.addr())],
            Path::new("stdout"),
            "",
        )
        .replace("timeoutMs: 20000", &format!("timeoutMs: {timeout_ms}"));
        self.write_file(&format!("{name}.yaml"), &yaml)
    }

    pub fn write_file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, contents).expect("write a configuration file");
        path
    }

    /// Pushes, validates and activates the configuration with `timeout_ms`; its version.
    pub async fn publish(&self, timeout_ms: u32) -> i64 {
        let file = self.config_file(&format!("timeout-{timeout_ms}"), timeout_ms);
        self.cli
            .publish(&file, &format!("route timeout {timeout_ms} ms"))
            .await
    }

    /// A data plane named `instance_id` with its state in `<dir>/<instance_id>`.
    pub async fn data_plane(&self, instance_id: &str) -> DataPlane {
        DataPlane::start(
            &self.control.url(),
            &self.dataplane_token,
            &self.dir.path().join(instance_id),
            instance_id,
        )
        .await
    }
}
