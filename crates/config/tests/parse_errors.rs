//! Bad configuration input: unreadable files, invalid YAML/JSON, wrong types, unknown fields.

mod common;

use std::io::Write;

use common::{errors_of, load, with_routes, GOOD_ROUTE, SERVICES};
use portcullis_config::{load_file, load_str, parse_str, Format, Location, RetryOn};

#[test]
fn unreadable_file_names_the_file_and_the_os_error() {
    let directory = tempfile::tempdir().expect("tempdir");
    let missing = directory.path().join("absent.yaml");
    let errors = load_file(&missing).expect_err("missing file");
    let text = errors.to_string();
    assert!(text.contains("absent.yaml"), "{text}");
    assert!(
        errors.errors[0]
            .message
            .contains("cannot read configuration file"),
        "{text}"
    );
    let os_message = std::io::Error::from(std::io::ErrorKind::NotFound).to_string();
    assert!(
        text.to_lowercase().contains("no such file") || text.contains(&os_message),
        "{text}"
    );
    assert_eq!(
        errors.source_name.as_deref(),
        Some(missing.display().to_string().as_str())
    );
}

#[test]
fn load_file_picks_json_by_extension_and_names_the_source() {
    let directory = tempfile::tempdir().expect("tempdir");
    let json_path = directory.path().join("gateway.json");
    std::fs::write(&json_path, r#"{"routes": 7}"#).expect("write");
    let errors = load_file(&json_path).expect_err("bad json config");
    assert!(errors
        .to_string()
        .starts_with(&format!("invalid configuration in {}", json_path.display())));
    assert_eq!(errors.errors[0].path, "routes");

    let yaml_path = directory.path().join("gateway.yaml");
    let mut file = std::fs::File::create(&yaml_path).expect("create");
    write!(file, "{}", with_routes(GOOD_ROUTE)).expect("write");
    let loaded = load_file(&yaml_path).expect("valid yaml file");
    assert_eq!(loaded.config().routes[0].name, "checkout-orders");
}

#[test]
fn invalid_yaml_reports_line_and_column() {
    let errors = errors_of("routes:\n  - name: a\n    match: {pathPrefix: /a\n");
    assert_eq!(errors.len(), 1);
    let error = &errors[0];
    assert!(error.message.starts_with("invalid YAML"), "{error}");
    let location = error.location.expect("location");
    assert!(location.line >= 3, "{error}");
    assert!(error.to_string().contains("line "), "{error}");

    let errors = errors_of("a: b\n c: d\n");
    assert_eq!(errors[0].location.map(|l| l.line), Some(2), "{}", errors[0]);
}

#[test]
fn invalid_json_reports_line_and_column() {
    let errors = load_str(
        "{\n  \"routes\": [\n    {\"name\": \"a\",}\n  ]\n}",
        Format::Json,
    )
    .expect_err("bad json");
    let error = &errors.errors[0];
    assert!(error.message.starts_with("invalid JSON"), "{error}");
    assert_eq!(
        error.location,
        Some(Location {
            line: 3,
            column: 18
        }),
        "{error}"
    );
}

#[test]
fn json_values_have_positions_too() {
    let text = "{\n  \"defaults\": {\n    \"timeoutMs\": \"slow\"\n  }\n}\n";
    let errors = load_str(text, Format::Json).expect_err("wrong type");
    let error = &errors.errors[0];
    assert_eq!(error.path, "defaults.timeoutMs");
    assert_eq!(
        error.location,
        Some(Location {
            line: 3,
            column: 18
        }),
        "{error}"
    );
}

#[test]
fn json_duplicate_keys_are_errors() {
    let errors = load_str(
        r#"{"defaults": {"timeoutMs": 1}, "defaults": {}}"#,
        Format::Json,
    )
    .expect_err("duplicate");
    assert!(
        errors.errors[0]
            .message
            .contains("duplicate key `defaults`"),
        "{}",
        errors
    );
}

#[test]
fn duplicate_yaml_keys_are_errors_with_position() {
    let errors = errors_of("defaults:\n  timeoutMs: 100\n  timeoutMs: 200\n");
    assert_eq!(errors[0].path, "defaults.timeoutMs");
    assert_eq!(errors[0].location, Some(Location { line: 3, column: 3 }));
}

#[test]
fn string_for_timeout_reports_path_position_and_fix() {
    let route = GOOD_ROUTE.replace("timeoutMs: 1500", "timeoutMs: fast");
    let text = with_routes(&route);
    let errors = errors_of(&text);
    let error = errors
        .iter()
        .find(|error| error.path == "routes[0].policies.timeoutMs")
        .expect("timeout error");
    let line = text
        .lines()
        .position(|line| line.contains("timeoutMs: fast"))
        .expect("line")
        + 1;
    assert_eq!(
        error.location,
        Some(Location {
            line: line as u32,
            column: 18
        }),
        "{error}"
    );
    assert!(error.message.contains("\"fast\""), "{error}");
    assert!(error.message.contains("whole number"), "{error}");
}

#[test]
fn unknown_field_names_the_mapping_and_suggests_the_field() {
    let route = GOOD_ROUTE.replace("timeoutMs: 1500", "timeoutMS: 1500");
    let text = with_routes(&route);
    let errors = errors_of(&text);
    let error = errors
        .iter()
        .find(|error| error.message.contains("timeoutMS"))
        .expect("unknown field error");
    assert_eq!(error.path, "routes[0].policies");
    assert!(
        error
            .message
            .starts_with("unknown field `timeoutMS` at routes[0].policies"),
        "{error}"
    );
    assert!(
        error.message.contains("did you mean `timeoutMs`?"),
        "{error}"
    );
    assert!(error.message.contains("expected one of"), "{error}");
    let line = text
        .lines()
        .position(|line| line.contains("timeoutMS"))
        .expect("line")
        + 1;
    assert_eq!(
        error.location,
        Some(Location {
            line: line as u32,
            column: 7
        }),
        "{error}"
    );
}

#[test]
fn unknown_top_level_key_is_an_error() {
    let errors = errors_of(&format!("{SERVICES}route:\n  - name: x\n"));
    assert!(
        errors.iter().any(|error| error
            .message
            .contains("unknown field `route` at the top level")),
        "{errors:?}"
    );
}

#[test]
fn unknown_enum_value_suggests_the_right_one() {
    let route = GOOD_ROUTE.replace("auth: required", "auth: requierd");
    let error = common::expect_error(
        &with_routes(&route),
        "routes[0].policies.auth",
        &["requierd", "did you mean `required`?"],
    );
    assert!(error.location.is_some());
}

#[test]
fn missing_required_field_is_reported_at_its_mapping() {
    let route = GOOD_ROUTE.replace("      service: checkout-api\n", "      port: 8080\n");
    common::expect_error(
        &with_routes(&route),
        "routes[0].upstream",
        &["missing field `service`"],
    );
}

#[test]
fn several_errors_in_one_route_and_across_routes_are_all_reported() {
    let first = GOOD_ROUTE
        .replace("timeoutMs: 1500", "timeoutMS: 1500")
        .replace("retries: 1", "retries: lots");
    let second = GOOD_ROUTE
        .replace("checkout-orders", "second")
        .replace("methods: [GET, POST]", "methods: GET");
    let third = GOOD_ROUTE
        .replace("checkout-orders", "third")
        .replace("priority", "x")
        + "    extra: true\n";
    let errors = errors_of(&with_routes(&format!("{first}{second}{third}")));
    let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
    assert!(paths.contains(&"routes[0].policies"), "{paths:?}");
    assert!(paths.contains(&"routes[0].policies.retries"), "{paths:?}");
    assert!(paths.contains(&"routes[1].match.methods"), "{paths:?}");
    assert!(paths.contains(&"routes[2]"), "{paths:?}");
    assert_eq!(errors.len(), 4, "{errors:?}");
    // Reported in source order.
    let lines: Vec<u32> = errors
        .iter()
        .map(|error| error.location.expect("position").line)
        .collect();
    assert!(lines.windows(2).all(|pair| pair[0] <= pair[1]), "{lines:?}");
}

#[test]
fn errors_in_several_sections_are_all_reported() {
    let text = "defaults: {timeoutMs: x}\naccessLog: {enabled: maybe}\nservices:\n  a: {endpoints: 5}\n  b: {visibility: secret}\n";
    let errors = errors_of(text);
    let paths: Vec<&str> = errors.iter().map(|error| error.path.as_str()).collect();
    assert_eq!(
        paths,
        vec![
            "defaults.timeoutMs",
            "accessLog.enabled",
            "services.a.endpoints",
            "services.b.visibility"
        ]
    );
}

#[test]
fn validation_errors_carry_positions_from_the_file() {
    let route = GOOD_ROUTE.replace("timeoutMs: 1500", "timeoutMs: 45000");
    let text = with_routes(&route);
    let error = common::expect_error(&text, "routes[0].policies.timeoutMs", &["45000", "30000"]);
    let line = text
        .lines()
        .position(|line| line.contains("45000"))
        .expect("line")
        + 1;
    assert_eq!(
        error.location,
        Some(Location {
            line: line as u32,
            column: 18
        })
    );
    assert_eq!(
        error.to_string(),
        format!("routes[0].policies.timeoutMs (line {line}, column 18): timeoutMs 45000 is above the 30000 limit; use a value of at most 30000")
    );
}

#[test]
fn yaml_scalars_keep_their_types_in_the_model() {
    let text = with_routes(
        &(GOOD_ROUTE.to_string()
            + "      retryOn: [connect-failure, reset, 503, \"504\"]\n      authorization:\n        tenantStatus: [ACTIVE]\n"),
    );
    let loaded = load(&text).expect("valid");
    let policies = &loaded.config().routes[0].policies;
    assert_eq!(
        policies.retry_on,
        vec![
            RetryOn::ConnectFailure,
            RetryOn::Reset,
            RetryOn::Status(503),
            RetryOn::Status(504)
        ]
    );
    assert_eq!(
        policies
            .authorization
            .as_ref()
            .map(|a| a.tenant_status.clone()),
        Some(vec!["ACTIVE".to_string()])
    );
    assert_eq!(
        loaded.config().routes[0].matcher.methods,
        vec!["GET", "POST"]
    );
    assert_eq!(policies.timeout_ms, Some(1500));
}

#[test]
fn a_number_where_a_string_belongs_suggests_quotes() {
    let text = "tenants:\n  acme: {status: ACTIVE, tier: 1}\n";
    common::expect_error(text, "tenants.acme.tier", &["expected a string", "quotes"]);
}

#[test]
fn top_level_must_be_a_mapping() {
    let errors = errors_of("- a\n- b\n");
    assert!(
        errors[0].message.contains("mapping at the top level"),
        "{}",
        errors[0]
    );
}

#[test]
fn parse_str_does_not_validate_but_returns_positions() {
    let text = with_routes(&GOOD_ROUTE.replace("timeoutMs: 1500", "timeoutMs: 45000"));
    let (config, positions) = parse_str(&text, Format::Yaml).expect("parses");
    assert_eq!(config.routes[0].policies.timeout_ms, Some(45000));
    assert!(positions.get("routes[0].policies.timeoutMs").is_some());
}
