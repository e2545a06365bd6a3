//! `portcullis validate FILE`: every error on stderr and exit 1, or a summary and exit 0.

use std::path::Path;
use std::process::ExitCode;

use crate::config_source;

pub fn run(file: &Path) -> ExitCode {
    match config_source::prepare_file(file) {
        Ok(prepared) => {
            for warning in &prepared.warnings {
                eprintln!("warning: {warning}");
            }
            println!(
                "{}: OK (checksum {}, {} routes)",
                file.display(),
                prepared.checksum,
                prepared.snapshot.routes().len()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}
