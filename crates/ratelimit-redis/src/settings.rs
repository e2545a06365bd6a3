//! How to reach Redis and how long to wait for it.

use std::time::Duration;

/// Where Redis is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTarget {
    /// One server (`redis://host:port[/db]`).
    Standalone(String),
    /// Seed nodes of a Redis Cluster (`host:port` or `redis://host:port`); the client learns
    /// the rest of the topology from them.
    Cluster(Vec<String>),
}

/// The store's settings; [`RedisSettings::new`] fills in the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct RedisSettings {
    pub target: RedisTarget,
    /// Deadline of every Redis call (default 10 ms). A call that misses it counts as a failure.
    pub timeout: Duration,
    /// Consecutive failures that open the breaker (default 3).
    pub failure_threshold: u32,
    /// How long an open breaker refuses calls before one probe (default 1 s).
    pub cooldown: Duration,
    /// Prefix of every key (default `portcullis`).
    pub key_prefix: String,
    /// Bound on the per-instance buckets kept for `localFallback` and on leased keys.
    pub max_local_keys: usize,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(10);
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 3;
pub const DEFAULT_COOLDOWN: Duration = Duration::from_secs(1);

impl RedisSettings {
    pub fn new(target: RedisTarget) -> Self {
        RedisSettings {
            target,
            timeout: DEFAULT_TIMEOUT,
            failure_threshold: DEFAULT_FAILURE_THRESHOLD,
            cooldown: DEFAULT_COOLDOWN,
            key_prefix: String::from("portcullis"),
            max_local_keys: portcullis_ratelimit::DEFAULT_MAX_BUCKETS,
        }
    }

    pub fn standalone(url: impl Into<String>) -> Self {
        Self::new(RedisTarget::Standalone(url.into()))
    }

    pub fn cluster(nodes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self::new(RedisTarget::Cluster(
            nodes.into_iter().map(Into::into).collect(),
        ))
    }
}

impl RedisSettings {
    /// The settings a validated config asks for (`redis` and `localLimits`).
    pub fn from_config(
        redis: &portcullis_config::model::RedisSettings,
        local: &portcullis_config::model::LocalLimits,
    ) -> Self {
        let target = match &redis.url {
            Some(url) => RedisTarget::Standalone(url.clone()),
            None => RedisTarget::Cluster(redis.cluster_nodes.clone()),
        };
        RedisSettings {
            timeout: Duration::from_millis(redis.timeout_ms),
            failure_threshold: redis.failure_threshold,
            cooldown: Duration::from_millis(redis.cooldown_ms),
            max_local_keys: usize::try_from(local.max_buckets).unwrap_or(usize::MAX),
            key_prefix: redis
                .key_prefix
                .clone()
                .unwrap_or_else(|| String::from("portcullis")),
            ..RedisSettings::new(target)
        }
    }
}

/// `host:port` becomes `redis://host:port`; a URL stays as written.
pub(crate) fn node_url(node: &str) -> String {
    if node.contains("://") {
        node.to_string()
    } else {
        format!("redis://{node}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let settings = RedisSettings::standalone("redis://127.0.0.1:6379");
        assert_eq!(settings.timeout, Duration::from_millis(10));
        assert_eq!(settings.failure_threshold, 3);
        assert_eq!(settings.cooldown, Duration::from_secs(1));
    }

    #[test]
    fn config_sections_translate() {
        let redis = portcullis_config::model::RedisSettings {
            url: None,
            cluster_nodes: vec!["10.0.0.7:6379".into()],
            timeout_ms: 25,
            failure_threshold: 5,
            cooldown_ms: 2_000,
            key_prefix: Some("run-7".into()),
        };
        let local = portcullis_config::model::LocalLimits { max_buckets: 77 };
        let settings = RedisSettings::from_config(&redis, &local);
        assert_eq!(
            settings.target,
            RedisTarget::Cluster(vec!["10.0.0.7:6379".into()])
        );
        assert_eq!(settings.timeout, Duration::from_millis(25));
        assert_eq!(settings.failure_threshold, 5);
        assert_eq!(settings.cooldown, Duration::from_secs(2));
        assert_eq!(settings.max_local_keys, 77);
        assert_eq!(settings.key_prefix, "run-7");
    }

    #[test]
    fn bare_nodes_become_urls() {
        assert_eq!(node_url("127.0.0.1:7000"), "redis://127.0.0.1:7000");
        assert_eq!(node_url("redis://10.0.0.1:7000"), "redis://10.0.0.1:7000");
    }
}
