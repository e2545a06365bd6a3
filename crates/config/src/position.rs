//! Where each field of a parsed document sits in its source text.

use std::collections::HashMap;

use crate::error::Location;

/// Field path (`routes[3].policies.timeoutMs`) to the position of its value, and of its key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PositionMap {
    values: HashMap<String, Location>,
    keys: HashMap<String, Location>,
}

impl PositionMap {
    pub fn new() -> Self {
        PositionMap::default()
    }

    pub(crate) fn insert_value(&mut self, path: &str, location: Location) {
        self.values.entry(path.to_string()).or_insert(location);
    }

    pub(crate) fn insert_key(&mut self, path: &str, location: Location) {
        self.keys.entry(path.to_string()).or_insert(location);
    }

    /// The position of the value at exactly this path.
    pub fn get(&self, path: &str) -> Option<Location> {
        self.values.get(path).copied()
    }

    /// The position of the mapping key that introduces this path.
    pub fn key(&self, path: &str) -> Option<Location> {
        self.keys.get(path).copied()
    }

    /// The position of this path, or of its nearest ancestor that has one (a default value
    /// that is not in the file is reported at the mapping that omits it).
    pub fn locate(&self, path: &str) -> Option<Location> {
        let mut current = path;
        loop {
            if let Some(location) = self.get(current) {
                return Some(location);
            }
            if current.is_empty() {
                return None;
            }
            current = parent_path(current);
        }
    }

    /// The order of every path of a document that has no text: `line` is the path's rank in
    /// a depth-first walk (members in document order), `column` 0. For sorting errors in
    /// document order; never shown as a position.
    pub(crate) fn document_order(document: &serde_json::Value) -> PositionMap {
        let mut order = PositionMap::new();
        let mut pending = vec![(String::new(), document)];
        while let Some((path, value)) = pending.pop() {
            let rank = u32::try_from(order.values.len()).unwrap_or(u32::MAX);
            order.insert_value(
                &path,
                Location {
                    line: rank,
                    column: 0,
                },
            );
            match value {
                serde_json::Value::Object(members) => pending.extend(
                    members
                        .iter()
                        .rev()
                        .map(|(key, member)| (join_key(&path, key), member)),
                ),
                serde_json::Value::Array(items) => pending.extend(
                    items
                        .iter()
                        .enumerate()
                        .rev()
                        .map(|(index, item)| (join_index(&path, index), item)),
                ),
                _ => {}
            }
        }
        order
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// `routes[3].policies` → `routes[3]` → `routes` → ``.
pub fn parent_path(path: &str) -> &str {
    if path.ends_with(']') {
        if let Some(open) = path.rfind('[') {
            return &path[..open];
        }
    }
    match path.rfind('.') {
        Some(dot) => &path[..dot],
        None => "",
    }
}

/// The path of a mapping member.
pub fn join_key(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// The path of a sequence element.
pub fn join_index(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_walks_up_keys_and_indexes() {
        assert_eq!(
            parent_path("routes[3].policies.timeoutMs"),
            "routes[3].policies"
        );
        assert_eq!(parent_path("routes[3].policies"), "routes[3]");
        assert_eq!(parent_path("routes[3]"), "routes");
        assert_eq!(parent_path("routes"), "");
    }

    #[test]
    fn locate_falls_back_to_the_nearest_ancestor() {
        let mut map = PositionMap::new();
        map.insert_value("routes[0]", Location { line: 2, column: 3 });
        map.insert_value("routes[0].name", Location { line: 2, column: 9 });
        assert_eq!(
            map.locate("routes[0].name"),
            Some(Location { line: 2, column: 9 })
        );
        assert_eq!(
            map.locate("routes[0].policies.auth"),
            Some(Location { line: 2, column: 3 })
        );
        assert_eq!(map.locate("services.x"), None);
    }
}
