//! The operators' CLI (`portcullis config …`, `instances`, `tokens`, `audit`) run as a process
//! against a control plane: exit code, stdout and stderr.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::de::DeserializeOwned;

use crate::fleet::blocking;
use crate::harness::BINARY;

/// How to reach a control plane and with which token file (none: no token at all).
#[derive(Debug, Clone)]
pub struct Cli {
    control_plane: String,
    token_file: Option<PathBuf>,
}

/// One finished CLI run.
#[derive(Debug, Clone)]
pub struct CliOutput {
    pub args: Vec<String>,
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl CliOutput {
    /// Panics with everything the run printed unless it exited `code`.
    pub fn expect_code(&self, code: i32) -> &CliOutput {
        assert_eq!(
            self.code,
            code,
            "portcullis {}: exit {} (expected {code})\nstdout: {}\nstderr: {}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    /// The single JSON document on stdout (`--output json`).
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|error| {
            panic!(
                "portcullis {}: stdout is not the expected JSON document ({error}):\n{}",
                self.args.join(" "),
                self.stdout
            )
        })
    }
}

impl Cli {
    pub fn new(control_plane: &str, token_file: &Path) -> Cli {
        Cli {
            control_plane: control_plane.to_string(),
            token_file: Some(token_file.to_path_buf()),
        }
    }

    /// The same control plane with another token file.
    pub fn with_token_file(&self, token_file: &Path) -> Cli {
        Cli::new(&self.control_plane, token_file)
    }

    /// The same control plane with no token at all (no file, no `PORTCULLIS_TOKEN`).
    pub fn without_token(&self) -> Cli {
        Cli {
            control_plane: self.control_plane.clone(),
            token_file: None,
        }
    }

    /// Runs `portcullis ARGS` with only this connection in its environment.
    pub async fn run(&self, args: &[&str]) -> CliOutput {
        let cli = self.clone();
        let args: Vec<String> = args.iter().map(|arg| arg.to_string()).collect();
        blocking(move || cli.run_blocking(args)).await
    }

    /// [`Cli::run`], asserting exit 0; the stdout.
    pub async fn ok(&self, args: &[&str]) -> String {
        self.run(args).await.expect_code(0).stdout.clone()
    }

    /// `ARGS --output json`, asserting exit 0; the document it printed.
    pub async fn json<T: DeserializeOwned>(&self, args: &[&str]) -> T {
        let mut args = args.to_vec();
        args.extend(["--output", "json"]);
        self.run(&args).await.expect_code(0).json()
    }

    /// A new token of `role`, written to `dir/<name>.token` (as an operator would store it).
    pub async fn create_token(&self, name: &str, role: &str, dir: &Path) -> PathBuf {
        let token = self
            .ok(&["tokens", "create", "--name", name, "--role", role])
            .await;
        assert!(token.trim().starts_with("pct_"), "a token: {token}");
        let path = dir.join(format!("{name}.token"));
        std::fs::write(&path, token).expect("write the token file");
        path
    }

    /// `config push FILE`, `config validate V`, `config activate V`; the new version.
    pub async fn publish(&self, file: &Path, message: &str) -> i64 {
        let file = file.to_str().expect("utf-8 path");
        let pushed: serde_json::Value = self.json(&["config", "push", file, "-m", message]).await;
        let version = pushed["configVersion"].as_i64().expect("configVersion");
        let version_arg = version.to_string();
        self.ok(&["config", "validate", &version_arg]).await;
        self.ok(&["config", "activate", &version_arg]).await;
        version
    }

    fn run_blocking(&self, args: Vec<String>) -> CliOutput {
        let mut command = Command::new(BINARY);
        command.args(&args);
        // Nothing of the test runner's environment may choose the control plane or the token.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("PORTCULLIS_") {
                command.env_remove(name);
            }
        }
        command.env("PORTCULLIS_CONTROL_PLANE", &self.control_plane);
        if let Some(token_file) = &self.token_file {
            command.env("PORTCULLIS_TOKEN_FILE", token_file);
        }
        let output = command.output().expect("run the portcullis CLI");
        CliOutput {
            args,
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}
