//! Every bad input the admin API can meet answers a problem document, and nothing is stored:
//! body limits, malformed JSON, content types, routes and methods, tokens and roles, and
//! texts that try to break out of SQL or JSON.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{assert_problem, config, Backend, Harness};

both_backends!(
    bodies_that_are_too_large_malformed_or_not_json_are_refused,
    unknown_routes_and_methods_are_problems,
    tokens_and_roles_decide_access,
    a_revoked_token_is_refused_and_the_last_admin_token_stays,
    texts_with_quotes_sql_and_control_characters_are_kept_verbatim,
);

async fn versions_stored(harness: &Harness) -> usize {
    let (_, page) = harness
        .get("/v1/environments/production/versions", &harness.admin)
        .await;
    page["versions"].as_array().map_or(0, Vec::len)
}

async fn bodies_that_are_too_large_malformed_or_not_json_are_refused(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let url = format!("{}/v1/environments/production/versions", harness.base);
    let operator = harness.token("op", "operator").await;
    let send = |body: Vec<u8>, content_type: &'static str| {
        harness
            .client
            .post(&url)
            .bearer_auth(&operator)
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    // Over 10 MiB: a valid JSON document padded with whitespace.
    let mut large = serde_json::to_vec(&json!({"config": config(1000)})).expect("json");
    large.resize(10 * 1024 * 1024 + 1, b' ');
    match send(large, "application/json").await {
        Ok(response) => {
            assert_eq!(
                response.headers()["content-type"],
                "application/problem+json"
            );
            let status = response.status();
            let body: Value = response.json().await.expect("problem");
            assert_problem(
                status,
                StatusCode::PAYLOAD_TOO_LARGE,
                &body,
                "body_too_large",
            );
        }
        // The server may close before the client has written everything; the answer was
        // still 413 (checked by the log), and nothing was stored (checked below).
        Err(error) => {
            eprintln!("note: the 413 answer raced the upload: {error}");
            assert!(error.is_request() || error.is_body(), "{error}");
        }
    }

    let cases: [(&[u8], &str, StatusCode, &str); 5] = [
        (
            b"{\"config\": {",
            "application/json",
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            b"{\"config\": {}} trailing",
            "application/json",
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            b"{\"config\": {}, \"createdBy\": \"mallory\"}",
            "application/json",
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            b"{\"message\": \"no config\"}",
            "application/json",
            StatusCode::BAD_REQUEST,
            "invalid_body",
        ),
        (
            b"config=1",
            "application/x-www-form-urlencoded",
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
    ];
    for (body, content_type, expected, code) in cases {
        let response = send(body.to_vec(), content_type).await.expect("answer");
        let status = response.status();
        let problem: Value = response.json().await.expect("problem");
        assert_problem(status, expected, &problem, code);
    }
    assert_eq!(versions_stored(&harness).await, 0, "nothing stored");
    harness.stop().await;
}

async fn unknown_routes_and_methods_are_problems(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let cases = [
        (
            Method::GET,
            "/v2/nothing",
            StatusCode::NOT_FOUND,
            "route_not_found",
        ),
        (
            Method::DELETE,
            "/v1/environments",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::PUT,
            "/v1/versions/1",
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ];
    for (method, path, status, code) in cases {
        harness
            .refused(method, path, &harness.admin, status, code)
            .await;
    }
    harness.stop().await;
}

async fn tokens_and_roles_decide_access(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let viewer = harness.token("viewer", "viewer").await;
    let operator = harness.token("operator", "operator").await;
    let dataplane = harness.token("dp", "dataplane").await;
    let push = json!({"config": config(1000)});

    // No token, a malformed header, an unknown token: 401 with a Bearer challenge.
    for header in [
        None,
        Some("Basic YWxhZGRpbjpvcGVuc2VzYW1l"),
        Some("Bearer pct_unknown"),
    ] {
        let mut request = harness
            .client
            .get(format!("{}/v1/environments", harness.base));
        if let Some(header) = header {
            request = request.header("authorization", header);
        }
        let response = request.send().await.expect("answer");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header:?}");
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap_or_default()
            .starts_with("Bearer"));
        let problem: Value = response.json().await.expect("problem");
        assert_eq!(problem["code"], "unauthorized");
    }

    let cases: [(&str, Method, &str, Option<&Value>, StatusCode); 10] = [
        (
            &viewer,
            Method::GET,
            "/v1/environments",
            None,
            StatusCode::OK,
        ),
        (
            &viewer,
            Method::POST,
            "/v1/environments/production/versions",
            Some(&push),
            StatusCode::FORBIDDEN,
        ),
        (
            &viewer,
            Method::GET,
            "/v1/tokens",
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            &operator,
            Method::GET,
            "/v1/tokens",
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            &operator,
            Method::GET,
            "/v1/dataplane/snapshot?environment=production",
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            &dataplane,
            Method::GET,
            "/v1/environments",
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            &dataplane,
            Method::POST,
            "/v1/environments/production/versions",
            Some(&push),
            StatusCode::FORBIDDEN,
        ),
        (
            &harness.admin,
            Method::GET,
            "/v1/dataplane/snapshot?environment=production",
            None,
            StatusCode::FORBIDDEN,
        ),
        (&dataplane, Method::GET, "/v1/whoami", None, StatusCode::OK),
        (
            &harness.admin,
            Method::GET,
            "/v1/tokens",
            None,
            StatusCode::OK,
        ),
    ];
    for (token, method, path, body, expected) in cases {
        let (status, answer) = harness.call(method.clone(), path, token, body).await;
        assert_eq!(status, expected, "{method} {path}: {answer}");
        if expected == StatusCode::FORBIDDEN {
            assert_eq!(answer["code"], "forbidden");
        }
    }
    assert_eq!(
        versions_stored(&harness).await,
        0,
        "refused pushes stored nothing"
    );
    let (_, me) = harness.get("/v1/whoami", &operator).await;
    assert_eq!(me, json!({"name": "operator", "role": "operator"}));
    harness.stop().await;
}

