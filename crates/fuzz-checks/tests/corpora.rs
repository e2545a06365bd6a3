//! Every fuzz target's seeds (`fuzz/corpus/<target>/`) and past crash inputs
//! (`fuzz/regressions/<target>/`) through the target's contract, on stable. A target without
//! seeds, or a binary in fuzz/ that is not in `TARGETS`, fails the test.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use portcullis_fuzz_checks::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files directly in `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths
}

#[test]
fn every_seed_and_regression_keeps_its_target_contract() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for (name, check) in TARGETS {
        let seeds = files(&fuzz_dir().join("corpus").join(name));
        assert!(
            !seeds.is_empty(),
            "fuzz/corpus/{name}/ has no seeds: add at least one input (see docs/fuzzing.md)"
        );
        let regressions = files(&fuzz_dir().join("regressions").join(name));
        for path in seeds.iter().chain(regressions.iter()) {
            let bytes = std::fs::read(path).unwrap_or_else(|error| panic!("{path:?}: {error}"));
            if catch_unwind(AssertUnwindSafe(|| check(&bytes))).is_err() {
                failures.push(path.display().to_string());
            }
            ran += 1;
        }
    }
    assert!(failures.is_empty(), "contract broken by: {failures:#?}");
    println!("{ran} corpus and regression inputs kept their contracts");
}

#[test]
fn every_fuzz_binary_is_a_listed_target() {
    let mut binaries: Vec<String> = files(&fuzz_dir().join("fuzz_targets"))
        .iter()
        .filter_map(|path| path.file_stem()?.to_str().map(str::to_string))
        .collect();
    binaries.sort();
    let mut listed: Vec<String> = TARGETS.iter().map(|(name, _)| name.to_string()).collect();
    listed.sort();
    assert_eq!(binaries, listed, "fuzz/fuzz_targets and TARGETS differ");
}
