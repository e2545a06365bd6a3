//! The registry: every series' atomics, the handles the request path holds, and the few
//! process-wide counters. Encoding (`encode.rs`) and summaries (`summary.rs`) read it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use http::Method;

use super::histogram::Histogram;
use super::ratelimit::{RateLimitCounters, RateLimitRejections};
use super::sparse::SparseCounters;

/// The `route` label of requests that matched no route.
pub const UNMATCHED_ROUTE_LABEL: &str = "";

/// `method` label values; anything else is counted as `other` so a client cannot create
/// series at will.
pub(super) const METHOD_LABELS: [&str; 8] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "other",
];

fn method_index(method: &Method) -> u32 {
    const KNOWN: [Method; 7] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
    ];
    KNOWN
        .iter()
        .position(|known| known == method)
        .map_or(7, |index| index as u32)
}

/// Process-wide metrics. Shared as `Arc<Metrics>`.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Taken at snapshot install and by `encode`, never per request.
    pub(super) routes: Mutex<HashMap<Box<str>, Arc<RouteCounters>>>,
    pub(super) unmatched: Arc<RouteCounters>,
    pub(super) upstreams: Mutex<HashMap<Box<str>, Arc<UpstreamCounters>>>,
    pub(super) config_info: Mutex<Option<(u64, String)>>,
    pub(super) config_loads_success: AtomicU64,
    pub(super) config_loads_failure: AtomicU64,
    pub(super) access_log_dropped: AtomicU64,
    pub(super) in_flight: AtomicI64,
    rate_limits: RateLimitCounters,
    pub(super) listeners: super::connections::ListenerRegistry,
}

/// One route's series: about 300 bytes until it sees more than 8 (method, status) pairs.
#[derive(Debug, Default)]
pub(super) struct RouteCounters {
    pub(super) name: Box<str>,
    /// Keyed by `method_index << 16 | status`.
    pub(super) requests: SparseCounters<u32>,
    pub(super) latency: Histogram,
    /// Allocated on the first rejection; most routes never reject.
    pub(super) rejections: OnceLock<Box<SparseCounters<&'static str>>>,
    /// 401s and 403s by reason; allocated on the route's first one (most never see any).
    pub(super) auth: OnceLock<Box<AuthCounters>>,
}

/// A route's authentication failures (401) and authorization denials (403), by reason.
#[derive(Debug, Default)]
pub(super) struct AuthCounters {
    pub(super) failures: SparseCounters<&'static str>,
    pub(super) denials: SparseCounters<&'static str>,
}

#[derive(Debug, Default)]
pub(super) struct UpstreamCounters {
    pub(super) service: Box<str>,
    pub(super) latency: Histogram,
    pub(super) connect_failures: AtomicU64,
}

impl Metrics {
    pub fn new() -> std::sync::Arc<Metrics> {
        Arc::new(Metrics::default())
    }

    /// Handle for one route's metrics; cheap to clone; taken once per route at snapshot
    /// install, never per request.
    pub fn route(&self, route_name: &str) -> RouteMetrics {
        let mut routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        let counters = routes.entry(route_name.into()).or_insert_with(|| {
            Arc::new(RouteCounters {
                name: route_name.into(),
                ..RouteCounters::default()
            })
        });
        RouteMetrics {
            counters: Arc::clone(counters),
        }
    }

    /// Handle for requests that matched no route (404, 405, early rejections).
    pub fn unmatched(&self) -> RouteMetrics {
        RouteMetrics {
            counters: Arc::clone(&self.unmatched),
        }
    }

    /// The handle for listener `name`'s connection series (created on first use; a listener
    /// bound again under the same name keeps counting in the same series).
    pub fn listener(&self, name: &str) -> super::connections::ListenerMetrics {
        self.listeners.listener(name)
    }

    /// Handle for one upstream service's metrics.
    pub fn upstream(&self, service: &str) -> UpstreamMetrics {
        let mut upstreams = self
            .upstreams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let counters = upstreams.entry(service.into()).or_insert_with(|| {
            Arc::new(UpstreamCounters {
                service: service.into(),
                ..UpstreamCounters::default()
            })
        });
        UpstreamMetrics {
            counters: Arc::clone(counters),
        }
    }

    /// `portcullis_config_info{version,checksum} 1`, replacing the previous one.
    pub fn set_config_info(&self, version: u64, checksum: &str) {
        let mut info = self
            .config_info
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *info = Some((version, checksum.to_owned()));
    }

