//! The OpenAPI document lists exactly the routes the router serves: every documented
//! operation answers (never the router's "no such route" or "method not allowed"), every
//! endpoint of the design is documented, and the bearer scheme is declared.

mod support;

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use support::{Backend, Harness};

/// The endpoints of the control plane's design.
const ENDPOINTS: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
    ("get", "/v1/whoami"),
    ("get", "/v1/environments"),
    ("post", "/v1/environments"),
    ("get", "/v1/environments/{environment}"),
    ("get", "/v1/environments/{environment}/versions"),
    ("post", "/v1/environments/{environment}/versions"),
    ("get", "/v1/environments/{environment}/activations"),
    ("post", "/v1/environments/{environment}/rollback"),
    ("get", "/v1/versions/{version}"),
    ("post", "/v1/versions/{version}/validate"),
    ("post", "/v1/versions/{version}/activate"),
    ("get", "/v1/versions/{from}/diff/{to}"),
    ("get", "/v1/instances"),
    ("get", "/v1/audit"),
    ("get", "/v1/tokens"),
    ("post", "/v1/tokens"),
    ("delete", "/v1/tokens/{id}"),
    ("get", "/v1/dataplane/snapshot"),
    ("post", "/v1/dataplane/heartbeat"),
];

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_and_the_router_serve_the_same_routes() {
    let Some(harness) = Harness::start(Backend::Sqlite).await else {
        return;
    };
    let (status, document) = harness.get("/openapi.json", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(document["openapi"]
        .as_str()
        .unwrap_or_default()
        .starts_with("3."));
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"], "bearer",
        "the bearer scheme is declared"
    );

    let mut references = Vec::new();
    collect_references(&document, &mut references);
    assert!(references
        .iter()
        .any(|reference| reference.ends_with("/ProblemDocument")));
    for reference in &references {
        let pointer = reference.strip_prefix('#').expect("a local reference");
        assert!(
            document.pointer(pointer).is_some(),
            "{reference} does not resolve"
        );
    }

    let paths = document["paths"].as_object().expect("paths");
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|method| item.get(**method).is_some())
                .map(move |method| (method.to_string(), path.clone()))
        })
        .collect();
    let designed: BTreeSet<(String, String)> = ENDPOINTS
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(
        documented, designed,
        "the document lists the designed endpoints"
    );

    let dataplane = harness.token("dp", "dataplane").await;
    for (path, item) in paths {
        let concrete = path
            .replace("{environment}", "production")
            .replace("{version}", "999999")
            .replace("{from}", "999999")
            .replace("{to}", "999998")
            .replace("{id}", "999999");
        let concrete = if concrete.ends_with("/snapshot") {
            format!("{concrete}?environment=production&known=sha256:none")
        } else {
            concrete
        };
        for method in METHODS {
            let token = if path.starts_with("/v1/dataplane") {
                &dataplane
            } else {
                &harness.admin
            };
            let method_upper: Method = method.to_uppercase().parse().expect("method");
            let (status, answer) = harness.call(method_upper, &concrete, token, None).await;
            if item.get(method).is_some() {
                // Documented: served (any answer but the router's own refusals). Secured
                // operations declare the bearer scheme.
                assert!(
                    !(status == StatusCode::NOT_FOUND && answer["code"] == "route_not_found")
                        && status != StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is documented but not served: {status} {answer}"
                );
                let operation: &Value = &item[method];
                if path.starts_with("/v1/") {
                    assert!(
                        operation["security"][0].get("bearer").is_some(),
                        "{method} {path}"
                    );
                    assert!(
                        operation["responses"].get("401").is_some(),
                        "{method} {path}"
                    );
                }
            } else {
                // Not documented: the router refuses the method on this path.
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is served but not documented: {answer}"
                );
            }
        }
    }
    harness.stop().await;
}

fn collect_references(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                match (key.as_str(), member) {
                    ("$ref", Value::String(reference)) => out.push(reference.clone()),
                    _ => collect_references(member, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_references(item, out)),
        _ => {}
    }
}
