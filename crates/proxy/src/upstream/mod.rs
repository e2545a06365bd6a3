//! The upstream side of the data plane: per-target pools that survive config swaps,
//! least-request (power of two choices) balancing, concurrency limits, connect timeouts,
//! HTTP/1.1 and HTTP/2 (prior knowledge) clients, and the forwarding call.
//!
//! CONTRACT (between the downstream pipeline and this module): keep these signatures.
//!
//! Hot path: one `ArcSwap` load of the immutable `pool_key → state` map and a hash lookup
//! per request; the endpoint choice reads two atomics; no lock is shared across cores.
//!
//! The pipeline's `Host` header is sent unchanged (the client only adds one when absent).
//! On HTTP/2 upstreams `:authority` is the endpoint's `host:port` (it is also the pool's
//! key) and `Host` travels as a regular header next to it.
//!
//! Upgrades (`Connection: upgrade`, HTTP/1.1 upstreams) pass through when the request
//! still carries its `Connection`/`Upgrade` headers: on a `101` response,
//! `hyper::upgrade::on(&mut response)` yields the upstream half of the tunnel.

mod balance;
mod body;
mod chunked;
mod idle;
mod lean;
mod pool;
mod target;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::uri::{Parts, PathAndQuery, Scheme};
use http::{Request, Response, Uri};
use http_body::Body as _;
use portcullis_config::ConfigError;
use portcullis_error::{ErrorKind, GatewayError, Phase};
use portcullis_router::{CompiledUpstream, Snapshot, UpstreamTarget};
use portcullis_telemetry::metrics::Metrics;

pub use body::UpstreamBody;
use body::UpstreamResponseBody;
use pool::{PoolError, Reusable};
use target::{RequestGuard, TargetState, UpstreamClient};

/// Error type of the bodies the proxy streams.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The request body sent upstream: the client's body, possibly wrapped (size limit,
/// byte counting), streamed, never buffered whole.
pub type ProxyBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

type TargetMap = HashMap<Arc<str>, Arc<TargetState>>;

/// What a snapshot's pools need, checked when it is prepared: each endpoint's authority.
#[derive(Debug, Default)]
pub(crate) struct PoolPlan {
    authorities: HashMap<Arc<str>, http::uri::Authority>,
}

impl PoolPlan {
    fn authority(&self, endpoint: &str) -> Option<&http::uri::Authority> {
        self.authorities.get(endpoint)
    }
}

/// All upstream state, shared by every request and kept across snapshot swaps.
pub struct Upstreams {
    metrics: Arc<Metrics>,
    /// Immutable map rebuilt by `sync`; requests only `load()` it.
    targets: ArcSwap<TargetMap>,
    /// Serialises writers (`sync`), never taken on the request path.
    sync_lock: Mutex<()>,
}

impl fmt::Debug for Upstreams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let targets = self.targets.load();
        let mut keys: Vec<&str> = targets.keys().map(|key| &**key).collect();
        keys.sort_unstable();
        f.debug_struct("Upstreams")
            .field("pool_keys", &keys)
            .finish()
    }
}

impl Upstreams {
    pub fn new(metrics: Arc<Metrics>) -> Upstreams {
        Upstreams {
            metrics,
            targets: ArcSwap::from_pointee(HashMap::new()),
            sync_lock: Mutex::new(()),
        }
    }

