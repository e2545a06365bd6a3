//! Configurations for the unit tests, in the form the control plane publishes them: the parsed
//! model re-serialised (defaults filled in) and its checksum.

use portcullis_config::{checksum, parse_str, Format};

pub(crate) const ROUTE_A: &str = "a";
pub(crate) const ROUTE_B: &str = "b";

/// A valid configuration with one route named `route` (so names give distinct checksums),
/// as `(config JSON, checksum)`.
pub(crate) fn document(route: &str) -> (serde_json::Value, String) {
    let yaml = format!(
        "services:\n  orders:\n    visibility: public\n    endpoints: [\"127.0.0.1:18081\"]\n\
         routes:\n  - name: {route}\n    match:\n      pathPrefix: /v1/{route}\n    \
         upstream:\n      service: orders\n    policies:\n      auth: none\n"
    );
    let (config, _) = parse_str(&yaml, Format::Yaml).expect("test configuration parses");
    let value = serde_json::to_value(&config).expect("serialises");
    (value, checksum(&config))
}
