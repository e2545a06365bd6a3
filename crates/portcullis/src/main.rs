//! The `portcullis` binary: command line and wiring only. The gateway itself lives in the
//! library crates (`portcullis-proxy`, `portcullis-admin`, ...).

mod apikey;
mod cli;
mod config_source;
mod control_plane;
mod example_upstreams;
mod example_upstreams_command;
mod install;
mod listen;
mod logging;
mod managed;
mod memory;
mod ops;
mod quickstart;
mod reload;
mod run;
mod shutdown;
mod validate;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    // A panic ends only its task (the release profile unwinds): count and log it.
    portcullis_telemetry::panics::install_hook();
    let outcome = match cli.command {
        Command::Version => {
            println!("portcullis {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Validate(args) => return validate::run(&args.file),
        Command::Apikey(args) => apikey::run(&args),
        Command::Serve(args) => with_runtime(args.worker_threads, |runtime| {
            if args.control_plane.is_some() {
                runtime.block_on(managed::serve(args))
            } else {
                runtime.block_on(run::serve(args))
            }
        }),
        Command::ControlPlane(args) => {
            with_runtime(None, |runtime| runtime.block_on(control_plane::run(args)))
        }
        Command::Config(args) => {
            return ops::run(&args.connection, |client, output| {
                ops::config(client, output, &args.command)
            })
        }
        Command::Instances(args) => {
            return ops::run(&args.connection, |client, output| {
                ops::instances(client, output, &args)
            })
        }
        Command::Environments(args) => {
            return ops::run(&args.connection, |client, output| {
                ops::environments(client, output, args.command.as_ref())
            })
        }
        Command::Tokens(args) => {
            return ops::run(&args.connection, |client, output| {
                ops::tokens(client, output, &args.command)
            })
        }
        Command::Audit(args) => {
            return ops::run(&args.connection, |client, output| {
                ops::audit(client, output, &args)
            })
        }
        Command::ExampleUpstreams(args) => with_runtime(Some(1), |runtime| {
            runtime.block_on(example_upstreams_command::run(args))
        }),
        Command::Quickstart(args) => with_runtime(args.worker_threads, |runtime| {
            runtime.block_on(quickstart::run(args))
        }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", describe(&error));
            ExitCode::FAILURE
        }
    }
}

/// The context chain on one line, what failed first, then why. A cause whose text its parent
/// already quotes (errors that print their source) is not repeated.
fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}

fn with_runtime(
    worker_threads: Option<usize>,
    body: impl FnOnce(&tokio::runtime::Runtime) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    // One worker thread runs a current-thread runtime: the same single event loop, without the
    // work-stealing scheduler's cross-thread bookkeeping on every wake-up.
    let mut builder = match worker_threads {
        Some(0 | 1) => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all().thread_name("portcullis-worker");
    if let Some(threads) = worker_threads.filter(|&threads| threads > 1) {
        builder.worker_threads(threads);
    }
    let runtime = builder.build().map_err(|error| {
        anyhow::anyhow!("cannot start the async runtime: {error}; check the process's thread limit")
    })?;
    let result = body(&runtime);
    // Blocking tasks (config parsing, the file watcher) must not hold the exit hostage.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}
