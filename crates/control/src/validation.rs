//! Every call into `portcullis-config`, `portcullis-router` and `portcullis-policy`, in one
//! place: the control plane judges a configuration exactly as a data plane would build it, and
//! when those crates' APIs move, only this module follows.

use portcullis_config::{ConfigErrors, ValidatedConfig};
use portcullis_protocol::admin::ConfigIssue;

/// What the checks found in a configuration that passed them.
#[derive(Debug, Clone)]
pub struct CheckedConfig {
    /// `portcullis_config::checksum` of the model.
    pub checksum: String,
    pub warnings: Vec<ConfigIssue>,
    pub routes: u64,
    pub services: u64,
}

/// A pushed configuration that passed validation, in the form the store keeps.
#[derive(Debug, Clone)]
pub struct CheckedDocument {
    /// The parsed model re-serialised as JSON text (defaults filled in): what the store keeps
    /// and what data planes receive.
    pub text: String,
    pub checked: CheckedConfig,
}

/// Parse and validate (all errors at once). What a push needs.
pub fn check_document(document: &serde_json::Value) -> Result<CheckedDocument, Vec<ConfigIssue>> {
    let validated = load(document)?;
    let text = serde_json::to_string(validated.config()).map_err(|error| {
        vec![ConfigIssue {
            path: String::new(),
            message: format!("the validated configuration cannot be written as JSON: {error}"),
        }]
    })?;
    Ok(CheckedDocument {
        text,
        checked: checked(&validated),
    })
}

/// Parse, validate, compile the routing snapshot and build the policy material that can be
/// built without the data plane's files and environment variables (`material::dry_run`:
/// secrets named `env:`/`file:` are checked for their form, read only on the data plane):
/// what validation and activation need.
pub fn check_for_activation(
    document: &serde_json::Value,
) -> Result<CheckedConfig, Vec<ConfigIssue>> {
    let validated = load(document)?;
    let mut issues = Vec::new();
    if let Err(error) = portcullis_router::Snapshot::compile(&validated) {
        issues.extend(issues_of(error.to_config_errors(&validated)));
    }
    if let Err(errors) = portcullis_policy::material::dry_run(&validated) {
        issues.extend(issues_of(errors));
    }
    if !issues.is_empty() {
        return Err(issues);
    }
    Ok(checked(&validated))
}

/// The document is already JSON, so it is validated as a value: the same rules and errors as
/// its text would get, without the cost of finding source positions that would point into
/// text the control plane wrote, not into anything the operator sent.
fn load(document: &serde_json::Value) -> Result<ValidatedConfig, Vec<ConfigIssue>> {
    portcullis_config::load_value(document).map_err(issues_of)
}

fn checked(validated: &ValidatedConfig) -> CheckedConfig {
    CheckedConfig {
        checksum: validated.checksum().to_string(),
        warnings: validated.warnings().iter().map(issue_of).collect(),
        routes: validated.config().routes.len() as u64,
        services: validated.config().services.len() as u64,
    }
}

/// The checksum a data plane computes for a stored document (the store keeps the parsed model
/// re-serialised, so parsing it back gives the same model and the same checksum).
pub fn checksum_of(document: &serde_json::Value) -> Option<String> {
    serde_json::from_value::<portcullis_config::Config>(document.clone())
        .ok()
        .map(|config| portcullis_config::checksum(&config))
}

fn issues_of(errors: ConfigErrors) -> Vec<ConfigIssue> {
    errors.iter().map(issue_of).collect()
}

fn issue_of(error: &portcullis_config::ConfigError) -> ConfigIssue {
    ConfigIssue {
        path: error.path.clone(),
        message: error.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> serde_json::Value {
        json!({
            "routes": [{
                "name": "orders",
                "match": {"pathPrefix": "/v1/orders"},
                "upstream": {"service": "orders-api"},
                "policies": {"auth": "none", "timeoutMs": 1000}
            }],
            "services": {"orders-api": {"visibility": "public", "endpoints": ["127.0.0.1:9000"]}}
        })
    }

    #[test]
    fn a_valid_document_is_stored_reserialised_with_its_checksum() {
        let pushed = check_document(&minimal()).expect("valid");
        let checked = check_for_activation(&minimal()).expect("valid");
        assert_eq!(checked.routes, 1);
        assert_eq!(checked.services, 1);
        assert!(checked.checksum.starts_with("sha256:"));
        assert_eq!(pushed.checked.checksum, checked.checksum);
        let stored: serde_json::Value = serde_json::from_str(&pushed.text).expect("JSON text");
        assert_eq!(checksum_of(&stored), Some(checked.checksum.clone()));
        // Defaults are filled in.
        assert!(stored.get("listeners").is_some());
        // The text is the model's serialisation: the same document as through a JSON value.
        let model = portcullis_config::load_value(&minimal()).expect("valid");
        let through_value = serde_json::to_value(model.config()).expect("value");
        assert_eq!(stored, through_value);
    }

    #[test]
    fn errors_come_in_document_order() {
        let route = json!({
            "name": "orders",
            "match": {"pathPrefix": "/v1/orders"},
            "upstream": {"service": "orders-api"},
            "policies": {"auth": "none", "timeoutMs": 45000}
        });
        let services = json!({"orders-api": {"visibility": "public", "endpoints": []}});
        let routes_first = json!({"routes": [route.clone()], "services": services.clone()});
        let services_first = json!({"services": services, "routes": [route]});
        for document in [routes_first, services_first] {
            // The sections in the order the JSON value keeps them (sorted, unless serde_json
            // preserves insertion order).
            let first = document
                .as_object()
                .and_then(|sections| sections.keys().next())
                .expect("a section")
                .clone();
            let issues = check_document(&document).expect_err("invalid");
            assert_eq!(issues.len(), 2, "{issues:?}");
            assert!(issues[0].path.starts_with(&first), "{issues:?}");
        }
    }

    #[test]
    fn every_error_is_reported_with_its_path() {
        let mut document = minimal();
        document["routes"][0]["name"] = json!("Not Kebab");
        document["routes"][0]["policies"]["timeoutMs"] = json!(45000);
        let issues = check_document(&document).expect_err("invalid");
        assert!(issues.len() >= 2, "{issues:?}");
        assert!(issues.iter().any(|issue| issue.path == "routes[0].name"));
        assert!(issues
            .iter()
            .any(|issue| issue.path == "routes[0].policies.timeoutMs"));
    }

    #[test]
    fn what_only_a_build_can_find_passes_a_push_and_fails_validation() {
        let mut document = minimal();
        document["authentication"] = json!({
            "jwt": {"issuers": [{
                "issuer": "https://auth.example.com",
                "audiences": ["api.example.com"],
                "algorithms": ["RS256"],
                "jwks": {"keys": []}
            }]},
            "signatures": {"keys": [{
                "keyId": "partner-1",
                "algorithm": "hmac-sha256",
                "secret": "env:PORTCULLIS_SECRET_THAT_ONLY_DATA_PLANES_HAVE",
                "subject": "partner"
            }]}
        });
        document["routes"][0]["policies"]["auth"] = json!("required");
        check_document(&document).expect("validation alone accepts it");
        let issues = check_for_activation(&document).expect_err("the build refuses it");
        assert_eq!(
            issues.len(),
            1,
            "only the empty key set, not the deferred secret: {issues:?}"
        );
        assert!(
            issues[0]
                .path
                .starts_with("authentication.jwt.issuers[0].jwks"),
            "{issues:?}"
        );
    }
}
