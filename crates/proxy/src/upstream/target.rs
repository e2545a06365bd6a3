//! Per-target state (one per `pool_key`): the pooled HTTP client, the endpoints with their
//! outstanding-request counters, and the concurrency limit.
//!
//! A `TargetState` is immutable once built. `sync` builds a fresh one for every snapshot
//! but carries over the pieces that must outlive a swap (the client and its idle
//! connections, the counters of endpoints that stay), so a config swap neither drops warm
//! connections nor forgets how loaded an endpoint is.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::uri::Authority;
use http::Version;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use portcullis_config::{Balancing, PoolSettings, UpstreamProtocol};
use portcullis_error::{ErrorKind, GatewayError};
use portcullis_router::{CompiledUpstream, Endpoint, UpstreamTarget};
use portcullis_telemetry::metrics::{Metrics, UpstreamMetrics};

use super::balance;
use super::lean::LeanPool;
use super::pool::EndpointPool;
use super::{PoolPlan, ProxyBody};

/// hyper-util's pooled client, kept for HTTP/2 upstreams: one multiplexed connection per
/// endpoint, so its per-request overhead is not what HTTP/1.1's pool would pay.
pub(crate) type Http2Client = Client<HttpConnector, ProxyBody>;

/// The two kinds of HTTP/1.1 connection one endpoint keeps.
#[derive(Debug, Clone)]
pub(crate) struct Http1Pools {
    /// hyper's client connections: requests with a body, and upgrades.
    pub(crate) hyper: Arc<EndpointPool>,
    /// Raw connections for requests without a body.
    pub(crate) lean: Arc<LeanPool>,
}

/// How requests reach the endpoints of a target.
#[derive(Debug, Clone)]
pub(crate) enum UpstreamClient {
    /// The keep-alive pools of each endpoint, in the order of `TargetState::endpoints`.
    Http1(Vec<Http1Pools>),
    Http2(Box<Http2Client>),
}

/// The settings a client is built from; a change rebuilds the client (and its pool).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClientSettings {
    pub(crate) protocol: UpstreamProtocol,
    pub(crate) connect_timeout: Duration,
    pub(crate) pool: PoolSettings,
}

impl ClientSettings {
    pub(crate) fn of(upstream: &CompiledUpstream) -> ClientSettings {
        ClientSettings {
            protocol: upstream.protocol,
            connect_timeout: upstream.connect_timeout,
            pool: upstream.pool.clone(),
        }
    }

    fn endpoint_pools(&self, endpoint: &Endpoint) -> Http1Pools {
        let max_idle = self.pool.max_idle_per_endpoint as usize;
        let idle_timeout = Duration::from_millis(self.pool.idle_timeout_ms);
        Http1Pools {
            hyper: Arc::new(EndpointPool::new(
                endpoint.authority.clone(),
                self.connect_timeout,
                max_idle,
                idle_timeout,
            )),
            lean: Arc::new(LeanPool::new(
                endpoint.authority.clone(),
                self.connect_timeout,
                max_idle,
                idle_timeout,
            )),
        }
    }

    fn build_http2_client(&self) -> Http2Client {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(self.connect_timeout));
        connector.set_nodelay(true);
        let mut builder = Client::builder(TokioExecutor::new());
        builder
            .pool_max_idle_per_host(self.pool.max_idle_per_endpoint as usize)
            .pool_idle_timeout(Duration::from_millis(self.pool.idle_timeout_ms))
            // Without a timer the pool never evicts idle connections.
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .http2_only(true);
        builder.build(connector)
    }
}

/// One endpoint with its live load.
#[derive(Debug)]
pub(crate) struct EndpointState {
    pub(crate) endpoint: Endpoint,
    /// Parsed once at sync so the hot path only clones it (a reference-count bump).
    pub(crate) authority: Authority,
    /// Requests sent to this endpoint that have not finished yet.
    pub(crate) outstanding: AtomicU32,
}

