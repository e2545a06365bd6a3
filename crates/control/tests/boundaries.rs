//! The dependency rules of the architecture, checked on the resolved workspace
//! (`cargo metadata`): the data plane never links the control plane or a database driver, and
//! the control plane never links the data plane's crates. A new dependency that would break
//! either rule fails here rather than in review.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

/// Every package `root` links in a normal (non-dev, non-build) build, itself excluded.
fn closure(metadata: &serde_json::Value, root: &str) -> BTreeSet<String> {
    let packages = metadata["packages"].as_array().expect("packages");
    let name_of: HashMap<&str, &str> = packages
        .iter()
        .map(|package| {
            (
                package["id"].as_str().expect("id"),
                package["name"].as_str().expect("name"),
            )
        })
        .collect();
    let nodes = metadata["resolve"]["nodes"].as_array().expect("resolve");
    let edges: HashMap<&str, Vec<&str>> = nodes
        .iter()
        .map(|node| {
            let id = node["id"].as_str().expect("node id");
            let normal = node["deps"]
                .as_array()
                .expect("deps")
                .iter()
                .filter(|dependency| {
                    dependency["dep_kinds"]
                        .as_array()
                        .expect("dep_kinds")
                        .iter()
                        .any(|kind| kind["kind"].is_null())
                })
                .map(|dependency| dependency["pkg"].as_str().expect("pkg"))
                .collect();
            (id, normal)
        })
        .collect();
    let start = name_of
        .iter()
        .find(|(_, name)| **name == root)
        .map(|(id, _)| *id)
        .unwrap_or_else(|| panic!("{root} is not in the workspace"));
    let mut seen = BTreeSet::new();
    let mut stack = vec![start];
    while let Some(id) = stack.pop() {
        for next in edges.get(id).into_iter().flatten() {
            if seen.insert(*next) {
                stack.push(next);
            }
        }
    }
    seen.iter().map(|id| name_of[id].to_string()).collect()
}

fn metadata() -> serde_json::Value {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata JSON")
}

#[test]
fn the_data_plane_never_links_the_control_plane_or_a_database_driver() {
    let metadata = metadata();
    for data_plane in ["portcullis-proxy", "portcullis-admin", "portcullis-agent"] {
        let linked = closure(&metadata, data_plane);
        let forbidden: Vec<&String> = linked
            .iter()
            .filter(|name| name.as_str() == "portcullis-control" || name.starts_with("sqlx"))
            .collect();
        assert!(
            forbidden.is_empty(),
            "{data_plane} links {forbidden:?}: the data plane speaks to the control plane over \
             HTTP (portcullis-protocol) and never links its store"
        );
    }
}

#[test]
fn the_control_plane_never_links_the_data_plane() {
    let linked = closure(&metadata(), "portcullis-control");
    for data_plane in [
        "portcullis-proxy",
        "portcullis-admin",
        "portcullis-agent",
        "portcullis-telemetry",
        "portcullis-ratelimit-redis",
    ] {
        assert!(
            !linked.contains(data_plane),
            "portcullis-control links {data_plane}: it may use only the pure crates \
             (config, router, policy, protocol)"
        );
    }
    assert!(linked.contains("sqlx"), "the closure walk found the store");
}