async fn a_revoked_token_is_refused_and_the_last_admin_token_stays(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let operator = harness.token("leaving", "operator").await;
    let (_, list) = harness.get("/v1/tokens", &harness.admin).await;
    let find_id = |name: &str| {
        list["tokens"]
            .as_array()
            .expect("tokens")
            .iter()
            .find(|token| token["name"] == name)
            .and_then(|token| token["id"].as_i64())
            .expect("token id")
    };
    let (operator_id, admin_id) = (find_id("leaving"), find_id("bootstrap-admin"));
    assert!(
        list.to_string().find("pct_").is_none(),
        "no secret is listed"
    );
    let (status, revoked) = harness
        .call(
            Method::DELETE,
            &format!("/v1/tokens/{operator_id}"),
            &harness.admin,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert!(revoked["revokedAt"].is_string());
    let (status, problem) = harness.get("/v1/environments", &operator).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{problem}");
    assert!(problem["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("revoked"));

    let (status, problem) = harness
        .call(
            Method::DELETE,
            &format!("/v1/tokens/{admin_id}"),
            &harness.admin,
            None,
        )
        .await;
    assert_problem(status, StatusCode::CONFLICT, &problem, "last_admin_token");
    let (status, problem) = harness
        .call(Method::DELETE, "/v1/tokens/999999", &harness.admin, None)
        .await;
    assert_problem(status, StatusCode::NOT_FOUND, &problem, "token_not_found");
    harness.stop().await;
}

async fn texts_with_quotes_sql_and_control_characters_are_kept_verbatim(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let hostile =
        "o'brien \"quoted\"; DROP TABLE gateway_config_versions; -- \n\t\u{1b}[31m\u{7f} \\ ü 🚀";
    let (status, created) = harness
        .post(
            "/v1/tokens",
            &harness.admin,
            &json!({"name": hostile, "role": "operator"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["name"], hostile);
    let token = created["token"].as_str().expect("token").to_string();
    let (status, summary) = harness
        .post(
            "/v1/environments/production/versions",
            &token,
            &json!({"config": config(1000), "message": hostile}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{summary}");
    let version = summary["configVersion"].as_i64().expect("version");
    let (_, stored) = harness
        .get(&format!("/v1/versions/{version}"), &token)
        .await;
    assert_eq!(stored["message"], hostile);
    assert_eq!(stored["createdBy"], hostile);
    let (_, audit) = harness.get("/v1/audit", &token).await;
    let push = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|entry| entry["action"] == "version.push")
        .expect("push entry")
        .clone();
    assert_eq!(push["actor"], hostile);
    assert_eq!(push["detail"]["message"], hostile);
    // A NUL cannot be stored by PostgreSQL: refused the same way on both backends.
    let (status, problem) = harness
        .post(
            "/v1/environments/production/versions",
            &token,
            &json!({"config": config(1000), "message": "a\u{0}b"}),
        )
        .await;
    assert_problem(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        &problem,
        "invalid_config",
    );
    assert_eq!(problem["errors"][0]["path"], "message");
    assert_eq!(versions_stored(&harness).await, 1);
    harness.stop().await;
}
