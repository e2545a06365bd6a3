//! Shared data-plane state: the installed snapshot (one atomic load per request), metrics,
//! the access log and the upstream pools. Snapshots are built by [`Gateway::prepare`]
//! (`prepare.rs`) and swapped in by [`Gateway::install`].

use std::sync::Arc;

use arc_swap::ArcSwapOption;
use portcullis_config::ListenerTls;
use portcullis_telemetry::access_log::AccessLog;
use portcullis_telemetry::metrics::{Metrics, RouteMetrics};
use tokio_rustls::TlsAcceptor;

use crate::prepare::PreparedSnapshot;
use crate::tls::ListenerTlsMaterial;
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
    /// The listeners' TLS material, loaded when the snapshot was prepared.
    pub(crate) tls: Vec<ListenerTlsMaterial>,
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
    pub(crate) rate_limits: Arc<crate::ratelimit::RateLimitState>,
    /// JWKS key sets, introspection and nonce caches: kept across swaps.
    pub(crate) auth: crate::auth::AuthRuntime,
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

    /// Swaps in a snapshot built by [`Gateway::prepare`]. Infallible and cheap: everything
    /// that could fail was built then. The state the snapshot chose to keep or replace
    /// (pools, limiter, key sets, caches) becomes current, its metric handles are taken, and
    /// one atomic store publishes it. In-flight requests finish on the snapshot they started
    /// with. Upstream pools whose `pool_key` stays the same are kept.
    pub fn install(&self, prepared: PreparedSnapshot) {
        let PreparedSnapshot {
            loaded,
            limits,
            auth,
            pools,
            tls,
            ..
        } = prepared;
        // Pools first: the snapshot must never serve a request whose upstream has no state.
        self.upstreams.apply(&loaded.snapshot, &pools);
        let route_metrics = loaded
            .snapshot
            .routes()
            .iter()
            .map(|route| self.metrics.route(&route.name))
            .collect();
        self.metrics
            .set_config_info(loaded.config_version, &loaded.checksum);
        let rate_limits = self.rate_limits.install(limits, &loaded.snapshot);
        let auth = self.auth.install(auth);
        let installed = Installed {
            loaded: Arc::new(loaded),
            route_metrics,
            rate_limits,
            auth,
            tls,
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

    /// The TLS acceptor the installed snapshot loaded for listener `name` with `settings`.
    pub(crate) fn listener_tls(&self, name: &str, settings: &ListenerTls) -> Option<TlsAcceptor> {
        self.installed_tls(name, settings)
            .map(|material| material.acceptor)
    }

    /// The installed snapshot's TLS material of listener `name` when loaded from `settings`
    /// (a prepare with unchanged TLS settings reuses it instead of reading the files again).
    pub(crate) fn installed_tls(
        &self,
        name: &str,
        settings: &ListenerTls,
    ) -> Option<ListenerTlsMaterial> {
        self.installed
            .load()
            .as_ref()?
            .tls
            .iter()
            .find(|material| material.listener == name && material.settings == *settings)
            .cloned()
    }
}
