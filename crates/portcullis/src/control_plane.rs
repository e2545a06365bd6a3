//! `portcullis control-plane`: the control plane's process (store, admin API, publication).
//! SQLite in `<data-dir>/control.db` unless a PostgreSQL (or another SQLite) URL is given.

use std::time::Duration;

use anyhow::Context;
use portcullis_control::{ControlPlane, Settings};

use crate::cli::ControlPlaneArgs;
use crate::shutdown::Shutdown;

pub async fn run(args: ControlPlaneArgs) -> anyhow::Result<()> {
    let settings = settings(&args)?;
    let (shutdown, _trigger) =
        Shutdown::install().context("cannot install the SIGTERM/SIGINT handlers")?;
    let control = ControlPlane::start(settings)
        .await
        .context("cannot start the control plane")?;
    tracing::info!("control plane listening addr={}", control.local_addr());
    control
        .run_until(shutdown.wait())
        .await
        .context("the control plane stopped with an error")?;
    tracing::info!("control plane stopped");
    Ok(())
}

fn settings(args: &ControlPlaneArgs) -> anyhow::Result<Settings> {
    let mut settings = match &args.database_url {
        Some(url) => Settings::new(url.clone(), &args.data_dir),
        None => Settings::embedded(&args.data_dir),
    };
    settings.listen = args.listen.parse().with_context(|| {
        format!(
            "--listen {:?} is not an address; write IP:PORT such as 127.0.0.1:7070",
            args.listen
        )
    })?;
    if !args.environment.is_empty() {
        settings.environments = args.environment.clone();
    }
    settings.long_poll = Duration::from_secs(args.long_poll_seconds);
    settings.heartbeat_interval = Duration::from_secs(args.heartbeat_seconds);
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(args: &[&str]) -> ControlPlaneArgs {
        match Cli::try_parse_from(args)
            .expect("valid command line")
            .command
        {
            Command::ControlPlane(args) => args,
            other => panic!("expected control-plane, got {other:?}"),
        }
    }

    #[test]
    fn the_embedded_default_is_sqlite_in_the_data_dir() {
        let settings = settings(&parse(&[
            "portcullis",
            "control-plane",
            "--data-dir",
            "/srv/cp",
        ]))
        .expect("settings");
        assert_eq!(settings.database_url, "sqlite:///srv/cp/control.db");
        assert_eq!(settings.listen.to_string(), "127.0.0.1:7070");
        assert_eq!(settings.environments, vec!["production".to_string()]);
    }

    #[test]
    fn flags_name_the_database_listener_and_environments() {
        let settings = settings(&parse(&[
            "portcullis",
            "control-plane",
            "--database-url",
            "postgres://postgres@127.0.0.1:5432/test",
            "--listen",
            "0.0.0.0:7171",
            "--environment",
            "staging",
            "--environment",
            "production",
        ]))
        .expect("settings");
        assert_eq!(
            settings.database_url,
            "postgres://postgres@127.0.0.1:5432/test"
        );
        assert_eq!(settings.listen.to_string(), "0.0.0.0:7171");
        assert_eq!(settings.environments, vec!["staging", "production"]);
        let bad = settings_error(&["portcullis", "control-plane", "--listen", "localhost"]);
        assert!(bad.contains("--listen"), "{bad}");
    }

    fn settings_error(args: &[&str]) -> String {
        format!("{:#}", settings(&parse(args)).expect_err("refused"))
    }
}
