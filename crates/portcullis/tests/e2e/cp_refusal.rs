//! A snapshot the data plane cannot build (a signature key whose secret names an environment
//! variable the data plane does not have, which the control plane's dry run cannot know) is
//! refused: the old version keeps serving, and the refusal shows in `portcullis instances`
//! (table and JSON) and in the audit log as `dataplane.refusal`.

use portcullis_protocol::admin::{AuditPage, InstanceList};

use crate::fleet::setup::{ROUTED_PATH, UPSTREAM_BODY};
use crate::fleet::{Backend, Fleet};
use crate::harness;

/// Set on no data plane (and never by these tests).
const UNSET_SECRET: &str = "PORTCULLIS_E2E_SECRET_NOT_ON_THE_DATA_PLANE";
const REFUSED_FIELD: &str = "authentication.signatures.keys[0].secret";

async fn a_snapshot_the_data_plane_cannot_build_is_refused_and_reported(backend: Backend) {
    let Some(fleet) = Fleet::start(backend).await else {
        return;
    };
    let good = fleet.publish(20000).await;
    let mut dp = fleet.data_plane("dp-1").await;
    let served = dp.wait_for_version(&fleet.client, good).await;

    let base = std::fs::read_to_string(fleet.config_file("base", 19000)).expect("config");
    let unbuildable = base.replacen(
        "services:\n",
        &format!(
            "authentication:\n  signatures:\n    keys:\n      - keyId: partner\n        \
             algorithm: hmac-sha256\n        secret: env:{UNSET_SECRET}\n        subject: acme\n\
             services:\n"
        ),
        1,
    );
    let file = fleet.write_file("unbuildable.yaml", &unbuildable);
    // The control plane validates and activates it: only the data plane can read its secrets.
    let refused = fleet.cli.publish(&file, "needs a secret").await;

    let logged = dp
        .wait_for_line(&format!("refused configuration version {refused} "))
        .await;
    assert!(
        logged.contains(&format!("version {good} (")) && logged.contains("keeps serving"),
        "{logged}"
    );
    assert_eq!(
        dp.config_version(&fleet.client).await,
        served,
        "the old version keeps serving"
    );
    let (status, _, body) = harness::get(&fleet.client, dp.process.listener, ROUTED_PATH).await;
    assert_eq!((status, body.as_str()), (200, UPSTREAM_BODY));

    // The refusal reaches the control plane with the next heartbeat (sent at once).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let instance = loop {
        let list: InstanceList = fleet.cli.json(&["instances"]).await;
        let instance = list
            .instances
            .into_iter()
            .find(|instance| instance.instance_id == "dp-1")
            .filter(|instance| instance.refusal.is_some());
        if let Some(instance) = instance {
            break instance;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the refusal never showed in portcullis instances"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let refusal = instance.refusal.expect("refusal");
    assert_eq!(refusal.config_version, refused);
    assert_eq!(
        instance.loaded.as_ref().map(|loaded| loaded.config_version),
        Some(good)
    );
    let error = refusal
        .errors
        .iter()
        .find(|line| line.starts_with(REFUSED_FIELD))
        .unwrap_or_else(|| panic!("no {REFUSED_FIELD} error in {:?}", refusal.errors));
    assert!(error.contains(UNSET_SECRET), "names the variable: {error}");

    let table = fleet.cli.ok(&["instances"]).await;
    let row: Vec<&str> = table
        .lines()
        .find(|line| line.starts_with("dp-1 "))
        .unwrap_or_else(|| panic!("no dp-1 row:\n{table}"))
        .split_whitespace()
        .collect();
    // INSTANCE ENVIRONMENT POOL STATE VERSION CHECKSUM LOADED LAST-SEEN REFUSED
    assert_eq!(
        (row[4], row[8]),
        (good.to_string().as_str(), refused.to_string().as_str()),
        "{table}"
    );
    assert!(
        table.contains(&format!("dp-1 refused version {refused} ")),
        "{table}"
    );
    assert!(
        table.lines().any(|line| line.trim() == error),
        "the error line is shown: {table}"
    );

    let audit: AuditPage = fleet.cli.json(&["audit"]).await;
    let entry = audit
        .entries
        .iter()
        .find(|entry| entry.action == "dataplane.refusal")
        .unwrap_or_else(|| panic!("no dataplane.refusal entry: {audit:?}"));
    assert_eq!(entry.actor, "dp-1");
    assert_eq!(entry.config_version, Some(refused));
    assert_eq!(entry.environment.as_deref(), Some("production"));
    assert!(
        entry.detail["errors"]
            .as_array()
            .is_some_and(|errors| errors.iter().any(|line| line == error.as_str())),
        "{entry:?}"
    );
    let audit_table = fleet.cli.ok(&["audit"]).await;
    assert!(
        audit_table
            .lines()
            .any(|line| line.contains("dp-1") && line.contains("dataplane.refusal")),
        "{audit_table}"
    );
}

crate::on_both_backends!(a_snapshot_the_data_plane_cannot_build_is_refused_and_reported);
