//! The control plane under test, on a real socket, over a real database: PostgreSQL (a fresh
//! database per test) or SQLite (a file in a temporary directory). Every test of the shared
//! suite is written once as `async fn name(backend: Backend)` and run against both by
//! [`both_backends!`].

#![allow(dead_code)]

use std::time::{Duration, Instant};

use portcullis_control::{ControlPlane, RunningControlPlane, Settings};
use portcullis_testkit::postgres::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Runs each named `async fn(Backend)` once per backend, as `postgres::name` and
/// `sqlite::name`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Postgres).await
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Backend::Sqlite).await
                }
            )*
        }
    };
}

/// Where a control plane keeps its data: the database and the data directory.
pub struct Storage {
    pub database_url: String,
    pub data_dir: tempfile::TempDir,
    pub _database: Option<TestDatabase>,
}

impl Storage {
    /// `None` when PostgreSQL is unavailable outside CI (the `SKIPPED:` line is printed).
    pub async fn new(backend: Backend) -> Option<Storage> {
        let data_dir = tempfile::tempdir().expect("temporary directory");
        let (database_url, database) = match backend {
            Backend::Postgres => {
                let database = TestDatabase::create().await?;
                (database.url().to_string(), Some(database))
            }
            Backend::Sqlite => (
                format!("sqlite://{}", data_dir.path().join("control.db").display()),
                None,
            ),
        };
        Some(Storage {
            database_url,
            data_dir,
            _database: database,
        })
    }

    pub fn settings(&self) -> Settings {
        let mut settings = Settings::new(&self.database_url, self.data_dir.path());
        settings.listen = "127.0.0.1:0".parse().expect("address");
        settings.long_poll = Duration::from_secs(2);
        settings
    }
}

/// A running control plane and an admin client for it.
pub struct Harness {
    pub control: Option<RunningControlPlane>,
    pub base: String,
    pub admin: String,
    pub client: reqwest::Client,
    pub storage: Storage,
}

impl Harness {
    pub async fn start(backend: Backend) -> Option<Harness> {
        let storage = Storage::new(backend).await?;
        let settings = storage.settings();
        Some(Harness::start_with(storage, settings).await)
    }

    pub async fn start_with(storage: Storage, settings: Settings) -> Harness {
        let control = ControlPlane::start(settings)
            .await
            .expect("control plane starts");
        let admin = std::fs::read_to_string(control.admin_token_path())
            .expect("the first admin token file")
            .trim()
            .to_string();
        Harness {
            base: format!("http://{}", control.local_addr()),
            control: Some(control),
            admin,
            client: reqwest::Client::new(),
            storage,
        }
    }

    pub fn control(&self) -> &RunningControlPlane {
        self.control.as_ref().expect("running")
    }

    /// A request with `token` as the bearer token (none when empty) and `body` as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if !token.is_empty() {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// `method path` answers a problem document with `status` and `code`; the document.
    pub async fn refused(
        &self,
        method: Method,
        path: &str,
        token: &str,
        status: StatusCode,
        code: &str,
    ) -> Value {
        let body = (method == Method::POST).then(|| json!({}));
        let (answered, problem) = self.call(method.clone(), path, token, body.as_ref()).await;
        assert_problem(answered, status, &problem, code);
        problem
    }

    /// POST `{}` to `path` answers a problem with `status` and `code`.
    pub async fn post_refused(
        &self,
        path: &str,
        token: &str,
        status: StatusCode,
        code: &str,
    ) -> Value {
        self.refused(Method::POST, path, token, status, code).await
    }

    /// A new token of `role`, made by the admin.
    pub async fn token(&self, name: &str, role: &str) -> String {
        let (status, created) = self
            .post(
                "/v1/tokens",
                &self.admin,
                &json!({"name": name, "role": role}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        created["token"].as_str().expect("token").to_string()
    }

    /// Pushes `config` to `environment` as `token`; the new version's number.
    pub async fn push(&self, environment: &str, token: &str, config: &Value) -> i64 {
        let (status, summary) = self
            .post(
                &format!("/v1/environments/{environment}/versions"),
                token,
                &json!({"config": config, "message": "test"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{summary}");
        summary["configVersion"].as_i64().expect("version")
    }

    /// Push, validate and activate; the version.
    pub async fn activate_new(&self, environment: &str, token: &str, config: &Value) -> i64 {
        let version = self.push(environment, token, config).await;
        let (status, report) = self
            .post(
                &format!("/v1/versions/{version}/validate"),
                token,
                &json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{report}");
        let (status, activation) = self
            .post(
                &format!("/v1/versions/{version}/activate"),
                token,
                &json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{activation}");
        version
    }

    pub async fn status_of(&self, version: i64) -> String {
        let (status, found) = self
            .get(&format!("/v1/versions/{version}"), &self.admin)
            .await;
        assert_eq!(status, StatusCode::OK, "{found}");
        found["status"].as_str().expect("status").to_string()
    }

    /// Waits until `count` long-polls are held on `environment` by this control plane.
    pub async fn long_polls_held(&self, environment: &str, count: usize) {
        let publisher = self.control().publisher().clone();
        eventually(Duration::from_secs(10), "the long-polls to be held", || {
            let waiting = publisher.waiting(environment);
            async move { waiting == count }
        })
        .await;
    }

    pub async fn stop(mut self) {
        if let Some(control) = self.control.take() {
            control.shutdown().await.expect("clean shutdown");
        }
    }
}

/// `body` is a problem document with `expected` status and `code`.
pub fn assert_problem(status: StatusCode, expected: StatusCode, body: &Value, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], expected.as_u16(), "{body}");
    assert!(
        body["type"].as_str().unwrap_or_default().ends_with(code),
        "{body}"
    );
}

/// A valid configuration with one public route whose timeout is `timeout_ms`.
pub fn config(timeout_ms: u64) -> Value {
    json!({
        "routes": [{
            "name": "checkout-orders",
            "match": {"host": "api.example.com", "pathPrefix": "/v1/orders", "methods": ["GET", "POST"]},
            "upstream": {"service": "checkout-api", "port": 8080},
            "policies": {"auth": "none", "timeoutMs": timeout_ms, "retries": 1}
        }],
        "services": {
            "checkout-api": {"visibility": "public", "endpoints": ["10.0.0.5:8080"]}
        }
    })
}

/// Polls `check` every 20 ms until it is true or `deadline` passes.
pub async fn eventually<F, Fut>(deadline: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
