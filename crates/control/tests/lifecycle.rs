//! The version lifecycle through the admin API, against PostgreSQL and SQLite alike.

mod support;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{config, Backend, Harness};

both_backends!(
    push_validate_activate_and_roll_back,
    an_invalid_config_is_refused_with_every_error_and_nothing_is_stored,
    only_validated_versions_activate,
    rollback_skips_rolled_back_versions_and_needs_a_target,
    expected_active_version_guards_every_change,
    concurrent_activations_of_the_same_expectation_have_one_winner,
    concurrent_activations_of_the_same_version_have_one_winner,
    unknown_versions_and_environments_are_404,
    versions_page_newest_first_and_diff_names_paths,
    environments_are_created_by_admins_with_kebab_case_names,
);

async fn push_validate_activate_and_roll_back(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let operator = harness.token("alice", "operator").await;

    let first = harness.push("production", &operator, &config(1000)).await;
    let (_, pushed) = harness
        .get(&format!("/v1/versions/{first}"), &operator)
        .await;
    assert_eq!(pushed["status"], "DRAFT");
    assert_eq!(
        pushed["createdBy"], "alice",
        "created_by comes from the token"
    );
    assert_eq!(pushed["environment"], "production");
    assert!(pushed.get("parentVersion").is_none());
    // The stored document is the parsed config re-serialised, defaults filled in.
    assert!(pushed["config"]["listeners"].is_array(), "{pushed}");
    assert!(pushed["checksum"]
        .as_str()
        .unwrap_or_default()
        .starts_with("sha256:"));

    let (status, report) = harness
        .post(
            &format!("/v1/versions/{first}/validate"),
            &operator,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["version"]["status"], "VALIDATED");
    assert_eq!(report["routes"], 1);
    // Validating again answers the same report.
    let (status, again) = harness
        .post(
            &format!("/v1/versions/{first}/validate"),
            &operator,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");

    let (status, activation) = harness
        .post(
            &format!("/v1/versions/{first}/activate"),
            &operator,
            &json!({"expectedActiveVersion": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{activation}");
    assert_eq!(activation["kind"], "activate");
    assert_eq!(activation["actor"], "alice");
    assert!(activation.get("previousVersion").is_none());

    let second = harness
        .activate_new("production", &operator, &config(2000))
        .await;
    let (_, second_version) = harness
        .get(&format!("/v1/versions/{second}"), &operator)
        .await;
    assert_eq!(second_version["parentVersion"], first);
    assert_eq!(
        harness.status_of(first).await,
        "VALIDATED",
        "the previous ACTIVE steps back"
    );
    assert_eq!(harness.status_of(second).await, "ACTIVE");
    let (_, environment) = harness.get("/v1/environments/production", &operator).await;
    assert_eq!(environment["activeVersion"], second);

    let (status, rolled) = harness
        .post(
            "/v1/environments/production/rollback",
            &operator,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rolled}");
    assert_eq!(rolled["kind"], "rollback");
    assert_eq!(rolled["configVersion"], first);
    assert_eq!(rolled["previousVersion"], second);
    assert_eq!(harness.status_of(first).await, "ACTIVE");
    assert_eq!(harness.status_of(second).await, "ROLLED_BACK");

    let (_, history) = harness
        .get("/v1/environments/production/activations", &operator)
        .await;
    let kinds: Vec<(&str, i64)> = history["activations"]
        .as_array()
        .expect("activations")
        .iter()
        .map(|entry| {
            (
                entry["kind"].as_str().unwrap_or_default(),
                entry["configVersion"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("rollback", first),
            ("activate", second),
            ("activate", first)
        ]
    );

    let (_, audit) = harness
        .get("/v1/audit?environment=production", &operator)
        .await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|entry| entry["outcome"] == "ok")
        .map(|entry| entry["action"].as_str().unwrap_or_default())
        .collect();
    for action in [
        "version.push",
        "version.validate",
        "version.activate",
        "environment.rollback",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    harness.stop().await;
}

async fn an_invalid_config_is_refused_with_every_error_and_nothing_is_stored(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let operator = harness.token("op", "operator").await;
    let mut invalid = config(45_000);
    invalid["routes"][0]["name"] = json!("Not Kebab");
    invalid["routes"][0]["upstream"]["service"] = json!("missing-service");
    let (status, problem) = harness
        .post(
            "/v1/environments/production/versions",
            &operator,
            &json!({"config": invalid}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["code"], "invalid_config");
    let paths: Vec<&str> = problem["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|error| error["path"].as_str().unwrap_or_default())
        .collect();
    for path in [
        "routes[0].name",
        "routes[0].policies.timeoutMs",
        "routes[0].upstream.service",
    ] {
        assert!(paths.contains(&path), "{path} in {paths:?}");
    }
    // Not an object, and a NUL the store cannot keep: refused the same way on both backends.
    for config in [json!([1, 2]), json!({"routes": [{"name": "a\u{0}b"}]})] {
        let (status, problem) = harness
            .post(
                "/v1/environments/production/versions",
                &operator,
                &json!({"config": config}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    }
    let (_, page) = harness
        .get("/v1/environments/production/versions", &operator)
        .await;
    assert_eq!(page["versions"], json!([]), "nothing stored");
    let (_, audit) = harness.get("/v1/audit", &operator).await;
    assert!(
        audit["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|entry| entry["action"] == "version.push" && entry["outcome"] == "refused"),
        "{audit}"
    );
    harness.stop().await;
}

async fn only_validated_versions_activate(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let operator = harness.token("op", "operator").await;
    let draft = harness.push("production", &operator, &config(1000)).await;
    let problem = harness
        .post_refused(
            &format!("/v1/versions/{draft}/activate"),
            &operator,
            StatusCode::CONFLICT,
            "version_not_validated",
        )
        .await;
    assert!(problem["detail"]
        .as_str()
        .unwrap_or_default()
        .contains("validate it first"));

    let first = harness
        .activate_new("production", &operator, &config(1100))
        .await;
    harness
        .post_refused(
            &format!("/v1/versions/{first}/activate"),
            &operator,
            StatusCode::CONFLICT,
            "version_already_active",
        )
        .await;

    let second = harness
        .activate_new("production", &operator, &config(1200))
        .await;
    let (status, _) = harness
        .post(
            "/v1/environments/production/rollback",
            &operator,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        format!("/v1/versions/{second}/activate"),
        format!("/v1/versions/{second}/validate"),
    ] {
        let (status, problem) = harness.post(&path, &operator, &json!({})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{path}: {problem}");
        assert_eq!(problem["code"], "version_rolled_back");
    }
    assert_eq!(harness.status_of(first).await, "ACTIVE");
    harness.stop().await;
}

async fn rollback_skips_rolled_back_versions_and_needs_a_target(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let operator = harness.token("op", "operator").await;
    harness
        .post_refused(
            "/v1/environments/production/rollback",
            &operator,
            StatusCode::CONFLICT,
            "no_active_version",
        )
        .await;

    let v1 = harness
        .activate_new("production", &operator, &config(1000))
        .await;
    harness
        .post_refused(
            "/v1/environments/production/rollback",
            &operator,
            StatusCode::CONFLICT,
            "no_rollback_target",
        )
        .await;

    let v2 = harness
        .activate_new("production", &operator, &config(1100))
        .await;
    let v3 = harness
        .activate_new("production", &operator, &config(1200))
        .await;
    // v3 → back to v2, then v2 → back to v1 (v3 is ROLLED_BACK and skipped).
    for (expected_target, rolled_back) in [(v2, v3), (v1, v2)] {
        let (status, rolled) = harness
            .post(
                "/v1/environments/production/rollback",
                &operator,
                &json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{rolled}");
        assert_eq!(rolled["configVersion"], expected_target);
        assert_eq!(harness.status_of(rolled_back).await, "ROLLED_BACK");
    }
    let (status, problem) = harness
        .post(
            "/v1/environments/production/rollback",
            &operator,
            &json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "only v1 is left: {problem}");
    harness.stop().await;
}

async fn expected_active_version_guards_every_change(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let operator = harness.token("op", "operator").await;
    let v1 = harness
        .activate_new("production", &operator, &config(1000))
        .await;
    let v2 = harness.push("production", &operator, &config(1100)).await;
    harness
        .post(
            &format!("/v1/versions/{v2}/validate"),
            &operator,
            &json!({}),
        )
        .await;
    for expected in [0, v1 + 100] {
        let (status, problem) = harness
            .post(
                &format!("/v1/versions/{v2}/activate"),
                &operator,
                &json!({"expectedActiveVersion": expected}),
            )
            .await;
        assert_eq!(status, StatusCode::CONFLICT, "{problem}");
        assert_eq!(problem["code"], "active_version_changed");
    }
    let (status, problem) = harness
        .post(
            "/v1/environments/production/rollback",
            &operator,
            &json!({"expectedActiveVersion": v2}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let (status, activation) = harness
        .post(
            &format!("/v1/versions/{v2}/activate"),
            &operator,
            &json!({"expectedActiveVersion": v1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{activation}");
    harness.stop().await;
}

/// Sends both `(path, token)` requests at once; exactly one must succeed and the other get
/// 409. Whether the first won, and the loser's problem document.
async fn one_winner(harness: &Harness, requests: [(&str, &str); 2], body: &Value) -> (bool, Value) {
    let [(path_a, token_a), (path_b, token_b)] = requests;
    let ((status_a, answer_a), (status_b, answer_b)) = tokio::join!(
        harness.post(path_a, token_a, body),
        harness.post(path_b, token_b, body),
    );
    match (status_a, status_b) {
        (StatusCode::OK, StatusCode::CONFLICT) => (true, answer_b),
        (StatusCode::CONFLICT, StatusCode::OK) => (false, answer_a),
        _ => panic!("expected one 200 and one 409: {status_a} {answer_a} / {status_b} {answer_b}"),
    }
}

/// Two operators saw v1 active and each activates their own version: one wins, one gets 409.
async fn concurrent_activations_of_the_same_expectation_have_one_winner(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let alice = harness.token("alice", "operator").await;
    let bob = harness.token("bob", "operator").await;
    let v1 = harness
        .activate_new("production", &alice, &config(1000))
        .await;
    for round in 0..5 {
        let active = harness.get("/v1/environments/production", &alice).await.1["activeVersion"]
            .as_i64()
            .unwrap_or(v1);
        let mut candidates = Vec::new();
        for (token, timeout) in [(&alice, 2000 + round), (&bob, 3000 + round)] {
            let version = harness.push("production", token, &config(timeout)).await;
            harness
                .post(
                    &format!("/v1/versions/{version}/validate"),
                    token,
                    &json!({}),
                )
                .await;
            candidates.push((token.clone(), version));
        }
        let body = json!({"expectedActiveVersion": active});
        let path_a = format!("/v1/versions/{}/activate", candidates[0].1);
        let path_b = format!("/v1/versions/{}/activate", candidates[1].1);
        let ((status_a, answer_a), (status_b, answer_b)) = tokio::join!(
            harness.post(&path_a, &candidates[0].0, &body),
            harness.post(&path_b, &candidates[1].0, &body),
        );
        let mut statuses = [status_a, status_b];
        statuses.sort();
        assert_eq!(
            statuses,
            [StatusCode::OK, StatusCode::CONFLICT],
            "round {round}: {answer_a} / {answer_b}"
        );
        let loser = if status_a == StatusCode::CONFLICT {
            &answer_a
        } else {
            &answer_b
        };
        assert_eq!(loser["code"], "active_version_changed", "{loser}");
        let winner = if status_a == StatusCode::OK {
            candidates[0].1
        } else {
            candidates[1].1
        };
        let (_, environment) = harness.get("/v1/environments/production", &alice).await;
        assert_eq!(environment["activeVersion"], winner);
    }
    harness.stop().await;
}

/// Two operators activate the same version at once: one wins, one gets 409.
async fn concurrent_activations_of_the_same_version_have_one_winner(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let alice = harness.token("alice", "operator").await;
    let bob = harness.token("bob", "operator").await;
    for round in 0..5 {
        let version = harness
            .push("production", &alice, &config(1000 + round))
            .await;
        harness
            .post(
                &format!("/v1/versions/{version}/validate"),
                &alice,
                &json!({}),
            )
            .await;
        let path = format!("/v1/versions/{version}/activate");
        let (_, loser) = one_winner(&harness, [(&path, &alice), (&path, &bob)], &json!({})).await;
        assert_eq!(
            loser["code"], "version_already_active",
            "round {round}: {loser}"
        );
        assert_eq!(harness.status_of(version).await, "ACTIVE");
    }
    let (_, history) = harness
        .get("/v1/environments/production/activations", &alice)
        .await;
    assert_eq!(
        history["activations"].as_array().map(Vec::len),
        Some(5),
        "one activation each"
    );
    harness.stop().await;
}

async fn unknown_versions_and_environments_are_404(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let operator = harness.token("op", "operator").await;
    let cases = [
        ("GET", "/v1/versions/999999", "version_not_found"),
        ("POST", "/v1/versions/999999/validate", "version_not_found"),
        ("POST", "/v1/versions/999999/activate", "version_not_found"),
        (
            "GET",
            "/v1/versions/999999/diff/999998",
            "version_not_found",
        ),
        ("GET", "/v1/environments/staging", "environment_not_found"),
        (
            "GET",
            "/v1/environments/staging/versions",
            "environment_not_found",
        ),
        (
            "GET",
            "/v1/environments/staging/activations",
            "environment_not_found",
        ),
        (
            "POST",
            "/v1/environments/staging/rollback",
            "environment_not_found",
        ),
        (
            "POST",
            "/v1/environments/staging/versions",
            "environment_not_found",
        ),
        (
            "GET",
            "/v1/instances?environment=staging",
            "environment_not_found",
        ),
    ];
    for (method, path, code) in cases {
        let body = if path.ends_with("/versions") {
            json!({"config": config(1000)})
        } else {
            json!({})
        };
        let (status, problem) = harness
            .call(
                method.parse().expect("method"),
                path,
                &operator,
                Some(&body),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {problem}");
        assert_eq!(problem["code"], code, "{method} {path}");
    }
    harness.stop().await;
}

async fn versions_page_newest_first_and_diff_names_paths(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let operator = harness.token("op", "operator").await;
    let mut pushed = Vec::new();
    for timeout in [1000, 1100, 1200, 1300, 1400] {
        pushed.push(
            harness
                .push("production", &operator, &config(timeout))
                .await,
        );
    }
    let mut seen = Vec::new();
    let mut path = "/v1/environments/production/versions?limit=2".to_string();
    loop {
        let (status, page) = harness.get(&path, &operator).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(
            page["versions"]
                .as_array()
                .expect("versions")
                .iter()
                .map(|v| v["configVersion"].as_i64().unwrap_or_default()),
        );
        match page["nextBefore"].as_i64() {
            Some(before) => {
                path = format!("/v1/environments/production/versions?limit=2&before={before}")
            }
            None => break,
        }
    }
    let mut newest_first = pushed.clone();
    newest_first.reverse();
    assert_eq!(seen, newest_first);

    let (status, diff) = harness
        .get(
            &format!("/v1/versions/{}/diff/{}", pushed[0], pushed[1]),
            &operator,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{diff}");
    assert_eq!(
        diff["changed"][0]["path"],
        "routes[name=checkout-orders].policies.timeoutMs"
    );
    assert_eq!(diff["changed"][0]["from"], 1000);
    assert_eq!(diff["changed"][0]["to"], 1100);
    assert_eq!(diff["added"], json!([]));
    assert_eq!(diff["removed"], json!([]));
    let (status, bad) = harness.get("/v1/versions/abc/diff/1", &operator).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    harness.stop().await;
}

async fn environments_are_created_by_admins_with_kebab_case_names(backend: Backend) {
    let Some(harness) = Harness::start(backend).await else {
        return;
    };
    let operator = harness.token("op", "operator").await;
    let (status, _) = harness
        .post("/v1/environments", &operator, &json!({"name": "staging"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, created) = harness
        .post(
            "/v1/environments",
            &harness.admin,
            &json!({"name": "staging"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["name"], "staging");
    assert_eq!(created["createdBy"], "bootstrap-admin");
    let (status, problem) = harness
        .post(
            "/v1/environments",
            &harness.admin,
            &json!({"name": "staging"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let (status, problem) = harness
        .post(
            "/v1/environments",
            &harness.admin,
            &json!({"name": "Staging EU"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert_eq!(problem["errors"][0]["path"], "name");
    let (_, list) = harness.get("/v1/environments", &operator).await;
    let names: Vec<&str> = list["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .map(|environment| environment["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, vec!["production", "staging"]);
    let version = harness.push("staging", &operator, &config(1000)).await;
    assert!(version > 0);
    harness.stop().await;
}
