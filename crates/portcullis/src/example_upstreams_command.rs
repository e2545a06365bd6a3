//! `portcullis example-upstreams`: the quickstart's example upstreams alone, until
//! SIGTERM/SIGINT, so a walkthrough (a control plane and data planes serving
//! `examples/quickstart.yaml`) has upstreams without installing anything.

use anyhow::Context;

use crate::cli::ExampleUpstreamsArgs;
use crate::example_upstreams::{self, EXAMPLE_UPSTREAMS};
use crate::shutdown::Shutdown;

pub async fn run(args: ExampleUpstreamsArgs) -> anyhow::Result<()> {
    let (shutdown, _trigger) =
        Shutdown::install().context("cannot install the SIGTERM/SIGINT handlers")?;
    let [orders_stable, orders_canary, users] = EXAMPLE_UPSTREAMS;
    let wanted = [
        (
            orders_stable,
            args.orders_stable.as_str(),
            "--orders-stable",
        ),
        (
            orders_canary,
            args.orders_canary.as_str(),
            "--orders-canary",
        ),
        (users, args.users.as_str(), "--users"),
    ];
    let mut listening = Vec::with_capacity(wanted.len());
    for (upstream, address, flag) in wanted {
        let addr = example_upstreams::start_at(upstream, address)
            .await
            .map_err(|error| {
                anyhow::anyhow!(
                    "{error}; stop what uses it, or move this upstream with {flag} IP:PORT"
                )
            })?;
        listening.push(format!("{}={addr}", flag.trim_start_matches("--")));
    }
    // A stable line: scripts wait for it.
    tracing::info!("example upstreams listening {}", listening.join(" "));
    shutdown.wait().await;
    tracing::info!("example upstreams stopped");
    Ok(())
}
