//! Portcullis configuration: the external model, parsing (YAML and JSON) with line:column
//! errors, validation with field paths, and the canonical checksum.

pub mod model;

pub use model::*;
