//! The operators' CLI against a real control plane, on SQLite and PostgreSQL: the version
//! lifecycle (push → validate → list → show → diff → activate → rollback) in tables and in
//! `--output json` (the API's own documents), and the exit code of every refusal
//! (`crates/portcullis/src/ops/mod.rs`): 1 invalid, 2 usage, 3 conflict, 4 not found,
//! 5 not allowed, 6 unreachable.

use portcullis_protocol::admin::{
    Activation, ActivationKind, Problem, ValidationReport, Version, VersionDiff, VersionPage,
    VersionStatus, VersionSummary,
};

use crate::fleet::{Backend, Fleet};
use crate::harness;

async fn the_version_lifecycle_through_the_cli(backend: Backend) {
    let Some(fleet) = Fleet::start(backend).await else {
        return;
    };
    let cli = &fleet.cli;
    let first = fleet.config_file("first", 20000);
    let second = fleet.config_file("second", 19000);

    let pushed = cli
        .ok(&[
            "config",
            "push",
            path(&first),
            "-m",
            "first 'quoted' \"text\"",
        ])
        .await;
    assert!(
        pushed.starts_with("pushed version 1 to production (DRAFT, sha256:"),
        "{pushed}"
    );
    let validated = cli.ok(&["config", "validate", "1"]).await;
    assert!(
        validated.starts_with("version 1 is VALIDATED: 1 routes, 1 services, sha256:"),
        "{validated}"
    );
    let activated = cli.ok(&["config", "activate", "1"]).await;
    assert_eq!(activated, "version 1 is ACTIVE in production\n");

    let summary: VersionSummary = cli
        .json(&["config", "push", path(&second), "-m", "tighter timeout"])
        .await;
    assert_eq!(
        (
            summary.config_version,
            summary.status,
            summary.parent_version
        ),
        (2, VersionStatus::Draft, Some(1))
    );
    assert_eq!(summary.created_by, "bootstrap-admin", "from the token");
    let report: ValidationReport = cli.json(&["config", "validate", "2"]).await;
    assert_eq!(
        (report.version.status, report.routes, report.services),
        (VersionStatus::Validated, 1, 1)
    );

    let list = cli.ok(&["config", "list"]).await;
    let rows: Vec<Vec<&str>> = list
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0][..3], ["VERSION", "STATUS", "CREATED"], "{list}");
    assert_eq!(rows[1][..2], ["2", "VALIDATED"], "{list}");
    assert_eq!(rows[2][..2], ["1", "ACTIVE"], "{list}");
    assert!(list.contains("first 'quoted' \"text\""), "verbatim: {list}");

    let shown = cli.ok(&["config", "show", "2"]).await;
    assert!(
        shown.contains("VALIDATED") && shown.contains("tighter timeout"),
        "{shown}"
    );
    let version: Version = cli.json(&["config", "show", "2"]).await;
    assert_eq!(version.summary, report.version);
    assert_eq!(version.config["routes"][0]["policies"]["timeoutMs"], 19000);
    let document = cli.ok(&["config", "show", "2", "--config"]).await;
    let document: serde_json::Value = serde_json::from_str(&document).expect("--config is JSON");
    assert_eq!(document, version.config);

    let diff = cli.ok(&["config", "diff", "1", "2"]).await;
    assert_eq!(
        diff,
        "from version 1 to 2:\n~ routes[name=svc].policies.timeoutMs: 20000 -> 19000\n"
    );
    let diff: VersionDiff = cli.json(&["config", "diff", "1", "2"]).await;
    assert_eq!(
        (diff.added.len(), diff.removed.len(), diff.changed.len()),
        (0, 0, 1)
    );
    assert_eq!(diff.changed[0].path, "routes[name=svc].policies.timeoutMs");

    let activation: Activation = cli.json(&["config", "activate", "2"]).await;
    assert_eq!(
        (
            activation.config_version,
            activation.previous_version,
            activation.kind
        ),
        (2, Some(1), ActivationKind::Activate)
    );
    assert_eq!(activation.actor, "bootstrap-admin");
    let page: VersionPage = cli.json(&["config", "list"]).await;
    let statuses: Vec<(i64, VersionStatus)> = page
        .versions
        .iter()
        .map(|version| (version.config_version, version.status))
        .collect();
    assert_eq!(
        statuses,
        [(2, VersionStatus::Active), (1, VersionStatus::Validated)]
    );

    let rolled_back = cli.ok(&["config", "rollback"]).await;
    assert_eq!(
        rolled_back,
        "rolled back production: version 2 is ROLLED_BACK, version 1 is ACTIVE\n"
    );
    let page: VersionPage = cli.json(&["config", "list"]).await;
    assert_eq!(page.versions[0].status, VersionStatus::RolledBack);
    assert_eq!(page.versions[1].status, VersionStatus::Active);
    // Nothing is left to roll back to: version 1 has no earlier activation.
    let refused = cli.run(&["config", "rollback", "--output", "json"]).await;
    assert_eq!(
        refused.expect_code(3).json::<Problem>().code,
        "no_rollback_target"
    );
}

