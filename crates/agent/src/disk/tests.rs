use std::sync::{Arc, Mutex};

use super::*;
use crate::test_configs::{document, ROUTE_A, ROUTE_B};

const ENVIRONMENT: &str = "production";

fn store(dir: &Path) -> DiskStore {
    DiskStore::open(dir, ENVIRONMENT).expect("open the state directory")
}

fn snapshot(store: &DiskStore, version: i64, route: &str) -> StoredSnapshot {
    let (config, checksum) = document(route);
    store.document("default", version, &checksum, config)
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Runs `work` with the log captured; returns its result and the log text.
fn with_logs<R>(work: impl FnOnce() -> R) -> (R, String) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let result = tracing::subscriber::with_default(subscriber, work);
    let text = String::from_utf8(buffer.0.lock().expect("log buffer").clone()).expect("utf-8");
    (result, text)
}

#[test]
fn a_saved_snapshot_loads_back_verified() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    let saved = snapshot(&store, 3, ROUTE_A);
    store.save(&saved).expect("save");
    let loaded = store.load().expect("a generation");
    assert_eq!(loaded.snapshot, saved);
    assert_eq!(loaded.path, store.current_path());
    let mode = fs::metadata(store.current_path())
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn saves_rotate_and_keep_exactly_two_generations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    for (version, route) in [(1, "one"), (2, "two"), (3, "three")] {
        store.save(&snapshot(&store, version, route)).expect("save");
    }
    assert_eq!(file_names(dir.path()), [CURRENT_FILE, PREVIOUS_FILE]);
    let versions: Vec<i64> = store
        .generations()
        .map(|generation| generation.snapshot.config_version)
        .collect();
    assert_eq!(versions, [3, 2]);
}

/// Damage done to the current generation, and the word its log line must carry.
type Damage = fn(&mut Vec<u8>);

#[test]
fn a_damaged_current_generation_falls_back_to_the_previous_one_and_is_logged() {
    let cases: [(&str, Damage, &str); 4] = [
        (
            "truncated",
            |bytes| bytes.truncate(bytes.len() / 2),
            "truncated",
        ),
        ("bit flipped", |bytes| bytes[40] ^= 0x04, "corrupt"),
        ("emptied", |bytes| bytes.clear(), "truncated"),
        (
            "trailer cut",
            |bytes| bytes.truncate(bytes.len() - 5),
            "truncated",
        ),
    ];
    for (name, damage, word) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store(dir.path());
        store.save(&snapshot(&store, 1, ROUTE_A)).expect("save 1");
        store.save(&snapshot(&store, 2, ROUTE_B)).expect("save 2");
        let mut bytes = fs::read(store.current_path()).expect("read");
        damage(&mut bytes);
        fs::write(store.current_path(), bytes).expect("write");

        let (loaded, logs) = with_logs(|| store.load());
        let loaded = loaded.unwrap_or_else(|| panic!("{name}: previous generation expected"));
        assert_eq!(loaded.snapshot.config_version, 1, "{name}");
        assert_eq!(loaded.path, store.previous_path(), "{name}");
        let current = store.current_path().display().to_string();
        assert!(
            logs.lines()
                .any(|line| line.contains(&current) && line.contains(word)),
            "{name}: the log names the path and why:\n{logs}"
        );
    }
}

#[test]
fn both_generations_bad_loads_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    store.save(&snapshot(&store, 1, ROUTE_A)).expect("save 1");
    store.save(&snapshot(&store, 2, ROUTE_B)).expect("save 2");
    fs::write(store.current_path(), b"{\"format\":1,").expect("truncate current");
    let mut previous = fs::read(store.previous_path()).expect("read");
    previous[10] ^= 0x01;
    fs::write(store.previous_path(), previous).expect("flip previous");
    let (loaded, logs) = with_logs(|| store.load());
    assert!(loaded.is_none());
    assert!(
        logs.contains(&store.current_path().display().to_string()),
        "{logs}"
    );
    assert!(
        logs.contains(&store.previous_path().display().to_string()),
        "{logs}"
    );
}

#[test]
fn an_empty_state_directory_loads_nothing_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    let (loaded, logs) = with_logs(|| store.load());
    assert!(loaded.is_none());
    assert!(!logs.contains("WARN"), "{logs}");
}