    /// Checks what the pools of `snapshot` will need and cannot be decided later: every
    /// endpoint's authority, parsed once here. Opens nothing; errors name the service.
    pub(crate) fn plan(snapshot: &Snapshot) -> Result<PoolPlan, Vec<ConfigError>> {
        let mut plan = PoolPlan::default();
        let mut problems = Vec::new();
        for route in snapshot.routes() {
            let upstream = &route.upstream;
            for target in &upstream.targets {
                for endpoint in &target.endpoints {
                    if plan.authorities.contains_key(&endpoint.authority) {
                        continue;
                    }
                    match target::parse_authority(&endpoint.authority) {
                        Ok(authority) => {
                            plan.authorities
                                .insert(endpoint.authority.clone(), authority);
                        }
                        Err(error) => problems.push(ConfigError::new(
                            format!("services.{}", upstream.service),
                            format!(
                                "endpoint `{}` of version {} is not a usable host:port ({error}): write it as host:port",
                                endpoint.authority, target.version
                            ),
                        )),
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(plan)
        } else {
            Err(problems)
        }
    }

    /// Called when a snapshot is installed, before it serves traffic: create state for new
    /// `pool_key`s, update endpoint lists, drop state no longer referenced.
    ///
    /// A kept key keeps its client (and so its idle connections) unless the service's
    /// protocol, connect timeout or pool settings changed, and keeps the outstanding
    /// counters of endpoints that stay.
    pub fn sync(&self, snapshot: &Snapshot) {
        self.apply(snapshot, &PoolPlan::default());
    }

    /// [`Upstreams::sync`] with the authorities [`Upstreams::plan`] parsed: what a prepared
    /// snapshot's install calls. No I/O: connections open on first use.
    pub(crate) fn apply(&self, snapshot: &Snapshot, plan: &PoolPlan) {
        // A poisoned lock only means another sync panicked; the map itself is always whole.
        let _writer = self
            .sync_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let previous = self.targets.load_full();
        let mut next = TargetMap::with_capacity(previous.len());
        // The concurrency limit is per service: one counter shared by its targets, kept
        // across swaps so requests in flight during a swap still count.
        let mut service_in_flight: HashMap<Arc<str>, Arc<AtomicU32>> = previous
            .values()
            .map(|state| (state.service.clone(), state.in_flight.clone()))
            .collect();
        for route in snapshot.routes() {
            let upstream = &route.upstream;
            for target in &upstream.targets {
                if next.contains_key(&target.pool_key) {
                    continue;
                }
                let kept = previous.get(&target.pool_key).map(|state| &**state);
                let in_flight = service_in_flight
                    .entry(upstream.service.clone())
                    .or_default()
                    .clone();
                let state =
                    TargetState::build(upstream, target, kept, plan, in_flight, &self.metrics);
                next.insert(target.pool_key.clone(), Arc::new(state));
            }
        }
        self.targets.store(Arc::new(next));
    }

    /// Send `request` to one endpoint of `target`. The request's URI is origin-form
    /// (canonical path + query) and its headers are already sanitised by the pipeline;
    /// this sets the URI authority/scheme for the chosen endpoint. Picks the endpoint
    /// (least-request, power of two choices), enforces `max_concurrent_requests` (503
    /// `UpstreamUnavailable`, fail fast), the connect timeout (502 `UpstreamConnectFailed`),
    /// maps a reset or malformed response to 502 `UpstreamProtocolError`, and records
    /// upstream latency and connect failures. The caller applies the route timeout (504).
    ///
    /// The endpoint counts as busy until the response headers arrive; use
    /// [`Upstreams::forward_streaming`] to keep it busy until the body is finished. The
    /// connection returns to its pool when the body has been read to the end.
    pub async fn forward(
        &self,
        upstream: &CompiledUpstream,
        target: &UpstreamTarget,
        request: Request<ProxyBody>,
    ) -> Result<Response<UpstreamBody>, GatewayError> {
        let (response, guard, reusable) = self.send(upstream, target, request).await?;
        drop(guard);
        Ok(response.map(|body| UpstreamBody::new(body, None, reusable)))
    }

    /// Like [`Upstreams::forward`], but the endpoint's outstanding-request count (and the
    /// concurrency-limit slot) is held until the response body ends or is dropped, which
    /// is what least-request balancing should see for long downloads.
    pub async fn forward_streaming(
        &self,
        upstream: &CompiledUpstream,
        target: &UpstreamTarget,
        request: Request<ProxyBody>,
    ) -> Result<Response<UpstreamBody>, GatewayError> {
        let (response, guard, reusable) = self.send(upstream, target, request).await?;
        Ok(response.map(|body| UpstreamBody::new(body, Some(guard), reusable)))
    }

    /// Outstanding requests per endpoint authority of `pool_key`, in config order
    /// (`None` for an unknown key). For tests and diagnostics, not the hot path.
    pub fn endpoint_loads(&self, pool_key: &str) -> Option<Vec<(Arc<str>, u32)>> {
        let targets = self.targets.load();
        let state = targets.get(pool_key)?;
        Some(
            state
                .endpoints
                .iter()
                .map(|endpoint| {
                    let load = endpoint
                        .outstanding
                        .load(std::sync::atomic::Ordering::Relaxed);
                    (endpoint.endpoint.authority.clone(), load)
                })
                .collect(),
        )
    }

    /// The `pool_key`s currently held, sorted. For tests and diagnostics.
    pub fn pool_keys(&self) -> Vec<Arc<str>> {
        let mut keys: Vec<Arc<str>> = self.targets.load().keys().cloned().collect();
        keys.sort_unstable();
        keys
    }

    async fn send(
        &self,
        upstream: &CompiledUpstream,
        target: &UpstreamTarget,
        mut request: Request<ProxyBody>,
    ) -> Result<
        (
            Response<UpstreamResponseBody>,
            RequestGuard,
            Option<Reusable>,
        ),
        GatewayError,
    > {
        let state = self.state_for(upstream, target);
        let guard = state.admit()?;
        let started = Instant::now();
        let sent = match guard.pool() {
            Some(pools) => {
                // HTTP/1.1 takes the origin-form target the pipeline built; an upstream
                // still needs a `Host` when the client sent none (HTTP/1.0).
                if !request.headers().contains_key(http::header::HOST) {
                    if let Ok(host) =
                        http::HeaderValue::from_str(&guard.endpoint().endpoint.authority)
                    {
                        request.headers_mut().insert(http::header::HOST, host);
                    }
                }
                *request.version_mut() = http::Version::HTTP_11;
                let bodyless = request.body().is_end_stream()
                    && !request.headers().contains_key(http::header::UPGRADE);
                let sent = if bodyless {
                    let head = lean::encode_head(&request);
                    let method = request.method().clone();
                    drop(request);
                    pools
                        .lean
                        .send(head, &method)
                        .await
                        .map(|response| (response.map(UpstreamResponseBody::Lean), None))
                } else {
                    // Boxed, like the HTTP/2 path below: their state is large and only
                    // requests with a body (or upgrades) need it.
                    Box::pin(pools.hyper.send(request))
                        .await
                        .map(|(response, reusable)| {
                            (response.map(UpstreamResponseBody::Hyper), reusable)
                        })
                };
                sent.map_err(|error| classify_pool(&state, guard.endpoint(), error))
            }
            None => {
                let UpstreamClient::Http2(client) = &state.client else {
                    unreachable!("a target without HTTP/1.1 pools has an HTTP/2 client");
                };
                Box::pin(Self::send_http2(&state, client, guard.endpoint(), request)).await
            }
        };
        let (response, reusable) = sent?;
        state.metrics.observe_latency(started.elapsed());
        Ok((response, guard, reusable))
    }

    async fn send_http2(
        state: &TargetState,
        client: &target::Http2Client,
        endpoint: &target::EndpointState,
        mut request: Request<ProxyBody>,
    ) -> Result<(Response<UpstreamResponseBody>, Option<Reusable>), GatewayError> {
        let path_and_query = std::mem::take(request.uri_mut())
            .into_parts()
            .path_and_query
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        let mut parts = Parts::default();
        parts.scheme = Some(Scheme::HTTP);
        parts.authority = Some(endpoint.authority.clone());
        parts.path_and_query = Some(path_and_query);
        *request.uri_mut() = Uri::from_parts(parts).map_err(|error| {
            tracing::error!(pool_key = %state.pool_key, %error, "cannot build the upstream URI");
            GatewayError::gateway(ErrorKind::Internal, Phase::Forward)
        })?;
        *request.version_mut() = state.version;
        match client.request(request).await {
            Ok(response) => Ok((response.map(UpstreamResponseBody::Hyper), None)),
            Err(error) => Err(classify(state, endpoint, &error)),
        }
    }

    /// The state for `target`. A request that started on a snapshot whose key a later
    /// `sync` dropped still gets served, by a short-lived state of its own.
    fn state_for(&self, upstream: &CompiledUpstream, target: &UpstreamTarget) -> Arc<TargetState> {
        let targets = self.targets.load();
        if let Some(state) = targets.get(&target.pool_key) {
            return state.clone();
        }
        tracing::debug!(pool_key = %target.pool_key, "no pool for target; using a transient one");
        let in_flight = targets
            .values()
            .find(|state| state.service == upstream.service)
            .map(|state| state.in_flight.clone())
            .unwrap_or_default();
        Arc::new(TargetState::build(
            upstream,
            target,
            None,
            &PoolPlan::default(),
            in_flight,
            &self.metrics,
        ))
    }
}

/// Map an HTTP/1.1 pool error to the gateway's error, counting connect failures.
fn classify_pool(
    state: &TargetState,
    endpoint: &target::EndpointState,
    error: PoolError,
) -> GatewayError {
    match error {
        PoolError::Connect(error) => {
            state.metrics.connect_failure();
            tracing::warn!(
                pool_key = %state.pool_key,
                endpoint = %endpoint.endpoint.authority,
                %error,
                "upstream connect failed"
            );
            GatewayError::upstream(ErrorKind::UpstreamConnectFailed)
        }
        PoolError::Request(error) => request_failure(state, endpoint, &error),
        PoolError::Lean(error) => request_failure(state, endpoint, &error),
    }
}

/// A request that failed after it was handed to a connection: the body wrapper's own
/// verdict (size limit, client gone) when there is one, else the upstream's fault.
fn request_failure(
    state: &TargetState,
    endpoint: &target::EndpointState,
    error: &(dyn std::error::Error + 'static),
) -> GatewayError {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(verdict) = cause.downcast_ref::<GatewayError>() {
            return verdict.clone();
        }
        source = cause.source();
    }
    tracing::warn!(
        pool_key = %state.pool_key,
        endpoint = %endpoint.endpoint.authority,
        error = %error_chain(error),
        "upstream request failed"
    );
    GatewayError::upstream(ErrorKind::UpstreamProtocolError)
}

/// Map an HTTP/2 client error to the gateway's error, counting connect failures.
fn classify(
    state: &TargetState,
    endpoint: &target::EndpointState,
    error: &hyper_util::client::legacy::Error,
) -> GatewayError {
    if error.is_connect() {
        state.metrics.connect_failure();
        tracing::warn!(
            pool_key = %state.pool_key,
            endpoint = %endpoint.endpoint.authority,
            error = %error_chain(error),
            "upstream connect failed"
        );
        return GatewayError::upstream(ErrorKind::UpstreamConnectFailed);
    }
    request_failure(state, endpoint, error)
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
