//! Tiny example upstreams for `portcullis quickstart` and `portcullis example-upstreams`: each
//! answers every request with JSON naming itself, so a user sees which service and version the
//! gateway chose.

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// One built-in upstream.
#[derive(Debug, Clone, Copy)]
pub struct ExampleUpstream {
    pub service: &'static str,
    pub version: &'static str,
    pub address: &'static str,
}

/// The upstreams `examples/quickstart.yaml` points at.
pub const EXAMPLE_UPSTREAMS: [ExampleUpstream; 3] = [
    ExampleUpstream {
        service: "orders",
        version: "stable",
        address: "127.0.0.1:18081",
    },
    ExampleUpstream {
        service: "orders",
        version: "canary",
        address: "127.0.0.1:18082",
    },
    ExampleUpstream {
        service: "users",
        version: "default",
        address: "127.0.0.1:18083",
    },
];

/// Bind every example upstream on its quickstart address and serve them in the background.
pub async fn start(upstreams: &[ExampleUpstream]) -> anyhow::Result<Vec<SocketAddr>> {
    let mut bound = Vec::with_capacity(upstreams.len());
    for upstream in upstreams {
        let addr = start_at(*upstream, upstream.address)
            .await
            .map_err(|error| {
                anyhow::anyhow!("{error}; the quickstart needs ports 18081-18083 free")
            })?;
        bound.push(addr);
    }
    Ok(bound)
}

/// Bind `upstream` on `address` and serve it in the background. The error names the upstream,
/// the address and why.
pub async fn start_at(upstream: ExampleUpstream, address: &str) -> anyhow::Result<SocketAddr> {
    let cannot = |error: std::io::Error| {
        anyhow::anyhow!(
            "cannot start the example {} ({}) upstream on {address}: {error}",
            upstream.service,
            upstream.version
        )
    };
    let listener = TcpListener::bind(address).await.map_err(cannot)?;
    let addr = listener.local_addr().map_err(cannot)?;
    tokio::spawn(serve(listener, upstream));
    Ok(addr)
}

async fn serve(listener: TcpListener, upstream: ExampleUpstream) {
    loop {
        let Ok((stream, _peer)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let service = service_fn(move |request| answer(request, upstream));
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "example upstream connection ended");
            }
        });
    }
}

async fn answer(
    request: Request<Incoming>,
    upstream: ExampleUpstream,
) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let method = request.method().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map(ToString::to_string)
        .unwrap_or_default();
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    let request_id = header("x-request-id");
    let user_id = header("x-user-id");
    let body_bytes = request.into_body().collect().await?.to_bytes().len();
    let body = serde_json::json!({
        "service": upstream.service,
        "version": upstream.version,
        "method": method,
        "path": path,
        "requestId": request_id,
        "userId": user_id,
        "receivedBodyBytes": body_bytes,
    });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
