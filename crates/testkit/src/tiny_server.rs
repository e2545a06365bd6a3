//! A minimal HTTP/1.1 server on `127.0.0.1:0` for the identity-provider stand-ins (JWKS,
//! introspection): each request goes to a synchronous handler; while marked down, the
//! server accepts connections and closes them at once (the client sees a failed request).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub(crate) type Handler = dyn Fn(Request<Bytes>) -> Response<Full<Bytes>> + Send + Sync;

pub(crate) struct TinyServer {
    pub(crate) addr: SocketAddr,
    pub(crate) down: Arc<AtomicBool>,
    accept_task: JoinHandle<()>,
}

impl Drop for TinyServer {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

impl TinyServer {
    pub(crate) async fn start(handler: Arc<Handler>) -> TinyServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let down = Arc::new(AtomicBool::new(false));
        let accept_down = Arc::clone(&down);
        let accept_task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                if accept_down.load(Ordering::SeqCst) {
                    drop(stream);
                    continue;
                }
                let handler = Arc::clone(&handler);
                let connection_down = Arc::clone(&accept_down);
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                        let handler = Arc::clone(&handler);
                        let down = Arc::clone(&connection_down);
                        async move {
                            let (parts, body) = request.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|collected| collected.to_bytes())
                                .unwrap_or_default();
                            if down.load(Ordering::SeqCst) {
                                // Gone down while this keep-alive connection was open.
                                let mut refused = Response::new(Full::new(Bytes::new()));
                                *refused.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
                                return Ok::<_, Infallible>(refused);
                            }
                            Ok::<_, Infallible>(handler(Request::from_parts(parts, body)))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        TinyServer {
            addr,
            down,
            accept_task,
        }
    }

    pub(crate) fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }
}
