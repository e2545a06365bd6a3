//! Listeners: accept, connection limits, TLS, HTTP/1.1 + HTTP/2 (h2c prior knowledge on
//! plain TCP, ALPN on TLS), and graceful shutdown. HTTP/1 is read through the framing guard
//! (`crate::framing`): plain TCP always, TLS unless ALPN chose `h2`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulConnection, GracefulShutdown, Watcher};
use portcullis_router::PathOptions;
use portcullis_telemetry::metrics::{ListenerMetrics, OpenConnection};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::cidr::Cidr;
use crate::framing::io::Guard;
use crate::framing::{self, Limits, Tracker};
use crate::gateway::Gateway;
use crate::protocol::{head_timeout, protocol_builder, MIN_HEADER_BUFFER};
use crate::stream_resets::StreamResets;
use crate::write_deadline::WriteDeadline;
use crate::write_stall::{self, WriteStall};
use crate::{pipeline, respond, tls, ProxyError};

/// What the request pipeline needs to know about the listener a request arrived on.
#[derive(Debug)]
pub(crate) struct ListenerContext {
    pub(crate) name: String,
    pub(crate) gateway: Arc<Gateway>,
    pub(crate) https: bool,
    /// `allowEncodedSlashes` and `allowDotSegmentParameters`.
    pub(crate) path_options: PathOptions,
    pub(crate) trusted_proxies: Vec<Cidr>,
    pub(crate) drain: Arc<DrainState>,
    /// `bodyReadTimeoutMs`: the longest silence between request body bytes.
    pub(crate) body_read_timeout: Duration,
    /// `writeTimeoutMs`: the longest a response waits on a client that reads none of it.
    pub(crate) write_timeout: Duration,
    pub(crate) metrics: ListenerMetrics,
}

/// Shared by every listener of a server: how shutdown reaches upgraded connections
/// (WebSocket tunnels), which hyper stops tracking once they switch protocols.
#[derive(Debug)]
pub(crate) struct DrainState {
    /// Becomes true when draining is over: whatever still runs is dropped.
    hard_stop: watch::Receiver<bool>,
    tunnels: AtomicUsize,
}

impl DrainState {
    pub(crate) fn hard_stop(&self) -> watch::Receiver<bool> {
        self.hard_stop.clone()
    }

    /// Count a tunnel as open until the guard drops.
    pub(crate) fn track_tunnel(self: &Arc<Self>) -> TunnelGuard {
        self.tunnels.fetch_add(1, Ordering::Relaxed);
        TunnelGuard {
            drain: Arc::clone(self),
        }
    }

    fn open_tunnels(&self) -> usize {
        self.tunnels.load(Ordering::Relaxed)
    }
}

/// One open tunnel; see [`DrainState::track_tunnel`].
#[derive(Debug)]
pub(crate) struct TunnelGuard {
    drain: Arc<DrainState>,
}

