//! The compiler and the index on configurations validation refuses. The public
//! `Snapshot::compile` takes only a `ValidatedConfig`; these tests reach the compiler directly
//! to check what it does not trust validation for (its own errors), how it normalises what it
//! is given, and how lookups rank overlapping routes (random tables overlap freely).

#[path = "../../tests/common/mod.rs"]
mod common;
mod compile_unvalidated;
mod lookup_oracle;

use portcullis_config::Config;

use crate::{CompileError, Snapshot};

/// The compiler without validation in front of it.
fn compile_unvalidated(config: &Config) -> Result<Snapshot, CompileError> {
    crate::compile::compile_snapshot(config)
}
