//! HTTP/1.1 keep-alive connections to one endpoint, over `hyper::client::conn::http1`.
//!
//! Why not hyper-util's pooled client: for every request it checks a connection out of a
//! keyed pool behind a mutex, races a lazy connect against the checkout, and spawns a task
//! that waits for the connection to become idle again. Here a request takes the most
//! recently used idle connection of the endpoint the balancer already picked (one
//! uncontended mutex, no map lookup), and the connection goes back when the response
//! body ends ([`super::UpstreamBody`] does that), with no task per request.
//!
//! Each connection runs in its own task (hyper's `Connection` future). An idle connection
//! the endpoint closed is noticed by that task and skipped at checkout; one the endpoint
//! closes while the request is being handed over comes back unsent and the request is
//! retried once on a new connection, so a keep-alive race never fails a request.

use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::idle::{IdleConnection, IdleList};
use super::ProxyBody;

/// Why a request did not get a response from the endpoint.
#[derive(Debug)]
pub(crate) enum PoolError {
    /// No TCP connection could be made within the connect timeout.
    Connect(std::io::Error),
    /// The connection failed after the request was (at least partly) sent.
    Request(hyper::Error),
    /// A bodyless exchange on a raw connection failed ([`super::lean`]).
    Lean(super::lean::LeanError),
}

/// hyper client connections to one endpoint.
#[derive(Debug)]
pub(crate) struct EndpointPool {
    authority: Arc<str>,
    connect_timeout: Duration,
    idle: Arc<IdleList<http1::SendRequest<ProxyBody>>>,
}

impl IdleConnection for http1::SendRequest<ProxyBody> {
    /// Closed by the endpoint or broken: its task has ended.
    fn still_usable(&self) -> bool {
        !self.is_closed()
    }
}

/// A connection lent to one request: goes back to its pool through
/// [`Reusable::release`] once the response has been read to its end. Dropped unread, it
/// still goes back if hyper has already received the whole response (a short body arrives
/// with the head); otherwise the connection closes.
#[derive(Debug)]
pub(crate) struct Reusable {
    sender: Option<http1::SendRequest<ProxyBody>>,
    pool: Arc<EndpointPool>,
}

impl Reusable {
    /// The exchange is complete: keep the connection for the next request.
    pub(crate) fn release(mut self) {
        if let Some(sender) = self.sender.take() {
            self.pool.put(sender);
        }
    }

    /// The exchange failed: the connection must not carry another request.
    pub(crate) fn discard(mut self) {
        self.sender.take();
    }
}

impl Drop for Reusable {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            if sender.is_ready() {
                self.pool.put(sender);
            }
        }
    }
}

impl EndpointPool {
    pub(crate) fn new(
        authority: Arc<str>,
        connect_timeout: Duration,
        max_idle: usize,
        idle_timeout: Duration,
    ) -> EndpointPool {
        EndpointPool {
            authority,
            connect_timeout,
            idle: Arc::new(IdleList::new(max_idle, idle_timeout)),
        }
    }

    /// Send `request` on an idle connection, or a new one. The response comes with the
    /// connection, to be released when its body is done (`None` for a 101: the connection
    /// now belongs to the tunnel).
    pub(crate) async fn send(
        self: &Arc<Self>,
        request: Request<ProxyBody>,
    ) -> Result<(Response<Incoming>, Option<Reusable>), PoolError> {
        let mut request = request;
        while let Some(mut sender) = self.idle.checkout() {
            // A connection released a moment ago may still be finishing the previous
            // exchange in its task; waiting for it is cheaper than opening another. An error
            // means the endpoint closed it: try the next one.
            if sender.ready().await.is_err() {
                continue;
            }
            match self.try_send(sender, request).await {
                Ok(answer) => return Ok(answer),
                Err(Unsent::Failed(error)) => return Err(PoolError::Request(error)),
                // The endpoint closed the idle connection as we used it: nothing was sent.
                Err(Unsent::Returned(unsent)) => request = unsent,
            }
        }
        let sender = self.connect().await?;
        match self.try_send(sender, request).await {
            Ok(answer) => Ok(answer),
            Err(Unsent::Failed(error)) => Err(PoolError::Request(error)),
            Err(Unsent::Returned(_)) => Err(PoolError::Connect(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "the new connection closed before the request could be sent",
            ))),
        }
    }

    async fn try_send(
        self: &Arc<Self>,
        mut sender: http1::SendRequest<ProxyBody>,
        request: Request<ProxyBody>,
    ) -> Result<(Response<Incoming>, Option<Reusable>), Unsent> {
        match sender.try_send_request(request).await {
            Ok(response) => {
                let reusable =
                    (response.status() != http::StatusCode::SWITCHING_PROTOCOLS).then(|| {
                        Reusable {
                            sender: Some(sender),
                            pool: Arc::clone(self),
                        }
                    });
                Ok((response, reusable))
            }
            Err(mut error) => match error.take_message() {
                Some(request) => Err(Unsent::Returned(request)),
                None => Err(Unsent::Failed(error.into_error())),
            },
        }
    }

    fn put(&self, sender: http1::SendRequest<ProxyBody>) {
        if sender.still_usable() {
            self.idle.put(sender);
        }
    }

    async fn connect(self: &Arc<Self>) -> Result<http1::SendRequest<ProxyBody>, PoolError> {
        let stream = connect_stream(&self.authority, self.connect_timeout).await?;
        let (sender, connection) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(PoolError::Request)?;
        let authority = Arc::clone(&self.authority);
        tokio::spawn(async move {
            if let Err(error) = connection.with_upgrades().await {
                tracing::debug!(endpoint = %authority, %error, "upstream connection ended");
            }
        });
        Ok(sender)
    }
}

// Boxing the request would allocate on the rare path only, but the success path already
// moves a response of similar size; the enum never outlives one call.
#[allow(clippy::large_enum_variant)]
enum Unsent {
    /// The request never left: try it elsewhere.
    Returned(Request<ProxyBody>),
    Failed(hyper::Error),
}

/// A new TCP connection to `authority` within `timeout`, with Nagle's delay off.
pub(crate) async fn connect_stream(
    authority: &str,
    timeout: Duration,
) -> Result<TcpStream, PoolError> {
    let stream = tokio::time::timeout(timeout, connect_any(authority))
        .await
        .map_err(|_elapsed| {
            PoolError::Connect(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no connection within {timeout:?}"),
            ))
        })?
        .map_err(PoolError::Connect)?;
    // Requests are written in one go; waiting for more to coalesce only adds latency.
    stream.set_nodelay(true).map_err(PoolError::Connect)?;
    Ok(stream)
}

/// Connect to the first address of `authority` (`host:port`) that answers. IP literals are
/// not looked up; names are resolved by the system resolver.
async fn connect_any(authority: &str) -> std::io::Result<TcpStream> {
    let mut last_error = None;
    for address in tokio::net::lookup_host(authority).await? {
        match TcpStream::connect(address).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{authority} resolves to no address"),
        )
    }))
}