impl Drop for TunnelGuard {
    fn drop(&mut self) {
        self.drain.tunnels.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One accepted connection.
#[derive(Debug)]
pub(crate) struct ConnectionContext {
    pub(crate) listener: Arc<ListenerContext>,
    pub(crate) peer: SocketAddr,
    /// The verified TLS client certificate's identities, set once after the handshake.
    pub(crate) client_identity: std::sync::OnceLock<portcullis_policy::mtls::ClientIdentity>,
    /// What the framing guard and the pipeline tell each other (refusals, protocol switches).
    pub(crate) framing: framing::Shared,
    /// Whether responses wait on a client that stopped reading (`writeTimeoutMs`).
    pub(crate) write_stall: Arc<WriteStall>,
    /// HTTP/2 streams the client cancelled before their answer (paced rapid reset).
    pub(crate) stream_resets: Arc<StreamResets>,
}

struct BoundListener {
    context: Arc<ListenerContext>,
    tcp: TcpListener,
    local_addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    connection_permits: Arc<Semaphore>,
    handshake_timeout: Duration,
    head_limits: HeadLimits,
}

/// The framing guard's settings for one listener.
#[derive(Debug, Clone, Copy)]
struct HeadLimits {
    limits: Limits,
    /// The guard's buffer grows up to this: hyper's largest read, and room for a whole head.
    buffer: usize,
    /// hyper's head timeout, which the guard applies to the first head (see `Guard`).
    timeout: Duration,
}

impl HeadLimits {
    fn of(listener: &portcullis_config::Listener) -> HeadLimits {
        let max_header_bytes = (listener.max_header_bytes as usize).max(1);
        HeadLimits {
            limits: Limits {
                max_header_bytes,
                max_headers: (listener.max_headers as usize).max(1),
            },
            buffer: max_header_bytes.max(MIN_HEADER_BUFFER),
            timeout: head_timeout(listener),
        }
    }

    fn guard<T>(&self, io: T, context: &Arc<ConnectionContext>) -> Guard<T, ConnectionContext> {
        Guard::new(
            io,
            Arc::clone(context),
            Tracker::new(self.limits),
            self.buffer,
            Some(self.timeout),
        )
    }
}

impl std::fmt::Debug for BoundListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundListener")
            .field("name", &self.context.name)
            .field("local_addr", &self.local_addr)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// Bound data-plane listeners.
#[derive(Debug)]
pub struct Server {
    listeners: Vec<BoundListener>,
    hard_stop: watch::Sender<bool>,
    drain: Arc<DrainState>,
}

impl Server {
    /// Bind every listener (a port of 0 picks a free one) and load TLS material.
    pub async fn bind(
        gateway: Arc<Gateway>,
        listeners: &[portcullis_config::Listener],
    ) -> Result<Server, ProxyError> {
        let (hard_stop, hard_stop_rx) = watch::channel(false);
        let drain = Arc::new(DrainState {
            hard_stop: hard_stop_rx,
            tunnels: AtomicUsize::new(0),
        });
        let mut bound = Vec::with_capacity(listeners.len());
        for listener in listeners {
            let address: SocketAddr =
                listener.address.parse().map_err(|_| ProxyError::Address {
                    listener: listener.name.clone(),
                    address: listener.address.clone(),
                })?;
            let trusted_proxies = listener
                .trusted_proxies
                .iter()
                .map(|block| Cidr::parse(block))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| ProxyError::TrustedProxy {
                    listener: listener.name.clone(),
                    source: error,
                })?;
            let tls = match &listener.tls {
                Some(settings) => {
                    Some(listener_acceptor(&gateway, &listener.name, settings).await?)
                }
                None => None,
            };
            let tcp = TcpListener::bind(address)
                .await
                .map_err(|source| ProxyError::Bind {
                    address: listener.address.clone(),
                    source,
                })?;
            let local_addr = tcp.local_addr().map_err(|source| ProxyError::Bind {
                address: listener.address.clone(),
                source,
            })?;
            let context = Arc::new(ListenerContext {
                name: listener.name.clone(),
                gateway: Arc::clone(&gateway),
                https: tls.is_some(),
                path_options: PathOptions {
                    allow_encoded_slashes: listener.allow_encoded_slashes,
                    allow_dot_segment_parameters: listener.allow_dot_segment_parameters,
                },
                trusted_proxies,
                drain: Arc::clone(&drain),
                body_read_timeout: Duration::from_millis(listener.body_read_timeout_ms.max(1)),
                write_timeout: Duration::from_millis(listener.write_timeout_ms.max(1)),
                metrics: gateway.metrics().listener(&listener.name),
            });
            bound.push(BoundListener {
                context,
                tcp,
                local_addr,
                tls,
                builder: Arc::new(protocol_builder(listener)),
                connection_permits: Arc::new(Semaphore::new(
                    (listener.max_connections as usize).max(1),
                )),
                handshake_timeout: Duration::from_millis(listener.header_read_timeout_ms.max(1)),
                head_limits: HeadLimits::of(listener),
            });
        }
        Ok(Server {
            listeners: bound,
            hard_stop,
            drain,
        })
    }

    /// `(listener name, bound address)` for each listener.
    pub fn local_addrs(&self) -> Vec<(String, SocketAddr)> {
        self.listeners
            .iter()
            .map(|listener| (listener.context.name.clone(), listener.local_addr))
            .collect()
    }

    /// Serve until `shutdown` resolves, then stop accepting, let in-flight requests finish
    /// for up to `drain_deadline`, and close what remains.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send, drain_deadline: Duration) {
        let graceful = GracefulShutdown::new();
        let accepting = futures_util::future::join_all(
            self.listeners
                .into_iter()
                .map(|listener| accept_loop(listener, &graceful)),
        );
        tokio::select! {
            _ = accepting => {}
            () = shutdown => {}
        }
        // The accept loops (and their TcpListeners) are dropped here: new connections are
        // refused from now on. Connections are told to finish their current request.
        let deadline = tokio::time::Instant::now() + drain_deadline;
        if tokio::time::timeout_at(deadline, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                ?drain_deadline,
                "drain deadline passed; closing remaining connections"
            );
        }
        // Tunnels left hyper's tracking when they switched protocols: they get whatever is
        // left of the deadline.
        while self.drain.open_tunnels() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let _ = self.hard_stop.send(true);
    }
}

