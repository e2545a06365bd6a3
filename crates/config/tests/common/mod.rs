//! Shared helpers for the integration tests.
#![allow(dead_code)]

use portcullis_config::{load_str, ConfigError, Format, ValidatedConfig};

/// Services and limits that the route snippets in the tests refer to.
pub const SERVICES: &str = r#"
services:
  checkout-api:
    visibility: public
    versions:
      stable: { endpoints: ["10.0.0.5:8080", "10.0.0.6:8080"] }
      canary: { endpoints: ["10.0.1.9:8080"] }
  billing:
    visibility: internal
    endpoints: ["10.0.2.1:9000"]
  bare:
    visibility: public
    endpoints: [bare-host-a, bare-host-b]
rateLimits:
  checkout-default:
    capacity: 1000
    refillPerSecond: 100
    key: [tenantId, routeName]
  per-ip:
    capacity: 10
    refillPerSecond: 1
    key: [clientIp]
quotas:
  monthly:
    limit: 100000
    window: month
internalHosts: [internal.example.com, "*.corp.example.com"]
"#;

/// A valid route to build on.
pub const GOOD_ROUTE: &str = r#"
  - name: checkout-orders
    match:
      host: api.example.com
      pathPrefix: /v1/orders
      methods: [GET, POST]
    upstream:
      service: checkout-api
    policies:
      auth: required
      rateLimit: checkout-default
      timeoutMs: 1500
      retries: 1
"#;

/// A document with the shared services and the given `routes:` items (YAML list items).
pub fn with_routes(routes: &str) -> String {
    format!("{SERVICES}routes:{routes}")
}

pub fn load(text: &str) -> Result<ValidatedConfig, Vec<ConfigError>> {
    load_str(text, Format::Yaml).map_err(|errors| errors.errors)
}

/// Loads a document that must fail, returning its errors.
pub fn errors_of(text: &str) -> Vec<ConfigError> {
    match load(text) {
        Ok(_) => panic!("expected errors, but the config loaded:\n{text}"),
        Err(errors) => errors,
    }
}

/// Asserts that an error at exactly `path` mentions every fragment, and returns it.
pub fn expect_error(text: &str, path: &str, fragments: &[&str]) -> ConfigError {
    let errors = errors_of(text);
    let found = errors.iter().find(|error| {
        error.path == path
            && fragments
                .iter()
                .all(|fragment| error.message.contains(fragment))
    });
    match found {
        Some(error) => error.clone(),
        None => panic!(
            "no error at {path} containing {fragments:?}; got:\n{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}
