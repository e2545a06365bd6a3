//! `load_value` judges a JSON value exactly as `load_str` judges its text: the same model,
//! checksum and warnings for a valid document; the same errors, in the same (document) order,
//! for an invalid one, only without positions.

mod common;

use common::{with_routes, GOOD_ROUTE};
use portcullis_config::{load_str, load_value, ConfigError, Format};
use serde_json::Value;

/// (path, message) of each error, in order.
fn described(errors: &[ConfigError]) -> Vec<(String, String)> {
    errors
        .iter()
        .map(|error| (error.path.clone(), error.message.clone()))
        .collect()
}

/// A YAML fixture as the JSON value a control plane would receive (valid or not).
fn yaml_to_json(yaml: &str) -> Value {
    fn convert(node: &yaml_rust2::Yaml) -> Value {
        use yaml_rust2::Yaml;
        match node {
            Yaml::Hash(members) => Value::Object(
                members
                    .iter()
                    .map(|(key, value)| {
                        let key = match key {
                            Yaml::String(text) => text.clone(),
                            Yaml::Integer(number) => number.to_string(),
                            other => panic!("fixture key {other:?}"),
                        };
                        (key, convert(value))
                    })
                    .collect(),
            ),
            Yaml::Array(items) => Value::Array(items.iter().map(convert).collect()),
            Yaml::String(text) => Value::String(text.clone()),
            Yaml::Integer(number) => Value::from(*number),
            Yaml::Real(text) => Value::from(text.parse::<f64>().expect("a number")),
            Yaml::Boolean(flag) => Value::Bool(*flag),
            Yaml::Null => Value::Null,
            other => panic!("fixture node {other:?}"),
        }
    }
    let documents = yaml_rust2::YamlLoader::load_from_str(yaml).expect("fixture YAML");
    convert(&documents[0])
}

#[test]
fn a_value_is_judged_as_its_text_is() {
    let second_route = GOOD_ROUTE
        .replace("checkout-orders", "checkout-refunds")
        .replace("/v1/orders", "/v1/refunds");
    let cases: Vec<(&str, String, usize)> = vec![
        ("valid", with_routes(GOOD_ROUTE), 0),
        (
            "valid with a warning-free second route",
            with_routes(&format!("{GOOD_ROUTE}{second_route}")),
            0,
        ),
        (
            "validation errors in two routes and a section",
            with_routes(&format!(
                "{}{}",
                GOOD_ROUTE.replace("timeoutMs: 1500", "timeoutMs: 45000"),
                second_route
                    .replace("checkout-refunds", "Checkout_Refunds")
                    .replace("rateLimit: checkout-default", "rateLimit: nowhere")
            ))
            .replace("capacity: 10\n", "capacity: 0\n"),
            4,
        ),
        (
            "type errors and an unknown field",
            with_routes(&format!(
                "{}{}",
                GOOD_ROUTE.replace("timeoutMs: 1500", "timeoutMs: fast"),
                second_route.replace("retries: 1", "retires: 1")
            )),
            2,
        ),
        ("not a mapping", "[1, 2]".to_string(), 1),
    ];
    for (name, yaml, errors) in cases {
        let value = yaml_to_json(&yaml);
        let text = serde_json::to_string(&value).expect("json text");
        let from_text = load_str(&text, Format::Json);
        let from_value = load_value(&value);
        match (from_text, from_value) {
            (Ok(text), Ok(value)) => {
                assert_eq!(errors, 0, "{name}");
                assert_eq!(text.config(), value.config(), "{name}");
                assert_eq!(text.checksum(), value.checksum(), "{name}");
                assert_eq!(
                    described(text.warnings()),
                    described(value.warnings()),
                    "{name}"
                );
            }
            (Err(text), Err(value)) => {
                assert_eq!(value.len(), errors, "{name}: {value}");
                assert_eq!(described(&text.errors), described(&value.errors), "{name}");
                assert!(
                    value.iter().all(|error| error.location.is_none()),
                    "{name}: a value has no positions"
                );
            }
            (text, value) => panic!("{name}: text {text:?} but value {value:?}"),
        }
    }
}