/// The acceptor the installed snapshot loaded for this listener, else one loaded now (a
/// server bound before any snapshot, or to listeners the snapshot does not describe).
async fn listener_acceptor(
    gateway: &Gateway,
    name: &str,
    settings: &portcullis_config::ListenerTls,
) -> Result<TlsAcceptor, ProxyError> {
    if let Some(acceptor) = gateway.listener_tls(name, settings) {
        return Ok(acceptor);
    }
    let tls_error = |message: String| ProxyError::Tls {
        listener: name.to_string(),
        message,
    };
    let owned = settings.clone();
    tokio::task::spawn_blocking(move || tls::load(&owned))
        .await
        .map_err(|error| tls_error(format!("loading the TLS files failed: {error}")))?
        .map_err(|problem| tls_error(format!("tls.{}: {}", problem.field, problem.message)))
}

async fn accept_loop(listener: BoundListener, graceful: &GracefulShutdown) {
    loop {
        let (stream, peer) = match listener.tcp.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                // Usually EMFILE/ENFILE: back off briefly instead of spinning.
                tracing::warn!(listener = %listener.context.name, %error, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        // Over `maxConnections`: close at once rather than queue (the client sees a reset
        // or EOF and can go to another instance).
        let Ok(permit) = Arc::clone(&listener.connection_permits).try_acquire_owned() else {
            tracing::debug!(listener = %listener.context.name, %peer, "maxConnections reached; closing");
            listener.context.metrics.refused();
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let connection = ConnectionTask {
            context: Arc::new(ConnectionContext {
                listener: Arc::clone(&listener.context),
                peer,
                client_identity: std::sync::OnceLock::new(),
                framing: framing::Shared::default(),
                write_stall: Arc::default(),
                stream_resets: Arc::default(),
            }),
            builder: Arc::clone(&listener.builder),
            tls: listener.tls.clone(),
            handshake_timeout: listener.handshake_timeout,
            head_limits: listener.head_limits,
            watcher: graceful.watcher(),
            _open: listener.context.metrics.track_open(),
            _permit: permit,
        };
        tokio::spawn(connection.serve(stream));
    }
}

struct ConnectionTask {
    context: Arc<ConnectionContext>,
    builder: Arc<auto::Builder<TokioExecutor>>,
    tls: Option<TlsAcceptor>,
    handshake_timeout: Duration,
    head_limits: HeadLimits,
    watcher: Watcher,
    /// `portcullis_connections_open` counts the connection until it ends.
    _open: OpenConnection,
    /// Released when the connection ends.
    _permit: OwnedSemaphorePermit,
}

impl ConnectionTask {
    async fn serve(mut self, stream: TcpStream) {
        let listener = &self.context.listener;
        let stream = WriteDeadline::new(stream, listener.write_timeout, listener.metrics.clone());
        match self.tls.take() {
            None => self.serve_plain(stream).await,
            // The TLS handshake and stream are large: boxed, so that every plain connection's
            // task does not reserve room for them (a task's size is its largest branch).
            Some(acceptor) => Box::pin(self.serve_tls(acceptor, stream)).await,
        }
    }

    async fn serve_plain(self, stream: WriteDeadline<TcpStream>) {
        let mut hard_stop = self.context.listener.drain.hard_stop();
        let context = Arc::clone(&self.context);
        let service = service_fn(move |request| pipeline::handle(Arc::clone(&context), request));
        let guarded = self.head_limits.guard(stream, &self.context);
        let connection = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(guarded), service);
        drive(connection, &self.context, self.watcher, &mut hard_stop).await;
    }

    async fn serve_tls(self, acceptor: TlsAcceptor, stream: WriteDeadline<TcpStream>) {
        let mut hard_stop = self.context.listener.drain.hard_stop();
        let handshake = tokio::time::timeout(self.handshake_timeout, acceptor.accept(stream));
        let stream = match handshake.await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                tracing::debug!(peer = %self.context.peer, %error, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(peer = %self.context.peer, "TLS handshake timed out");
                return;
            }
        };
        if let Some(identity) = crate::auth::mtls::peer_identity(stream.get_ref().1) {
            let _ = self.context.client_identity.set(identity);
        }
        let context = Arc::clone(&self.context);
        let service = service_fn(move |request| pipeline::handle(Arc::clone(&context), request));
        // HTTP/2 frames its own messages: only HTTP/1 goes through the guard.
        if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
            let connection = self
                .builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service);
            drive(connection, &self.context, self.watcher, &mut hard_stop).await;
        } else {
            let guarded = self.head_limits.guard(stream, &self.context);
            let connection = self
                .builder
                .serve_connection_with_upgrades(TokioIo::new(guarded), service);
            drive(connection, &self.context, self.watcher, &mut hard_stop).await;
        }
    }
}