    /// Count a configuration load attempt (`success` or `failure`).
    pub fn config_load(&self, success: bool) {
        let counter = match success {
            true => &self.config_loads_success,
            false => &self.config_loads_failure,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Count an access-log record dropped because the queue was full.
    pub fn access_log_dropped(&self) {
        self.access_log_dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Records dropped so far (for tests and the admin API).
    pub fn access_log_dropped_count(&self) -> u64 {
        self.access_log_dropped.load(Ordering::Relaxed)
    }

    /// A request entered the gateway (`portcullis_in_flight_requests`).
    pub fn in_flight_inc(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// A request left the gateway.
    pub fn in_flight_dec(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// Counts a request as in flight until the guard drops, so a cancelled request
    /// future still decrements.
    pub fn track_in_flight(self: &Arc<Self>) -> InFlightGuard {
        self.in_flight_inc();
        InFlightGuard {
            metrics: Arc::clone(self),
        }
    }

    /// Current `portcullis_in_flight_requests`.
    pub fn in_flight(&self) -> i64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Handle for `portcullis_rate_limit_rejections_total{route,limit}`; taken at snapshot
    /// install, never per request. The series survives reloads.
    pub fn rate_limit_rejections(&self, route: &str, limit: &str) -> RateLimitRejections {
        self.rate_limits.rejections(route, limit)
    }

    /// Adds failed or timed-out rate-limit store calls.
    pub fn rate_limit_store_errors(&self, count: u64) {
        self.rate_limits.add_store_errors(count);
    }

    /// Counts one decision made by a failure mode because the store was unavailable.
    pub fn rate_limit_fallback(&self) {
        self.rate_limits.add_fallback();
    }

    /// Sets the breaker gauge (one of the `BREAKER_*` values).
    pub fn set_rate_limit_breaker_state(&self, state: i64) {
        self.rate_limits.set_breaker_state(state);
    }

    pub fn rate_limit_store_error_count(&self) -> u64 {
        self.rate_limits.store_errors()
    }

    pub fn rate_limit_fallback_count(&self) -> u64 {
        self.rate_limits.fallbacks()
    }

    pub fn rate_limit_breaker_state(&self) -> i64 {
        self.rate_limits.breaker_state()
    }

    /// Every route's counters, sorted by name: the registry lock is held only to copy the
    /// handles, never while they are read.
    pub(super) fn sorted_routes(&self) -> Vec<Arc<RouteCounters>> {
        let mut routes: Vec<Arc<RouteCounters>> = self
            .routes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        routes.sort_by(|left, right| left.name.cmp(&right.name));
        routes
    }

    pub(super) fn rate_limit_counters(&self) -> &RateLimitCounters {
        &self.rate_limits
    }
}

/// Decrements `portcullis_in_flight_requests` when dropped.
#[derive(Debug)]
pub struct InFlightGuard {
    metrics: Arc<Metrics>,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.metrics.in_flight_dec();
    }
}

#[derive(Debug, Clone)]
pub struct RouteMetrics {
    counters: Arc<RouteCounters>,
}

impl RouteMetrics {
    /// Counts one answered request and its latency: three relaxed atomic adds, no lock,
    /// no allocation once the (method, status) pair has been seen.
    pub fn observe(&self, method: &Method, status: u16, latency: Duration) {
        let key = (method_index(method) << 16) | u32::from(status);
        self.counters.requests.add(key, 1);
        self.counters.latency.observe(latency);
    }

    /// Counts a request refused by policy (`portcullis_request_rejections_total`);
    /// `reason` is a fixed code such as `rate_limited`.
    pub fn rejected(&self, reason: &'static str) {
        self.counters
            .rejections
            .get_or_init(Box::default)
            .add(reason, 1);
    }

    /// Counts a request refused by authentication (`portcullis_auth_failures_total`);
    /// `reason` is a fixed code such as `expired`.
    pub fn auth_failure(&self, reason: &'static str) {
        self.counters
            .auth
            .get_or_init(Box::default)
            .failures
            .add(reason, 1);
    }

    /// Counts a request refused by authorization
    /// (`portcullis_authorization_denials_total`); `reason` is a fixed code such as
    /// `insufficient_scope`.
    pub fn authorization_denial(&self, reason: &'static str) {
        self.counters
            .auth
            .get_or_init(Box::default)
            .denials
            .add(reason, 1);
    }

    /// The route name this handle counts for.
    pub fn route_name(&self) -> &str {
        &self.counters.name
    }
}

#[derive(Debug, Clone)]
pub struct UpstreamMetrics {
    counters: Arc<UpstreamCounters>,
}

impl UpstreamMetrics {
    pub fn observe_latency(&self, latency: Duration) {
        self.counters.latency.observe(latency);
    }
    pub fn connect_failure(&self) {
        self.counters
            .connect_failures
            .fetch_add(1, Ordering::Relaxed);
    }
}
