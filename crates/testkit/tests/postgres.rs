//! The PostgreSQL helpers against real servers.

use portcullis_testkit::postgres::{PostgresServer, TestDatabase};
use sqlx::Connection;

#[tokio::test]
async fn a_test_database_is_fresh_and_dropped_afterwards() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let mut connection = sqlx::PgConnection::connect(database.url())
        .await
        .expect("connect to the test database");
    let current: (String,) = sqlx::query_as("SELECT current_database()")
        .fetch_one(&mut connection)
        .await
        .expect("query");
    assert_eq!(current.0, database.name());
    connection.close().await.expect("close");
    let name = database.name().to_string();
    let admin_url = database.url().replace(&name, "postgres");
    drop(database);
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .expect("admin");
    let left: (i64,) = sqlx::query_as("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(&mut admin)
        .await
        .expect("query");
    assert_eq!(left.0, 0, "the test database was dropped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_server_stops_and_starts_again_with_its_data() {
    let Some(server) = PostgresServer::start_or_skip() else {
        return;
    };
    let url = server.url("postgres");
    let mut connection = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::query("CREATE TABLE kept (value TEXT)")
        .execute(&mut connection)
        .await
        .expect("create");
    sqlx::query("INSERT INTO kept VALUES ('across restarts')")
        .execute(&mut connection)
        .await
        .expect("insert");
    connection.close().await.expect("close");

    server.stop().expect("stop");
    assert!(sqlx::PgConnection::connect(&url).await.is_err(), "stopped");
    server.start_again().expect("start again");

    let mut connection = sqlx::PgConnection::connect(&url).await.expect("reconnect");
    let kept: (String,) = sqlx::query_as("SELECT value FROM kept")
        .fetch_one(&mut connection)
        .await
        .expect("select");
    assert_eq!(kept.0, "across restarts");
}

/// What `TestDatabase::create` falls back to when the shared server does not answer: a fresh
/// database on a private server, kept up while the database lives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_database_on_a_private_server() {
    let Some(server) = PostgresServer::start_or_skip() else {
        return;
    };
    let server = std::sync::Arc::new(server);
    let database = TestDatabase::create_on(&server.url("postgres"), Some(server.clone()))
        .await
        .expect("create a database on the private server");
    assert!(database.url().starts_with(&format!(
        "postgres://postgres@127.0.0.1:{}/portcullis_",
        server.port()
    )));
    let mut connection = sqlx::PgConnection::connect(database.url())
        .await
        .expect("connect");
    let one: (i32,) = sqlx::query_as("SELECT 1")
        .fetch_one(&mut connection)
        .await
        .expect("query");
    assert_eq!(one.0, 1);
    connection.close().await.expect("close");
}