/// Run a connection until it ends, finishing gracefully on shutdown and dropping it when
/// the drain deadline passes.
async fn drive<C>(
    connection: C,
    context: &ConnectionContext,
    watcher: Watcher,
    hard_stop: &mut watch::Receiver<bool>,
) where
    C: GracefulConnection<Error = Box<dyn std::error::Error + Send + Sync>>,
{
    let connection = watcher.watch(connection);
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                tracing::debug!(peer = %context.peer, %error, "connection ended with an error");
                // hyper refused a request before the pipeline saw it (a head timeout; on
                // HTTP/2 connections, or should hyper refuse something the framing guard
                // passed, a parse error): log it all the same.
                if let Some(error) = error.downcast_ref::<hyper::Error>() {
                    respond::record_refused_head(context, error);
                }
            }
        }
        _ = hard_stop.wait_for(|stopped| *stopped) => {}
        // The client stopped reading: dropping the connection closes the socket, aborts the
        // upstream responses it held and frees its slot.
        () = write_stall::watch(&context.write_stall, context.listener.write_timeout) => {
            tracing::debug!(peer = %context.peer, "write timeout: the client stopped reading");
            context.listener.metrics.write_timeout();
        }
        // Rapid reset with streams paced to be accepted first: close the connection.
        () = context.stream_resets.exceeded() => {
            tracing::debug!(peer = %context.peer, "HTTP/2 client cancelled most of its streams; closing");
            context.listener.metrics.reset_flood();
        }
    }
}
