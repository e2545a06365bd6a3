//! Rate-limit series: rejections by route and limit, store errors, fallback activations and
//! the Redis breaker's state.
//!
//! A (route, limit) handle is resolved once at snapshot install; a refusal then costs one
//! relaxed atomic add. The store-wide series are plain atomics.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::text::{escape_into, family};

/// `portcullis_rate_limit_breaker_state` values.
pub const BREAKER_CLOSED: i64 = 0;
pub const BREAKER_HALF_OPEN: i64 = 1;
pub const BREAKER_OPEN: i64 = 2;
/// No Redis store is configured.
pub const BREAKER_ABSENT: i64 = -1;

type RejectionKey = (Box<str>, Box<str>);

#[derive(Debug)]
pub(super) struct RateLimitCounters {
    /// Taken at snapshot install and by `encode`, never per request.
    rejections: Mutex<HashMap<RejectionKey, Arc<AtomicU64>>>,
    store_errors: AtomicU64,
    fallbacks: AtomicU64,
    breaker_state: AtomicI64,
}

impl Default for RateLimitCounters {
    fn default() -> Self {
        RateLimitCounters {
            rejections: Mutex::default(),
            store_errors: AtomicU64::new(0),
            fallbacks: AtomicU64::new(0),
            breaker_state: AtomicI64::new(BREAKER_ABSENT),
        }
    }
}

/// Counts the requests one limit (or quota) refused on one route.
#[derive(Debug, Clone)]
pub struct RateLimitRejections {
    count: Arc<AtomicU64>,
}

impl RateLimitRejections {
    pub fn inc(&self) {
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

impl RateLimitCounters {
    pub(super) fn rejections(&self, route: &str, limit: &str) -> RateLimitRejections {
        let mut rejections = self
            .rejections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = rejections.entry((route.into(), limit.into())).or_default();
        RateLimitRejections {
            count: Arc::clone(count),
        }
    }

    pub(super) fn add_store_errors(&self, count: u64) {
        self.store_errors.fetch_add(count, Ordering::Relaxed);
    }

    pub(super) fn add_fallback(&self) {
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn set_breaker_state(&self, state: i64) {
        self.breaker_state.store(state, Ordering::Relaxed);
    }

    pub(super) fn store_errors(&self) -> u64 {
        self.store_errors.load(Ordering::Relaxed)
    }

    pub(super) fn fallbacks(&self) -> u64 {
        self.fallbacks.load(Ordering::Relaxed)
    }

    pub(super) fn breaker_state(&self) -> i64 {
        self.breaker_state.load(Ordering::Relaxed)
    }
}

pub(super) fn encode(counters: &RateLimitCounters, out: &mut String) {
    let mut rejections: Vec<(RejectionKey, u64)> = counters
        .rejections
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(key, count)| (key.clone(), count.load(Ordering::Relaxed)))
        .collect();
    rejections.sort();
    family(
        out,
        "rate_limit_rejections_total",
        "counter",
        "Requests refused by a rate limit or quota, by route and limit.",
    );
    for ((route, limit), count) in &rejections {
        out.push_str("portcullis_rate_limit_rejections_total{route=\"");
        escape_into(out, route);
        out.push_str("\",limit=\"");
        escape_into(out, limit);
        let _ = writeln!(out, "\"}} {count}");
    }
    let single = |out: &mut String, name: &str, kind: &str, help: &str, value: i128| {
        family(out, name, kind, help);
        let _ = writeln!(out, "portcullis_{name} {value}");
    };
    single(
        out,
        "rate_limit_store_errors_total",
        "counter",
        "Rate-limit store calls that failed or missed their deadline.",
        i128::from(counters.store_errors.load(Ordering::Relaxed)),
    );
    single(
        out,
        "rate_limit_fallback_total",
        "counter",
        "Rate-limit decisions made by a failure mode while the store was unavailable.",
        i128::from(counters.fallbacks.load(Ordering::Relaxed)),
    );
    single(
        out,
        "rate_limit_breaker_state",
        "gauge",
        "Redis breaker: 0 closed, 1 half-open, 2 open, -1 no Redis configured.",
        i128::from(counters.breaker_state.load(Ordering::Relaxed)),
    );
}
