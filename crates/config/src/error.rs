//! Errors a user sees: each names the field path, where it is in the file, and the fix.

use std::fmt;

/// A 1-based position in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// One problem in a configuration document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Field path such as `routes[3].policies.timeoutMs`; empty for the whole document.
    pub path: String,
    /// Where the field is in the source text, when the config came from text.
    pub location: Option<Location>,
    /// What is wrong, with the offending value and what to write instead.
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            path: path.into(),
            location: None,
            message: message.into(),
        }
    }

    pub fn at(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.path.is_empty(), self.location) {
            (false, Some(location)) => write!(f, "{} ({location}): {}", self.path, self.message),
            (false, None) => write!(f, "{}: {}", self.path, self.message),
            (true, Some(location)) => write!(f, "{location}: {}", self.message),
            (true, None) => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Every error found in one configuration document, reported together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The file (or other source) the document came from.
    pub source_name: Option<String>,
    pub errors: Vec<ConfigError>,
}

impl ConfigErrors {
    pub fn new(errors: Vec<ConfigError>) -> Self {
        ConfigErrors {
            source_name: None,
            errors,
        }
    }

    pub fn single(error: ConfigError) -> Self {
        ConfigErrors::new(vec![error])
    }

    pub fn with_source(mut self, source_name: impl Into<String>) -> Self {
        self.source_name = Some(source_name.into());
        self
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ConfigError> {
        self.errors.iter()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.errors.len();
        let noun = if count == 1 { "error" } else { "errors" };
        match &self.source_name {
            Some(source) => write!(f, "invalid configuration in {source} ({count} {noun}):")?,
            None => write!(f, "invalid configuration ({count} {noun}):")?,
        }
        for error in &self.errors {
            write!(f, "\n{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

impl<'a> IntoIterator for &'a ConfigErrors {
    type Item = &'a ConfigError;
    type IntoIter = std::slice::Iter<'a, ConfigError>;
    fn into_iter(self) -> Self::IntoIter {
        self.errors.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_path_location_and_message() {
        let error = ConfigError::new(
            "routes[3].policies.timeoutMs",
            "timeoutMs 45000 is above the 30000 limit",
        )
        .at(Some(Location {
            line: 12,
            column: 18,
        }));
        assert_eq!(
            error.to_string(),
            "routes[3].policies.timeoutMs (line 12, column 18): timeoutMs 45000 is above the 30000 limit"
        );
        assert_eq!(ConfigError::new("a", "b").to_string(), "a: b");
    }

    #[test]
    fn errors_list_one_per_line() {
        let errors = ConfigErrors::new(vec![
            ConfigError::new("a", "first"),
            ConfigError::new("b", "second"),
        ])
        .with_source("gateway.yaml");
        let text = errors.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            vec![
                "invalid configuration in gateway.yaml (2 errors):",
                "a: first",
                "b: second"
            ]
        );
    }
}
