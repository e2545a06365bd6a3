//! The rate-limit phase (DESIGN §5, phase 7): the limiter kept across snapshot swaps, the
//! per-route limits and quotas compiled when a snapshot is prepared, and the background task
//! that evicts idle buckets and publishes the store's state as metrics.
//!
//! * [`RateLimitState`] lives in the gateway for its whole life. Preparing a snapshot keeps the
//!   current [`RateLimiter`] when the `redis` and `localLimits` sections are unchanged, so
//!   buckets (and the Redis connection) survive reloads; buckets are keyed by limit name, so
//!   a limit that keeps its name keeps its state. A changed store is built then (never
//!   connecting: Redis is reached on first use) and refuses the configuration when it cannot
//!   be; installing makes it current.
//! * [`PreparedLimits`] is built per snapshot: each route's `LimitSpec`s and `QuotaSpec`s,
//!   indexed by `CompiledRoute::id`; installing adds their rejection counters
//!   ([`InstalledLimits`]).
//! * `check` (in `check.rs`) is the per-request decision.

mod check;
mod facts;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use portcullis_config::model::{Config, LocalLimits, RateLimitStore, RedisSettings};
use portcullis_config::ConfigError;
use portcullis_ratelimit::{LimitSpec, QuotaSpec};
use portcullis_ratelimit_redis::{BreakerState, RateLimiter};
use portcullis_router::Snapshot;
use portcullis_telemetry::metrics::{
    Metrics, RateLimitRejections, BREAKER_ABSENT, BREAKER_CLOSED, BREAKER_HALF_OPEN, BREAKER_OPEN,
};

pub(crate) use check::{check, RateLimitHeaders, Refused};
pub(crate) use facts::FactsInput;

/// How often the background task publishes the store's state as metrics.
const SAMPLE_INTERVAL: Duration = Duration::from_millis(250);
/// Idle buckets are evicted every this many samples (5 s).
const EVICT_EVERY_SAMPLES: u32 = 20;

/// The limiter and the settings it was built from.
struct Shared {
    limiter: RateLimiter,
    redis: Option<RedisSettings>,
    local: LocalLimits,
    /// Store errors + timeouts already added to the metric (the store counts monotonically).
    errors_published: AtomicU64,
}

/// Rate-limit state kept across snapshot swaps.
pub(crate) struct RateLimitState {
    current: Mutex<Option<Arc<Shared>>>,
    metrics: Arc<Metrics>,
    background_started: std::sync::Once,
}

impl std::fmt::Debug for RateLimitState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RateLimitState")
            .finish_non_exhaustive()
    }
}

/// One route's limits and quotas, compiled when the snapshot is prepared.
pub(crate) struct RouteLimits {
    limits: Vec<LimitSpec>,
    quotas: Vec<QuotaSpec>,
    /// Rejection counters: one per limit, then one per quota (added at install).
    rejections: Vec<RateLimitRejections>,
    /// Every rule can be decided in this process without awaiting (no quota, no Redis).
    all_local: bool,
    /// The route asks for `RateLimit`/`RateLimit-Policy` on admitted responses.
    headers: bool,
}

impl RouteLimits {
    fn is_empty(&self) -> bool {
        self.limits.is_empty() && self.quotas.is_empty()
    }
}

/// A snapshot's rate limits, built: the limiter it uses (the current one, or a new one made
/// current at install) and each route's rules.
pub(crate) struct PreparedLimits {
    shared: Arc<Shared>,
    routes: Vec<RouteLimits>,
}

/// What a snapshot needs to decide rate limits: the limiter and each route's rules.
pub(crate) struct InstalledLimits {
    shared: Option<Arc<Shared>>,
    routes: Vec<RouteLimits>,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for InstalledLimits {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("InstalledLimits")
            .field("routes", &self.routes.len())
            .finish_non_exhaustive()
    }
}

impl RateLimitState {
    pub(crate) fn new(metrics: Arc<Metrics>) -> Arc<RateLimitState> {
        Arc::new(RateLimitState {
            current: Mutex::new(None),
            metrics,
            background_started: std::sync::Once::new(),
        })
    }

    /// Compiles `snapshot`'s rate limits against `config`, keeping the limiter when its
    /// settings are unchanged and building a new one (unconnected) when they changed. Errors
    /// name the field: a store that cannot be built, a rule without the store it needs.
    pub(crate) fn prepare(
        &self,
        config: &Config,
        snapshot: &Snapshot,
    ) -> Result<PreparedLimits, Vec<ConfigError>> {
        let shared = self.limiter_for(config)?;
        let has_redis = shared.limiter.redis().is_some();
        let mut problems = Vec::new();
        let routes = snapshot
            .routes()
            .iter()
            .map(|route| {
                let mut limits = Vec::with_capacity(route.rate_limits.len());
                for name in &route.rate_limits {
                    let Some(limit) = config.rate_limits.get(&**name) else {
                        continue;
                    };
                    if limit.store != RateLimitStore::Local && !has_redis {
                        // Validation asks for `redis:` with such a store; never decide a
                        // shared limit without its store.
                        problems.push(ConfigError::new(
                            format!("rateLimits.{name}.store"),
                            "a redis store needs the `redis:` section: add it, or use store: local",
                        ));
                        continue;
                    }
                    limits.push(LimitSpec::from_config(name, limit));
                }
                let quotas: Vec<QuotaSpec> = route
                    .quotas
                    .iter()
                    .filter_map(|name| {
                        let quota = config.quotas.get(&**name)?;
                        Some(QuotaSpec::from_config(name, quota))
                    })
                    .collect();
                let all_local = quotas.is_empty()
                    && limits
                        .iter()
                        .all(|spec| spec.store == RateLimitStore::Local);
                RouteLimits {
                    limits,
                    quotas,
                    rejections: Vec::new(),
                    all_local,
                    headers: route.rate_limit_headers,
                }
            })
            .collect();
        if problems.is_empty() {
            Ok(PreparedLimits { shared, routes })
        } else {
            Err(problems)
        }
    }

