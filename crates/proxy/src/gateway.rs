//! Shared data-plane state: the installed snapshot (one atomic load per request), metrics,
//! the access log and the upstream pools.

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use portcullis_telemetry::access_log::AccessLog;
use portcullis_telemetry::metrics::{Metrics, RouteMetrics};

use crate::upstream::Upstreams;
use crate::LoadedSnapshot;

/// A snapshot plus what the hot path needs beside it, computed once at install: per-route
/// metric handles indexed by `CompiledRoute::id`, so no request looks a route up by name.
#[derive(Debug)]
pub(crate) struct Installed {
    pub(crate) loaded: Arc<LoadedSnapshot>,
    route_metrics: Vec<RouteMetrics>,
    /// Each route's rate limits and quotas, and the limiter (kept across swaps).
    pub(crate) rate_limits: crate::ratelimit::InstalledLimits,
    /// Each route's authentication methods and authorization rules.
    pub(crate) auth: crate::auth::SnapshotAuth,
}

impl Installed {
    pub(crate) fn route_metrics_by_id(&self, route_id: usize) -> Option<&RouteMetrics> {
        self.route_metrics.get(route_id)
    }
}

/// Shared data-plane state: the current snapshot (one atomic load per request), metrics,
/// the access log and the upstream pools.
#[derive(Debug)]
pub struct Gateway {
    installed: ArcSwapOption<Installed>,
    metrics: Arc<Metrics>,
    pub(crate) access_log: AccessLog,
    pub(crate) upstreams: Upstreams,
    /// Handle for 404/405 and requests rejected before routing.
    pub(crate) unmatched: RouteMetrics,
    rate_limits: Arc<crate::ratelimit::RateLimitState>,
    /// JWKS key sets, introspection and nonce caches: kept across swaps.
    auth: crate::auth::AuthRuntime,
}

impl Gateway {
    pub fn new(metrics: Arc<Metrics>, access_log: AccessLog) -> Arc<Gateway> {
        let upstreams = Upstreams::new(Arc::clone(&metrics));
        let unmatched = metrics.unmatched();
        let rate_limits = crate::ratelimit::RateLimitState::new(Arc::clone(&metrics));
        Arc::new(Gateway {
            installed: ArcSwapOption::empty(),
            metrics,
            access_log,
            upstreams,
            unmatched,
            rate_limits,
            auth: crate::auth::AuthRuntime::default(),
        })
    }

    /// Atomically swap in a new snapshot. In-flight requests finish on the one they started
    /// with. Upstream pools whose `pool_key` stays the same are kept.
    pub fn install(&self, snapshot: LoadedSnapshot) {
        // Pools first: the snapshot must never serve a request whose upstream has no state.
        self.upstreams.sync(&snapshot.snapshot);
        let route_metrics = snapshot
            .snapshot
            .routes()
            .iter()
            .map(|route| self.metrics.route(&route.name))
            .collect();
        self.metrics
            .set_config_info(snapshot.config_version, &snapshot.checksum);
        let rate_limits = self
            .rate_limits
            .install(&snapshot.config, &snapshot.snapshot);
        let auth = crate::auth::SnapshotAuth::build(
            &self.auth,
            Arc::clone(&snapshot.config),
            snapshot.snapshot.routes(),
        );
        let installed = Installed {
            loaded: Arc::new(snapshot),
            route_metrics,
            rate_limits,
            auth,
        };
        self.installed.store(Some(Arc::new(installed)));
    }

    pub fn current(&self) -> Option<Arc<LoadedSnapshot>> {
        self.installed
            .load()
            .as_ref()
            .map(|installed| Arc::clone(&installed.loaded))
    }

    /// True once a snapshot is installed.
    pub fn is_ready(&self) -> bool {
        self.installed.load().is_some()
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The one snapshot load a request makes.
    pub(crate) fn load(&self) -> Option<Arc<Installed>> {
        self.installed.load_full()
    }
}
