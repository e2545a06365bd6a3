//! `portcullis validate FILE`: every error on stderr and exit 1, or a summary and exit 0.
//!
//! The file goes through exactly what start and reload do: validation, then the build on a
//! gateway of its own (`Gateway::prepare`), with this process's environment variables and
//! files as the secrets. Nothing is bound and no connection is opened.

use std::path::Path;
use std::process::ExitCode;

use portcullis_proxy::Gateway;
use portcullis_telemetry::access_log::AccessLog;
use portcullis_telemetry::metrics::Metrics;

use crate::config_source;

pub fn run(file: &Path) -> ExitCode {
    let gateway = Gateway::new(Metrics::new(), AccessLog::disabled());
    let load = config_source::prepare_file(&gateway, file, |validated| {
        crate::install::next_meta(validated, 0)
    });
    match load.result {
        Ok(prepared) => {
            for warning in prepared.warnings() {
                eprintln!("warning: {warning}");
            }
            println!(
                "{}: OK (checksum {}, {} routes)",
                file.display(),
                prepared.loaded().checksum,
                prepared.loaded().snapshot.routes().len()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::FAILURE
        }
    }
}
