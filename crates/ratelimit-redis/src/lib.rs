//! The Redis store for Portcullis rate limits and quotas, and [`RateLimiter`], the one call
//! the proxy's rate-limit phase makes for a route's limits and quotas.
//!
//! * Exact limits (`store: redis`): [`RedisStore::take`] runs one Lua script per decision; the
//!   script reads the server's `TIME`, refills and takes atomically, and sets a TTL so idle
//!   buckets expire. Scripts go by `EVALSHA` and are loaded again on `NOSCRIPT`.
//! * Leased limits (`store: redisLeased`): [`RedisStore::take_leased`] takes tokens in batches
//!   and spends them locally; overshoot is bounded by lease size × instances.
//! * Quotas: [`RedisStore::hit_quota`] counts per calendar window computed from `TIME`.
//! * Keys are `<prefix>:rl:{<bucket key>}`: the hash tag makes them Cluster-safe.
//! * Every call has a deadline (default 10 ms) and goes through a circuit breaker, so a dead
//!   Redis costs no timeout per request; the limit's `failureMode` decides meanwhile.

mod breaker;
mod connection;
mod error;
mod limiter;
mod link;
mod scripts;
mod settings;
mod store;
mod verdict;

pub use breaker::BreakerState;
pub use error::StoreError;
pub use limiter::{LimitResult, Outcome, QuotaResult, RateLimiter, Refusal, RuleKind};
pub use settings::{
    RedisSettings, RedisTarget, DEFAULT_COOLDOWN, DEFAULT_FAILURE_THRESHOLD, DEFAULT_TIMEOUT,
};
pub use store::{DecisionSource, LimitVerdict, QuotaVerdict, RedisStore, StoreStats};

#[doc(hidden)]
pub mod testing {
    //! Hooks for this crate's integration tests.
    use redis::aio::ConnectionLike;

    /// Evaluates the Lua calendar-window code for `unix_seconds`.
    pub async fn lua_window_bounds(
        connection: &mut impl ConnectionLike,
        window: &str,
        unix_seconds: u64,
    ) -> redis::RedisResult<(u64, u64)> {
        crate::scripts::WINDOW_PROBE
            .arg(window)
            .arg(unix_seconds)
            .invoke_async(connection)
            .await
    }
}
