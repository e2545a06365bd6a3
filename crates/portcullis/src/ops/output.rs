//! Where and how a command writes its result: human text, or the API's JSON documents.

use super::args::OutputFormat;

/// Where and how a command writes its result.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub(super) format: OutputFormat,
}

impl Output {
    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// One JSON document on one line of stdout.
    pub fn json<T: serde::Serialize + ?Sized>(&self, value: &T) {
        match serde_json::to_string(value) {
            Ok(text) => println!("{text}"),
            Err(error) => eprintln!("error: cannot write JSON output: {error}"),
        }
    }

    /// The JSON document in `--output json`, else the human text.
    pub fn show<T: serde::Serialize + ?Sized>(&self, value: &T, human: impl FnOnce() -> String) {
        if self.is_json() {
            self.json(value);
        } else {
            print!("{}", human());
        }
    }
}
