//! The database itself keeps the store's promises, whatever a client of it does: checked
//! with SQL, bypassing the control plane's code.

mod support;

use sqlx::error::ErrorKind;
use support::{config, Backend, Harness};

both_backends!(
    the_database_refuses_a_second_active_version,
    the_database_refuses_changes_to_a_config_row,
);

async fn the_database_refuses_a_second_active_version(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let active = harness
        .activate_new("production", &harness.admin, &config(1000))
        .await;
    let other = harness
        .push("production", &harness.admin, &config(1100))
        .await;
    let pool = harness.control().store().pool();

    let refused = sqlx::query(
        "UPDATE gateway_config_versions SET status = 'ACTIVE' WHERE config_version = $1",
    )
    .bind(other)
    .execute(pool)
    .await
    .expect_err("a second ACTIVE version");
    let database = refused.as_database_error().expect("a database error");
    assert_eq!(database.kind(), ErrorKind::UniqueViolation, "{refused}");

    let config_json = match backend {
        Backend::Postgres => "CAST('{}' AS JSONB)",
        Backend::Sqlite => "'{}'",
    };
    let insert = format!(
        "INSERT INTO gateway_config_versions (environment, config, status, created_by, checksum) \
         VALUES ('production', {config_json}, $1, 'mallory', 'sha256:00')"
    );
    let refused = sqlx::query(&insert)
        .bind("ACTIVE")
        .execute(pool)
        .await
        .expect_err("an inserted second ACTIVE version");
    assert_eq!(
        refused.as_database_error().map(|error| error.kind()),
        Some(ErrorKind::UniqueViolation)
    );
    let refused = sqlx::query(&insert)
        .bind("LIVE")
        .execute(pool)
        .await
        .expect_err("an unknown status");
    assert_eq!(
        refused.as_database_error().map(|error| error.kind()),
        Some(ErrorKind::CheckViolation),
        "{refused}"
    );
    assert_eq!(harness.status_of(active).await, "ACTIVE");
    assert_eq!(harness.status_of(other).await, "DRAFT");
    harness.stop().await;
}

async fn the_database_refuses_changes_to_a_config_row(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let version = harness
        .push("production", &harness.admin, &config(1000))
        .await;
    let pool = harness.control().store().pool();
    let new_config = match backend {
        Backend::Postgres => "CAST('{\"routes\": []}' AS JSONB)",
        Backend::Sqlite => "'{\"routes\": []}'",
    };
    let refused_statements = [
        format!("UPDATE gateway_config_versions SET config = {new_config} WHERE config_version = $1"),
        "UPDATE gateway_config_versions SET message = 'rewritten' WHERE config_version = $1".into(),
        "UPDATE gateway_config_versions SET created_by = 'mallory' WHERE config_version = $1".into(),
        "UPDATE gateway_config_versions SET checksum = 'sha256:00' WHERE config_version = $1".into(),
        "UPDATE gateway_config_versions SET environment = environment || '' , created_at = activated_at WHERE config_version = $1".into(),
        "DELETE FROM gateway_config_versions WHERE config_version = $1".into(),
        "DELETE FROM audit_log WHERE id > $1 - $1".into(),
        "UPDATE audit_log SET actor = 'nobody' WHERE id > $1 - $1".into(),
    ];
    for statement in &refused_statements {
        let outcome = sqlx::query(statement).bind(version).execute(pool).await;
        assert!(outcome.is_err(), "the database accepted: {statement}");
    }
    // Status and lifecycle times may change.
    sqlx::query(
        "UPDATE gateway_config_versions SET status = 'VALIDATED', validated_at = activated_at \
         WHERE config_version = $1",
    )
    .bind(version)
    .execute(pool)
    .await
    .expect("status changes are allowed");
    let (_, stored) = harness
        .get(&format!("/v1/versions/{version}"), &harness.admin)
        .await;
    assert_eq!(stored["message"], "test");
    assert_eq!(stored["status"], "VALIDATED");
    assert_eq!(stored["config"]["routes"][0]["name"], "checkout-orders");
    harness.stop().await;
}