impl balance::Outstanding for Arc<EndpointState> {
    fn outstanding(&self) -> u32 {
        self.outstanding.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
pub(crate) struct TargetState {
    pub(crate) pool_key: Arc<str>,
    pub(crate) service: Arc<str>,
    pub(crate) settings: ClientSettings,
    pub(crate) client: UpstreamClient,
    /// The HTTP version requests are sent with (the client refuses an HTTP/2 request on an
    /// HTTP/1.1 connection, and a downstream HTTP/2 request must not force h2 upstream).
    pub(crate) version: Version,
    pub(crate) endpoints: Vec<Arc<EndpointState>>,
    pub(crate) balancing: Balancing,
    pub(crate) round_robin: Arc<AtomicUsize>,
    pub(crate) max_concurrent_requests: Option<u32>,
    /// Requests in flight to the service (shared by every target of the service, since the
    /// limit is per service), counted only while a limit is configured.
    pub(crate) in_flight: Arc<AtomicU32>,
    pub(crate) metrics: UpstreamMetrics,
}

impl TargetState {
    /// Build the state for `target`, reusing what `previous` (same `pool_key`) holds.
    pub(crate) fn build(
        upstream: &CompiledUpstream,
        target: &UpstreamTarget,
        previous: Option<&TargetState>,
        plan: &PoolPlan,
        service_in_flight: Arc<AtomicU32>,
        metrics: &Metrics,
    ) -> TargetState {
        let settings = ClientSettings::of(upstream);
        let endpoints: Vec<Arc<EndpointState>> = target
            .endpoints
            .iter()
            .filter_map(|endpoint| endpoint_state(&target.pool_key, endpoint, previous, plan))
            .collect();
        // Idle connections survive the swap unless the settings they were made with changed.
        let reusable = previous.filter(|previous| previous.settings == settings);
        let client = match (settings.protocol, reusable) {
            (UpstreamProtocol::Http1, _) => UpstreamClient::Http1(
                endpoints
                    .iter()
                    .map(|state| {
                        reusable
                            .and_then(|previous| previous.pool_of(&state.endpoint))
                            .unwrap_or_else(|| settings.endpoint_pools(&state.endpoint))
                    })
                    .collect(),
            ),
            (UpstreamProtocol::Http2, Some(previous)) => previous.client.clone(),
            (UpstreamProtocol::Http2, None) => {
                UpstreamClient::Http2(Box::new(settings.build_http2_client()))
            }
        };
        let version = match settings.protocol {
            UpstreamProtocol::Http1 => Version::HTTP_11,
            UpstreamProtocol::Http2 => Version::HTTP_2,
        };
        TargetState {
            pool_key: target.pool_key.clone(),
            service: upstream.service.clone(),
            settings,
            client,
            version,
            endpoints,
            balancing: upstream.balancing,
            round_robin: previous
                .map(|previous| previous.round_robin.clone())
                .unwrap_or_default(),
            max_concurrent_requests: upstream.max_concurrent_requests,
            in_flight: service_in_flight,
            metrics: metrics.upstream(&upstream.service),
        }
    }

    /// The HTTP/1.1 pools of `endpoint`, if this state has them.
    fn pool_of(&self, endpoint: &Endpoint) -> Option<Http1Pools> {
        let UpstreamClient::Http1(pools) = &self.client else {
            return None;
        };
        let index = self
            .endpoints
            .iter()
            .position(|state| state.endpoint == *endpoint)?;
        pools.get(index).cloned()
    }

    /// Admit one request: enforce the concurrency limit (fail fast, never queue) and pick
    /// an endpoint. The guard releases both when dropped.
    pub(crate) fn admit(self: &Arc<Self>) -> Result<RequestGuard, GatewayError> {
        if self.endpoints.is_empty() {
            return Err(GatewayError::upstream(ErrorKind::UpstreamUnavailable)
                .with_detail("the upstream has no endpoints"));
        }
        let counted_in_flight = match self.max_concurrent_requests {
            Some(limit) => {
                let before = self.in_flight.fetch_add(1, Ordering::AcqRel);
                if before >= limit {
                    self.in_flight.fetch_sub(1, Ordering::AcqRel);
                    return Err(GatewayError::upstream(ErrorKind::UpstreamUnavailable)
                        .with_detail("the upstream is at its concurrency limit"));
                }
                true
            }
            None => false,
        };
        let endpoint = match self.balancing {
            Balancing::LeastRequest => balance::least_request(&self.endpoints, &mut rand::rng()),
            Balancing::RoundRobin => balance::round_robin(&self.round_robin, self.endpoints.len()),
        };
        self.endpoints[endpoint]
            .outstanding
            .fetch_add(1, Ordering::Relaxed);
        Ok(RequestGuard {
            state: self.clone(),
            endpoint,
            counted_in_flight,
        })
    }
}

fn endpoint_state(
    pool_key: &str,
    endpoint: &Endpoint,
    previous: Option<&TargetState>,
    plan: &PoolPlan,
) -> Option<Arc<EndpointState>> {
    if let Some(kept) = previous.and_then(|previous| {
        previous
            .endpoints
            .iter()
            .find(|state| state.endpoint == *endpoint)
    }) {
        return Some(kept.clone());
    }
    if let Some(authority) = plan.authority(&endpoint.authority) {
        return Some(Arc::new(EndpointState {
            endpoint: endpoint.clone(),
            authority: authority.clone(),
            outstanding: AtomicU32::new(0),
        }));
    }
    match parse_authority(&endpoint.authority) {
        Ok(authority) => Some(Arc::new(EndpointState {
            endpoint: endpoint.clone(),
            authority,
            outstanding: AtomicU32::new(0),
        })),
        Err(error) => {
            // A prepared snapshot's plan holds every authority (an unparsable one refused the
            // configuration); only `Upstreams::sync` without a plan gets here. Skip it.
            tracing::error!(
                pool_key,
                authority = %endpoint.authority,
                %error,
                "skipping upstream endpoint with an invalid authority"
            );
            None
        }
    }
}

/// An endpoint's `host:port` as the URI authority requests are sent with.
pub(crate) fn parse_authority(authority: &str) -> Result<Authority, http::uri::InvalidUri> {
    Authority::from_maybe_shared(Bytes::copy_from_slice(authority.as_bytes()))
}

/// Holds one request's share of an endpoint's outstanding count (and of the target's
/// in-flight count under a limit) until dropped.
#[derive(Debug)]
pub(crate) struct RequestGuard {
    state: Arc<TargetState>,
    endpoint: usize,
    counted_in_flight: bool,
}

impl RequestGuard {
    pub(crate) fn endpoint(&self) -> &EndpointState {
        &self.state.endpoints[self.endpoint]
    }

    /// The HTTP/1.1 pools of the chosen endpoint (`None` on an HTTP/2 target).
    pub(crate) fn pool(&self) -> Option<&Http1Pools> {
        match &self.state.client {
            UpstreamClient::Http1(pools) => pools.get(self.endpoint),
            UpstreamClient::Http2(_) => None,
        }
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.state.endpoints[self.endpoint]
            .outstanding
            .fetch_sub(1, Ordering::Relaxed);
        if self.counted_in_flight {
            self.state.in_flight.fetch_sub(1, Ordering::AcqRel);
        }
    }
}
