//! What changed between two configuration documents, as JSON paths. Objects compare key by
//! key; arrays of objects whose `name`s are all present and unique are matched by name
//! (`routes[name=checkout-orders].policies.timeoutMs`), so inserting a route does not show
//! every later route as changed; other arrays compare by index.

use serde_json::{Map, Value};

use portcullis_protocol::admin::{DiffChange, DiffValue, VersionDiff};

pub fn diff(from_version: i64, from: &Value, to_version: i64, to: &Value) -> VersionDiff {
    let mut out = VersionDiff {
        from: from_version,
        to: to_version,
        added: Vec::new(),
        removed: Vec::new(),
        changed: Vec::new(),
    };
    walk(String::new(), from, to, &mut out);
    out
}

fn walk(path: String, from: &Value, to: &Value, out: &mut VersionDiff) {
    match (from, to) {
        (Value::Object(from), Value::Object(to)) => objects(&path, from, to, out),
        (Value::Array(from), Value::Array(to)) => match (named(from), named(to)) {
            (Some(from), Some(to)) => by_name(&path, &from, &to, out),
            _ => by_index(&path, from, to, out),
        },
        (from, to) if from == to => {}
        (from, to) => out.changed.push(DiffChange {
            path,
            from: from.clone(),
            to: to.clone(),
        }),
    }
}

fn objects(path: &str, from: &Map<String, Value>, to: &Map<String, Value>, out: &mut VersionDiff) {
    for (key, old) in from {
        let child = join(path, key);
        match to.get(key) {
            Some(new) => walk(child, old, new, out),
            None => out.removed.push(DiffValue {
                path: child,
                value: old.clone(),
            }),
        }
    }
    for (key, new) in to {
        if !from.contains_key(key) {
            out.added.push(DiffValue {
                path: join(path, key),
                value: new.clone(),
            });
        }
    }
}

fn by_index(path: &str, from: &[Value], to: &[Value], out: &mut VersionDiff) {
    for (index, old) in from.iter().enumerate() {
        let child = format!("{path}[{index}]");
        match to.get(index) {
            Some(new) => walk(child, old, new, out),
            None => out.removed.push(DiffValue {
                path: child,
                value: old.clone(),
            }),
        }
    }
    for (index, new) in to.iter().enumerate().skip(from.len()) {
        out.added.push(DiffValue {
            path: format!("{path}[{index}]"),
            value: new.clone(),
        });
    }
}

fn by_name(path: &str, from: &[(&str, &Value)], to: &[(&str, &Value)], out: &mut VersionDiff) {
    for (name, old) in from {
        let child = format!("{path}[name={name}]");
        match find(to, name) {
            Some(new) => walk(child, old, new, out),
            None => out.removed.push(DiffValue {
                path: child,
                value: (*old).clone(),
            }),
        }
    }
    for (name, new) in to {
        if find(from, name).is_none() {
            out.added.push(DiffValue {
                path: format!("{path}[name={name}]"),
                value: (*new).clone(),
            });
        }
    }
}

fn find<'v>(items: &[(&str, &'v Value)], name: &str) -> Option<&'v Value> {
    items
        .iter()
        .find(|(candidate, _)| *candidate == name)
        .map(|(_, value)| *value)
}

/// `(name, element)` for every element when all are objects with a unique string `name`.
fn named(items: &[Value]) -> Option<Vec<(&str, &Value)>> {
    if items.is_empty() {
        return None;
    }
    let mut names = std::collections::HashSet::with_capacity(items.len());
    items
        .iter()
        .map(|item| {
            let name = item.get("name")?.as_str()?;
            names.insert(name).then_some((name, item))
        })
        .collect()
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(values: &[DiffValue]) -> Vec<&str> {
        values.iter().map(|value| value.path.as_str()).collect()
    }

    #[test]
    fn objects_report_added_removed_and_changed_paths() {
        let from = json!({"a": 1, "b": {"c": true, "d": "x"}, "gone": [1]});
        let to = json!({"a": 2, "b": {"c": true, "e": null}, "new": {"k": 1}});
        let result = diff(1, &from, 2, &to);
        assert_eq!(result.from, 1);
        assert_eq!(result.to, 2);
        assert_eq!(paths(&result.added), vec!["b.e", "new"]);
        assert_eq!(paths(&result.removed), vec!["b.d", "gone"]);
        assert_eq!(result.changed.len(), 1);
        assert_eq!(result.changed[0].path, "a");
        assert_eq!(result.changed[0].from, json!(1));
        assert_eq!(result.changed[0].to, json!(2));
    }

    #[test]
    fn named_arrays_match_by_name_whatever_the_order() {
        let from = json!({"routes": [
            {"name": "orders", "policies": {"timeoutMs": 1000}},
            {"name": "users", "policies": {"timeoutMs": 500}},
        ]});
        let to = json!({"routes": [
            {"name": "carts", "policies": {"timeoutMs": 100}},
            {"name": "users", "policies": {"timeoutMs": 500}},
            {"name": "orders", "policies": {"timeoutMs": 1500}},
        ]});
        let result = diff(1, &from, 2, &to);
        assert_eq!(paths(&result.added), vec!["routes[name=carts]"]);
        assert!(result.removed.is_empty());
        assert_eq!(result.changed.len(), 1);
        assert_eq!(
            result.changed[0].path,
            "routes[name=orders].policies.timeoutMs"
        );
    }

    #[test]
    fn arrays_without_unique_names_compare_by_index() {
        let cases = [
            (
                json!([1, 2, 3]),
                json!([1, 5]),
                vec![],
                vec!["[2]"],
                vec!["[1]"],
            ),
            (json!([1]), json!([1, 2]), vec!["[1]"], vec![], vec![]),
            (
                json!([{"name": "a"}, {"name": "a"}]),
                json!([{"name": "a"}, {"name": "b"}]),
                vec![],
                vec![],
                vec!["[1].name"],
            ),
            (
                json!([{"name": "a"}, {"other": 1}]),
                json!([{"name": "a"}, {"other": 2}]),
                vec![],
                vec![],
                vec!["[1].other"],
            ),
        ];
        for (from, to, added, removed, changed) in cases {
            let result = diff(1, &json!({"x": from}), 2, &json!({"x": to}));
            let prefixed = |list: Vec<&str>| -> Vec<String> {
                list.into_iter().map(|path| format!("x{path}")).collect()
            };
            assert_eq!(paths(&result.added), prefixed(added), "added");
            assert_eq!(paths(&result.removed), prefixed(removed), "removed");
            let changed_paths: Vec<&str> = result
                .changed
                .iter()
                .map(|change| change.path.as_str())
                .collect();
            assert_eq!(changed_paths, prefixed(changed), "changed");
        }
    }

    #[test]
    fn a_type_change_is_one_change_and_equal_documents_have_none() {
        let result = diff(1, &json!({"a": {"b": 1}}), 2, &json!({"a": [1]}));
        assert_eq!(result.changed.len(), 1);
        assert_eq!(result.changed[0].path, "a");
        let same = diff(
            1,
            &json!({"a": [1, {"b": 2}]}),
            1,
            &json!({"a": [1, {"b": 2}]}),
        );
        assert!(same.added.is_empty() && same.removed.is_empty() && same.changed.is_empty());
    }
}
