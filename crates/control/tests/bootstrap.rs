//! The first admin token: written once to `<data-dir>/admin.token` (0600, never overwritten),
//! usable at once, and not made again while a usable admin token exists.

mod support;

use std::os::unix::fs::PermissionsExt;

use portcullis_control::ControlPlane;
use reqwest::StatusCode;
use serde_json::json;
use support::{Backend, Harness, Storage};

both_backends!(the_first_admin_token_is_written_once_and_works);

async fn the_first_admin_token_is_written_once_and_works(backend: Backend) {
    let Some(storage) = Storage::new(backend).await else {
        return;
    };
    let settings = storage.settings();
    let path = settings.admin_token_path();
    let harness = Harness::start_with(storage, settings.clone()).await;
    let mode = std::fs::metadata(&path)
        .expect("token file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "only the owner reads the token file");
    let written = std::fs::read_to_string(&path).expect("token");
    assert!(
        written.starts_with("pct_") && written.trim().len() == 47,
        "{written:?}"
    );
    let (status, me) = harness.get("/v1/whoami", &harness.admin).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me, json!({"name": "bootstrap-admin", "role": "admin"}));
    let (_, tokens) = harness.get("/v1/tokens", &harness.admin).await;
    assert!(
        !tokens.to_string().contains(written.trim()),
        "the secret is never listed"
    );
    let Harness {
        control, storage, ..
    } = harness;
    control
        .expect("running")
        .shutdown()
        .await
        .expect("shutdown");

    // A restart finds the usable admin token and leaves the file alone.
    let control = ControlPlane::start(settings.clone())
        .await
        .expect("restart");
    assert_eq!(std::fs::read_to_string(&path).expect("token"), written);
    control.shutdown().await.expect("shutdown");

    // A fresh store with the old file in the way: no token is made, the file is not touched.
    let fresh = Storage::new(backend).await.expect("fresh storage");
    let mut fresh_settings = fresh.settings();
    fresh_settings.data_dir = settings.data_dir.clone();
    let control = ControlPlane::start(fresh_settings).await.expect("start");
    assert_eq!(std::fs::read_to_string(&path).expect("token"), written);
    assert_eq!(
        control.store().usable_admin_tokens().await.expect("count"),
        0
    );
    control.shutdown().await.expect("shutdown");
    drop(storage);
}
