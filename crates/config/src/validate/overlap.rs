//! Overlapping and unreachable routes, found by grouping routes on (host, path key) in a
//! HashMap so that the cost grows with the number of routes, not with its square.

use std::collections::{BTreeSet, HashMap};

use crate::model::{Config, Route};
use crate::validate::Issues;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum PathKey<'a> {
    Exact(&'a str),
    /// Trailing slash ignored: `/v1/orders/` and `/v1/orders` are the same prefix.
    Prefix(&'a str),
}

fn path_key(route: &Route) -> Option<PathKey<'_>> {
    match (&route.matcher.path, &route.matcher.path_prefix) {
        (Some(path), None) => Some(PathKey::Exact(path)),
        (None, Some(prefix)) => {
            let trimmed = prefix.trim_end_matches('/');
            Some(PathKey::Prefix(if trimmed.is_empty() {
                "/"
            } else {
                trimmed
            }))
        }
        // Reported by the match rules; such a route has no place in the table.
        _ => None,
    }
}

fn normalised_host(route: &Route) -> String {
    route
        .matcher
        .host
        .as_deref()
        .map(|host| host.trim_end_matches('.').to_ascii_lowercase())
        .unwrap_or_default()
}

fn describe(host: &str, key: &PathKey<'_>) -> String {
    let host = if host.is_empty() { "(any host)" } else { host };
    match key {
        PathKey::Exact(path) => format!("host {host}, path {path}"),
        PathKey::Prefix(prefix) => format!("host {host}, pathPrefix {prefix}"),
    }
}

pub(crate) fn validate_overlaps(config: &Config, issues: &mut Issues) {
    let mut groups: HashMap<(String, PathKey<'_>), Vec<usize>> = HashMap::new();
    for (index, route) in config.routes.iter().enumerate() {
        if let Some(key) = path_key(route) {
            groups
                .entry((normalised_host(route), key))
                .or_default()
                .push(index);
        }
    }
    let mut group_list: Vec<_> = groups.into_iter().collect();
    // Deterministic error order: by the first route of each group.
    group_list.sort_by_key(|(_, members)| members.first().copied());
    for ((host, key), mut members) in group_list {
        if members.len() < 2 {
            continue;
        }
        // Highest priority first; file order within a priority.
        members.sort_by_key(|&index| (std::cmp::Reverse(config.routes[index].priority), index));
        check_group(config, &describe(&host, &key), &members, issues);
    }
}

/// Within one (host, path) group: routes of equal priority must not share a method, and a
/// route whose every method is taken by higher-priority routes can never be selected.
fn check_group(config: &Config, place: &str, members: &[usize], issues: &mut Issues) {
    // Methods claimed by routes of higher priority than the current level.
    let mut higher_methods: HashMap<&str, usize> = HashMap::new();
    let mut higher_all: Option<usize> = None;
    let mut level_start = 0;
    while level_start < members.len() {
        let priority = config.routes[members[level_start]].priority;
        let level_end = members[level_start..]
            .iter()
            .position(|&index| config.routes[index].priority != priority)
            .map_or(members.len(), |offset| level_start + offset);
        let level = &members[level_start..level_end];

        // Equal priority: method sets must be disjoint (empty = every method).
        let mut level_methods: HashMap<&str, usize> = HashMap::new();
        let mut level_all: Option<usize> = None;
        let mut level_first: Option<usize> = None;
        for &index in level {
            let route = &config.routes[index];
            let methods = &route.matcher.methods;
            let conflict = if methods.is_empty() {
                level_first
            } else {
                level_all.or_else(|| {
                    methods
                        .iter()
                        .find_map(|method| level_methods.get(method.as_str()).copied())
                })
            };
            if let Some(other) = conflict {
                overlap_error(config, place, other, index, issues);
            } else {
                // Shadowing is only meaningful for a route that is not already in conflict.
                shadow_check(config, place, index, &higher_methods, higher_all, issues);
            }
            level_first.get_or_insert(index);
            if methods.is_empty() {
                level_all.get_or_insert(index);
            }
            for method in methods {
                level_methods.entry(method.as_str()).or_insert(index);
            }
        }
        for (method, index) in level_methods {
            higher_methods.entry(method).or_insert(index);
        }
        if higher_all.is_none() {
            higher_all = level_all;
        }
        level_start = level_end;
    }
}

fn overlap_error(config: &Config, place: &str, earlier: usize, later: usize, issues: &mut Issues) {
    let first = &config.routes[earlier];
    let second = &config.routes[later];
    let shared = shared_methods(first, second);
    issues.error(
        format!("routes[{later}].match"),
        format!(
            "routes {} and {} overlap: same {place}, both accept {shared}, and equal priority {}: give one a higher priority or make their methods disjoint",
            first.name, second.name, second.priority
        ),
    );
}

fn shared_methods(first: &Route, second: &Route) -> String {
    let (a, b) = (&first.matcher.methods, &second.matcher.methods);
    match (a.is_empty(), b.is_empty()) {
        (true, true) => "every method".to_string(),
        (true, false) => b.join(", "),
        (false, true) => a.join(", "),
        (false, false) => {
            let left: BTreeSet<&String> = a.iter().collect();
            b.iter()
                .filter(|method| left.contains(method))
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

fn shadow_check(
    config: &Config,
    place: &str,
    index: usize,
    higher_methods: &HashMap<&str, usize>,
    higher_all: Option<usize>,
    issues: &mut Issues,
) {
    let route = &config.routes[index];
    let methods = &route.matcher.methods;
    let winners: Option<Vec<usize>> = if let Some(all) = higher_all {
        Some(vec![all])
    } else if methods.is_empty() {
        None
    } else {
        methods
            .iter()
            .map(|method| higher_methods.get(method.as_str()).copied())
            .collect()
    };
    if let Some(mut winners) = winners {
        winners.sort_unstable();
        winners.dedup();
        let names: Vec<&str> = winners
            .iter()
            .map(|&winner| config.routes[winner].name.as_str())
            .collect();
        issues.error(
            format!("routes[{index}].match"),
            format!(
                "route {} is unreachable: at {place}, every method it accepts is taken by higher-priority route(s) {}: remove it, raise its priority, or change its match",
                route.name,
                names.join(", ")
            ),
        );
    }
}