#[test]
fn another_environments_generation_is_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ours = store(dir.path());
    ours.save(&snapshot(&ours, 1, ROUTE_A)).expect("save ours");
    let staging = DiskStore::open(dir.path(), "staging").expect("open");
    staging
        .save(&snapshot(&staging, 9, ROUTE_B))
        .expect("save staging");
    let (loaded, logs) = with_logs(|| ours.load());
    let loaded = loaded.expect("our previous generation");
    assert_eq!(loaded.snapshot.config_version, 1);
    assert!(logs.contains("another environment"), "{logs}");
    assert!(
        logs.contains("\\\"staging\\\"") || logs.contains("staging"),
        "{logs}"
    );
    assert!(matches!(
        ours.verify(&ours.current_path()),
        Err(Skip::OtherEnvironment { .. })
    ));
}

#[test]
fn a_stored_checksum_that_does_not_match_the_configuration_is_skipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    store.save(&snapshot(&store, 1, ROUTE_A)).expect("save");
    let mut wrong = snapshot(&store, 2, ROUTE_B);
    wrong.checksum = document(ROUTE_A).1;
    // A well-formed file (its trailer matches) whose checksum field lies.
    store.save(&wrong).expect("save wrong");
    let (loaded, logs) = with_logs(|| store.load());
    assert_eq!(loaded.expect("previous").snapshot.config_version, 1);
    assert!(logs.contains("checksum mismatch"), "{logs}");
}

#[test]
fn a_crash_between_the_two_renames_still_leaves_a_good_generation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    store.save(&snapshot(&store, 1, ROUTE_A)).expect("save 1");
    store.save(&snapshot(&store, 2, ROUTE_B)).expect("save 2");
    // The third save stopped after renaming current → previous: previous holds version 2,
    // the complete new file is still under its temporary name, there is no current file.
    fs::rename(store.current_path(), store.previous_path()).expect("rotate");
    let temp = dir.path().join(".snapshot.4242.0000000000000001.tmp");
    fs::write(
        &temp,
        encode(&snapshot(&store, 3, "three")).expect("encode"),
    )
    .expect("write temp");

    let loaded = store.load().expect("a generation");
    assert_eq!(loaded.snapshot.config_version, 2);
    assert_eq!(loaded.path, store.previous_path());

    // The next save cleans the leftover and rotates normally.
    store.save(&snapshot(&store, 4, "four")).expect("save 4");
    assert_eq!(file_names(dir.path()), [CURRENT_FILE, PREVIOUS_FILE]);
    let versions: Vec<i64> = store
        .generations()
        .map(|generation| generation.snapshot.config_version)
        .collect();
    assert_eq!(versions, [4, 2]);
}

#[test]
fn a_crash_before_the_first_rename_keeps_both_generations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    store.save(&snapshot(&store, 1, ROUTE_A)).expect("save 1");
    store.save(&snapshot(&store, 2, ROUTE_B)).expect("save 2");
    // Cut short while writing the temporary file.
    let partial = encode(&snapshot(&store, 3, "three")).expect("encode");
    fs::write(
        dir.path().join(".snapshot.4242.0000000000000002.tmp"),
        &partial[..partial.len() / 3],
    )
    .expect("write temp");
    assert_eq!(store.load().expect("current").snapshot.config_version, 2);
}

#[test]
fn a_damaged_current_is_replaced_without_pushing_out_the_good_previous() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = store(dir.path());
    store.save(&snapshot(&store, 1, ROUTE_A)).expect("save 1");
    store.save(&snapshot(&store, 2, ROUTE_B)).expect("save 2");
    fs::write(store.current_path(), b"garbage").expect("damage current");
    store.save(&snapshot(&store, 3, "three")).expect("save 3");
    let versions: Vec<i64> = store
        .generations()
        .map(|generation| generation.snapshot.config_version)
        .collect();
    assert_eq!(versions, [3, 1]);
}

#[test]
fn a_missing_state_directory_is_created_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("nested/state");
    let store = DiskStore::open(&state, ENVIRONMENT).expect("created");
    let mode = fs::metadata(store.dir())
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700);
    assert!(
        file_names(&state).is_empty(),
        "the write check leaves nothing"
    );
}

#[test]
fn a_state_directory_that_cannot_be_used_is_an_error_naming_the_path_and_the_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    fs::write(&file, b"x").expect("write");
    for path in [file.clone(), file.join("below")] {
        let error = DiskStore::open(&path, ENVIRONMENT).expect_err("refused");
        let message = error.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains("--state-dir"), "{message}");
    }
}
