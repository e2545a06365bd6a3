//! Shared setup for the `upstream_*` tests: a snapshot with one catch-all route to one
//! service, built from YAML through the real config validation and router compilation.

#![allow(dead_code)]

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Empty, Full};
use portcullis_config::{load_str, Format};
use portcullis_error::GatewayError;
use portcullis_proxy::upstream::{ProxyBody, Upstreams};
use portcullis_router::{CompiledUpstream, Snapshot, UpstreamTarget};
use portcullis_telemetry::metrics::Metrics;

/// A compiled snapshot plus the `Upstreams` synced to it.
pub struct Fixture {
    pub snapshot: Snapshot,
    pub upstreams: Upstreams,
    pub metrics: Arc<Metrics>,
}

/// YAML for service `svc` (public) with `endpoints` and extra service settings
/// (`extra` is indented under the service, e.g. `"maxConcurrentRequests: 2"`).
pub fn config_yaml(endpoints: &[String], extra: &[&str]) -> String {
    let mut yaml = String::from(
        "routes:\n  - name: all\n    match: { pathPrefix: / }\n    upstream: { service: svc }\n    policies: { auth: none }\n\
         services:\n  svc:\n    visibility: public\n    endpoints:\n",
    );
    for endpoint in endpoints {
        yaml.push_str(&format!("      - \"{endpoint}\"\n"));
    }
    for line in extra {
        yaml.push_str(&format!("    {line}\n"));
    }
    yaml
}

pub fn compile(yaml: &str) -> Snapshot {
    let validated = load_str(yaml, Format::Yaml).expect("test config is valid");
    Snapshot::compile(&validated).expect("test config compiles")
}

impl Fixture {
    pub fn new(endpoints: &[String], extra: &[&str]) -> Fixture {
        let snapshot = compile(&config_yaml(endpoints, extra));
        let metrics = Metrics::new();
        let upstreams = Upstreams::new(metrics.clone());
        upstreams.sync(&snapshot);
        Fixture {
            snapshot,
            upstreams,
            metrics,
        }
    }

    pub fn upstream(&self) -> &CompiledUpstream {
        &self.snapshot.routes()[0].upstream
    }

    pub fn target(&self) -> &UpstreamTarget {
        &self.upstream().targets[0]
    }

    pub async fn forward(
        &self,
        request: Request<ProxyBody>,
    ) -> Result<Response<portcullis_proxy::upstream::UpstreamBody>, GatewayError> {
        self.upstreams
            .forward(self.upstream(), self.target(), request)
            .await
    }

    /// GET `path` and collect the body (panics if the body fails).
    pub async fn get(&self, path: &str) -> Result<(u16, Bytes), GatewayError> {
        let response = self.forward(get(path)).await?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("upstream body")
            .to_bytes();
        Ok((status, body))
    }
}

/// An origin-form GET as the pipeline hands it over.
pub fn get(path_and_query: &str) -> Request<ProxyBody> {
    Request::get(path_and_query)
        .header("host", "api.example.test")
        .body(empty_body())
        .expect("request")
}

pub fn empty_body() -> ProxyBody {
    Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed_unsync()
}

pub fn full_body(bytes: impl Into<Bytes>) -> ProxyBody {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

pub fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).expect("JSON echo")
}