async fn every_refusal_has_its_documented_exit_code(backend: Backend) {
    let Some(mut fleet) = Fleet::start(backend).await else {
        return;
    };
    let cli = fleet.cli.clone();
    let active = fleet.publish(20000).await;
    let newer = fleet.publish(19000).await;
    cli.ok(&["config", "rollback"]).await;
    let draft = cli
        .json::<VersionSummary>(&["config", "push", path(&fleet.config_file("draft", 18000))])
        .await
        .config_version;
    let versions = [active, newer, draft];

    // 3: a DRAFT and a ROLLED_BACK version cannot be activated (409 with its code).
    for (version, code) in [
        (draft, "version_not_validated"),
        (newer, "version_rolled_back"),
    ] {
        let run = cli
            .run(&[
                "config",
                "activate",
                &version.to_string(),
                "--output",
                "json",
            ])
            .await;
        let problem: Problem = run.expect_code(3).json();
        assert_eq!((problem.status, problem.code.as_str()), (409, code));
        assert!(run.stderr.contains("(409)"), "{}", run.stderr);
    }
    // 4: an unknown version or environment.
    for args in [
        &["config", "show", "999"][..],
        &["config", "activate", "999"],
        &["config", "validate", "999"],
        &["config", "list", "--environment", "nowhere"],
    ] {
        cli.run(args).await.expect_code(4);
    }
    // 2: no token at all (nothing is sent); an unreadable file.
    let no_token = cli.without_token().run(&["config", "list"]).await;
    assert!(no_token.expect_code(2).stderr.contains("no API token"));
    let missing = fleet.dir.path().join("absent.yaml");
    let unreadable = cli.run(&["config", "push", path(&missing)]).await;
    assert!(
        unreadable.expect_code(2).stderr.contains("absent.yaml"),
        "{}",
        unreadable.stderr
    );
    // 5: a viewer reads but cannot push; a revoked token can do nothing.
    let viewer_file = cli
        .create_token("auditor", "viewer", fleet.dir.path())
        .await;
    let viewer = cli.with_token_file(&viewer_file);
    viewer.ok(&["config", "list"]).await;
    let forbidden = viewer
        .run(&[
            "config",
            "push",
            path(&fleet.config_file("viewer", 17000)),
            "--output",
            "json",
        ])
        .await;
    assert_eq!(forbidden.expect_code(5).json::<Problem>().status, 403);
    let bogus = fleet.write_file("bogus.token", "pct_not-a-real-token\n");
    cli.with_token_file(&bogus)
        .run(&["config", "list"])
        .await
        .expect_code(5);

    // 1: a file the local check refuses: every error with line:column; nothing is stored.
    let invalid = std::fs::read_to_string(fleet.config_file("invalid", 17000))
        .expect("config")
        .replace("timeoutMs: 17000", "timeoutMs: 45000");
    let invalid = fleet.write_file("invalid.yaml", &invalid);
    let run = cli.run(&["config", "push", path(&invalid)]).await;
    run.expect_code(1);
    let line = run
        .stderr
        .lines()
        .find(|line| line.starts_with("routes[0].policies.timeoutMs (line "))
        .unwrap_or_else(|| panic!("no positioned error:\n{}", run.stderr));
    assert!(
        line.contains(", column ") && line.contains("45000"),
        "{line}"
    );
    assert!(run.stderr.contains("nothing was pushed"), "{}", run.stderr);
    // 1: a file the local check accepts and the control plane refuses at push: a NUL
    // character (U+0000), which no store keeps; the answer names the field.
    let nul = std::fs::read_to_string(fleet.config_file("nul", 16500))
        .expect("config")
        .replacen(
            "services:\n",
            "authentication:\n  apiKeys:\n    keys:\n      - id: k1\n        hash: \
             sha256:0000000000000000000000000000000000000000000000000000000000000000\n\
             services:\n",
            1,
        )
        .replace(
            "      auth: none\n",
            "      auth: required\n      authorization:\n        requiredScopes: [\"orders\\0read\"]\n",
        );
    let nul = fleet.write_file("nul.yaml", &nul);
    let (exit, _, stderr) = harness::run_to_end(&["validate", path(&nul)]);
    assert_eq!(exit.code(), Some(0), "the local check accepts it: {stderr}");
    let run = cli
        .run(&["config", "push", path(&nul), "--output", "json"])
        .await;
    let problem: Problem = run.expect_code(1).json();
    assert_eq!(
        (problem.status, problem.errors[0].path.as_str()),
        (422, "routes[0].policies.authorization.requiredScopes[0]"),
        "{problem:?}"
    );
    // 1: a file the local check accepts and the control plane's validation refuses (its
    // build dry-run: an inline key set with no key); it stays a DRAFT.
    let keyless = std::fs::read_to_string(fleet.config_file("keyless", 16000))
        .expect("config")
        .replacen(
            "services:\n",
            "authentication:\n  jwt:\n    issuers:\n      - issuer: https://issuer.test\n        \
             jwks: {\"keys\": []}\nservices:\n",
            1,
        );
    let keyless = fleet.write_file("keyless.yaml", &keyless);
    let stored: VersionSummary = cli.json(&["config", "push", path(&keyless)]).await;
    let run = cli
        .run(&[
            "config",
            "validate",
            &stored.config_version.to_string(),
            "--output",
            "json",
        ])
        .await;
    let problem: Problem = run.expect_code(1).json();
    assert_eq!(problem.status, 422);
    assert!(
        problem
            .errors
            .iter()
            .any(|issue| issue.path.starts_with("authentication.jwt.issuers[0].jwks")),
        "{problem:?}"
    );
    assert!(
        run.stderr.contains("authentication.jwt.issuers[0].jwks"),
        "{}",
        run.stderr
    );
    let page: VersionPage = cli.json(&["config", "list"]).await;
    let listed: Vec<(i64, VersionStatus)> = page
        .versions
        .iter()
        .map(|version| (version.config_version, version.status))
        .collect();
    assert_eq!(
        listed,
        [
            (stored.config_version, VersionStatus::Draft),
            (versions[2], VersionStatus::Draft),
            (versions[1], VersionStatus::RolledBack),
            (versions[0], VersionStatus::Active),
        ],
        "the invalid, NUL-bearing and forbidden pushes stored nothing"
    );

    // 6: the control plane cannot be reached.
    fleet.control.kill();
    let down = cli.run(&["config", "list"]).await;
    assert!(
        down.expect_code(6)
            .stderr
            .contains("cannot reach the control plane"),
        "{}",
        down.stderr
    );
}

