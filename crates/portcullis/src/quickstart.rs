//! `portcullis quickstart`: the gateway on the embedded `examples/quickstart.yaml` with the
//! example upstreams built in, then curl lines that work at once.

use std::time::Duration;

use anyhow::Context;
use portcullis_config::{Format, ValidatedConfig};
use portcullis_router::Snapshot;

use crate::cli::QuickstartArgs;
use crate::example_upstreams::{self, EXAMPLE_UPSTREAMS};
use crate::run::{self, BoundAddresses, RunOptions};

/// The example configuration, embedded so the quickstart needs no files.
pub const QUICKSTART_YAML: &str = include_str!("../../../examples/quickstart.yaml");

pub async fn run(args: QuickstartArgs) -> anyhow::Result<()> {
    ensure_free(&args.listen, "--listen")?;
    ensure_free(&args.admin, "--admin")?;
    let validated = embedded_config(&args.listen, &args.admin)?;
    let canary_user = user_routed_to(&validated, "orders", "canary");
    let stable_user = user_routed_to(&validated, "orders", "stable");
    example_upstreams::start(&EXAMPLE_UPSTREAMS).await?;
    let listen = args.listen.clone();
    let admin = args.admin.clone();
    let options = RunOptions {
        drain_deadline: Duration::from_secs(args.drain_seconds),
        overrides: crate::listen::ListenOverrides::default(),
        reload: None,
    };
    run::run(validated, QUICKSTART_SOURCE, options, |bound| {
        print_curl_lines(bound, canary_user.as_deref(), stable_user.as_deref());
    })
    .await
    .with_context(|| format!("the quickstart (gateway {listen}, admin {admin}) stopped"))
}

/// Fail early, naming the port and the flag that moves it, when an address is taken.
fn ensure_free(address: &str, flag: &str) -> anyhow::Result<()> {
    let socket_addr: std::net::SocketAddr = address.parse().map_err(|_| {
        anyhow::anyhow!("{flag} {address:?} is not an address: use IP:PORT, e.g. 127.0.0.1:8080")
    })?;
    std::net::TcpListener::bind(socket_addr)
        .map(drop)
        .map_err(|error| {
            anyhow::anyhow!(
            "port {} ({address}) is not available ({error}): stop what uses it, or pass {flag} \
             127.0.0.1:PORT",
            socket_addr.port()
        )
        })
}

/// Where the embedded configuration comes from, as errors name it.
const QUICKSTART_SOURCE: &str = "examples/quickstart.yaml";

/// The embedded configuration with the listener and admin addresses overridden, validated.
pub fn embedded_config(listen: &str, admin: &str) -> anyhow::Result<ValidatedConfig> {
    let invalid = |errors: portcullis_config::ConfigErrors| {
        anyhow::anyhow!("the embedded quickstart configuration is invalid: {errors}")
    };
    let (mut config, _positions) =
        portcullis_config::parse_str(QUICKSTART_YAML, Format::Yaml).map_err(invalid)?;
    let listener = config
        .listeners
        .first_mut()
        .context("the embedded quickstart configuration has no listener")?;
    listener.address = listen.to_string();
    config.admin.address = admin.to_string();
    // Validated after the overrides, so the addresses are checked and in the checksum.
    portcullis_config::validate_config(config).map_err(invalid)
}

/// A user id that the route's canary split sends to `version`, found with the same hashing
/// the gateway uses, so the printed example is right by construction.
fn user_routed_to(validated: &ValidatedConfig, route: &str, version: &str) -> Option<String> {
    let snapshot = Snapshot::compile(validated).ok()?;
    let compiled = snapshot
        .routes()
        .iter()
        .find(|candidate| &*candidate.name == route)?;
    (1..10_000)
        .map(|n| format!("user-{n}"))
        .find(|user| &*compiled.upstream.choose(user.as_bytes()).version == version)
}

fn print_curl_lines(bound: &BoundAddresses, canary_user: Option<&str>, stable_user: Option<&str>) {
    let Some((_, gateway)) = bound.listeners.first() else {
        return;
    };
    let admin = bound.admin;
    let mut lines = vec![
        String::new(),
        format!("Portcullis quickstart: gateway on http://{gateway}, admin on http://{admin}"),
        "Example upstreams: orders stable 127.0.0.1:18081, orders canary 127.0.0.1:18082, users 127.0.0.1:18083".to_string(),
        String::new(),
        "Try:".to_string(),
        format!("  curl -i http://{gateway}/v1/users/42                      # routed GET -> users"),
        format!("  curl -i -X POST -H 'content-type: application/json' -d '{{\"item\":\"book\"}}' http://{gateway}/v1/orders   # POST -> orders"),
    ];
    if let Some(user) = canary_user {
        lines.push(format!("  curl -i -H 'x-user-id: {user}' http://{gateway}/v1/orders/7   # canary split: this user gets orders canary"));
    }
    if let Some(user) = stable_user {
        lines.push(format!("  curl -i -H 'x-user-id: {user}' http://{gateway}/v1/orders/7   # ...and this one stable (90/10 split)"));
    }
    lines.extend([
        format!("  curl -i http://{gateway}/nowhere                          # 404, never forwarded"),
        format!("  curl -i -X DELETE http://{gateway}/v1/users/42            # 405 with Allow: GET"),
        format!("  curl -s http://{admin}/admin/config-version                # version, load time, checksum"),
        format!("  curl -s http://{admin}/metrics | grep portcullis_          # Prometheus metrics"),
        String::new(),
        "Access log: one JSON line per request on stdout. Ctrl-C stops.".to_string(),
        String::new(),
    ]);
    // Printed to stderr with the logs, so stdout stays the access log.
    eprintln!("{}", lines.join("\n"));
}