    /// Makes the prepared limiter current, starts the background task (once), and adds the
    /// rejection counters of each route.
    pub(crate) fn install(
        self: &Arc<Self>,
        prepared: PreparedLimits,
        snapshot: &Snapshot,
    ) -> InstalledLimits {
        let PreparedLimits { shared, mut routes } = prepared;
        let previous = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .replace(Arc::clone(&shared));
        if !previous.is_some_and(|previous| Arc::ptr_eq(&previous, &shared)) {
            warm_up(&shared);
        }
        self.start_background();
        for (route, limits) in snapshot.routes().iter().zip(&mut routes) {
            limits.rejections = limits
                .limits
                .iter()
                .map(|spec| &spec.name)
                .chain(limits.quotas.iter().map(|spec| &spec.name))
                .map(|name| self.metrics.rate_limit_rejections(&route.name, name))
                .collect();
        }
        InstalledLimits {
            shared: Some(shared),
            routes,
            metrics: Arc::clone(&self.metrics),
        }
    }

    /// The limiter for `config`: the current one when its settings match, else a new one
    /// (not yet current; it opens no connection until used).
    fn limiter_for(&self, config: &Config) -> Result<Arc<Shared>, Vec<ConfigError>> {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(shared) = current.as_ref() {
            if shared.redis == config.redis && shared.local == config.local_limits {
                return Ok(Arc::clone(shared));
            }
        }
        drop(current);
        let limiter = RateLimiter::from_config(config).map_err(|error| {
            let field = match &config.redis {
                Some(redis) if redis.url.is_none() => "redis.clusterNodes",
                _ => "redis.url",
            };
            vec![ConfigError::new(
                field,
                format!("cannot set up the rate-limit store: {error}; write redis://host:port[/db] (or clusterNodes as host:port)"),
            )]
        })?;
        Ok(Arc::new(Shared {
            limiter,
            redis: config.redis.clone(),
            local: config.local_limits.clone(),
            errors_published: AtomicU64::new(0),
        }))
    }

    /// Starts the eviction and metrics task once, on the runtime of the first install that
    /// has one (an install outside a runtime, as in some tests, starts none).
    fn start_background(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let state = Arc::downgrade(self);
        self.background_started.call_once(|| {
            runtime.spawn(background(state));
        });
    }

    fn sample(&self, evict: bool) {
        let shared = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(shared) = shared else { return };
        if evict {
            shared.limiter.local().evict_idle(Instant::now());
        }
        let Some(redis) = shared.limiter.redis() else {
            self.metrics.set_rate_limit_breaker_state(BREAKER_ABSENT);
            return;
        };
        if evict {
            redis.evict_idle();
        }
        let stats = redis.stats();
        let errors = stats.errors + stats.timeouts;
        let published = shared.errors_published.swap(errors, Ordering::Relaxed);
        self.metrics
            .rate_limit_store_errors(errors.saturating_sub(published));
        self.metrics
            .set_rate_limit_breaker_state(match redis.breaker_state() {
                BreakerState::Closed => BREAKER_CLOSED,
                BreakerState::HalfOpen => BREAKER_HALF_OPEN,
                BreakerState::Open => BREAKER_OPEN,
            });
    }
}

/// How long a newly installed Redis store may take to connect in the background.
const WARM_UP_DEADLINE: Duration = Duration::from_secs(2);

/// Connects a newly installed Redis store now, in the background. Otherwise the first
/// decisions would pay the connect inside their `redis.timeoutMs` deadline (10 ms by
/// default, less than a connect takes on a loaded host) and, under `failClosed`, be refused
/// while Redis is healthy. Outside a Tokio runtime (some tests) nothing connects early.
fn warm_up(shared: &Arc<Shared>) {
    if shared.limiter.redis().is_none() {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let shared = Arc::clone(shared);
    runtime.spawn(async move {
        let Some(store) = shared.limiter.redis() else {
            return;
        };
        if let Err(error) = store.warm_up(WARM_UP_DEADLINE).await {
            tracing::warn!(%error, "rate-limit store: cannot connect to Redis yet; the first decisions connect and failure modes decide meanwhile");
        }
    });
}

/// Evicts idle buckets and publishes store metrics until the gateway is dropped.
async fn background(state: Weak<RateLimitState>) {
    let mut interval = tokio::time::interval(SAMPLE_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u32 = 0;
    loop {
        interval.tick().await;
        let Some(state) = state.upgrade() else { return };
        ticks = ticks.wrapping_add(1);
        let evict = ticks % EVICT_EVERY_SAMPLES == 0;
        // Eviction walks every shard: keep it off the runtime's worker threads' fast path.
        if evict {
            let _ = tokio::task::spawn_blocking(move || state.sample(true)).await;
        } else {
            state.sample(false);
        }
    }
}