async fn two_racing_activations_with_one_expectation_one_wins(backend: Backend) {
    let Some(fleet) = Fleet::start(backend).await else {
        return;
    };
    let mut active = fleet.publish(20000).await;
    for round in 0..3u32 {
        let mut candidates = Vec::new();
        for side in 0..2u32 {
            let file =
                fleet.config_file(&format!("race-{round}-{side}"), 19000 - round * 10 - side);
            let pushed: VersionSummary = fleet.cli.json(&["config", "push", path(&file)]).await;
            let version = pushed.config_version.to_string();
            fleet.cli.ok(&["config", "validate", &version]).await;
            candidates.push(version);
        }
        let expected = active.to_string();
        let race = |version: &str| {
            let cli = fleet.cli.clone();
            let args: Vec<String> = [
                "config",
                "activate",
                version,
                "--expect-active",
                &expected,
                "--output",
                "json",
            ]
            .iter()
            .map(|arg| arg.to_string())
            .collect();
            async move {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                cli.run(&args).await
            }
        };
        let (left, right) = tokio::join!(race(&candidates[0]), race(&candidates[1]));
        let mut codes = [left.code, right.code];
        codes.sort();
        assert_eq!(codes, [0, 3], "round {round}: {left:?}\n{right:?}");
        let (winner, loser) = if left.code == 0 {
            (left, right)
        } else {
            (right, left)
        };
        let activation: Activation = winner.json();
        assert_eq!(activation.previous_version, Some(active));
        let problem: Problem = loser.json();
        assert_eq!(problem.code, "active_version_changed", "{problem:?}");
        active = activation.config_version;
        let page: VersionPage = fleet.cli.json(&["config", "list"]).await;
        let active_now: Vec<i64> = page
            .versions
            .iter()
            .filter(|version| version.status == VersionStatus::Active)
            .map(|version| version.config_version)
            .collect();
        assert_eq!(active_now, [active], "round {round}: one ACTIVE version");
    }
}

fn path(file: &std::path::Path) -> &str {
    file.to_str().expect("utf-8 path")
}

crate::on_both_backends!(
    the_version_lifecycle_through_the_cli,
    every_refusal_has_its_documented_exit_code,
    two_racing_activations_with_one_expectation_one_wins,
);
