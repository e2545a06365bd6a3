//! How the mock upstream answers: HTTP modes (hyper, HTTP/1.1 and h2c) and the raw mode.

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::mock_body::{self, MockBody, RepeatBody};
use crate::mock_state::{Mode, Protocols, RecordedRequest, Shared};

pub(crate) async fn serve_http(stream: TcpStream, shared: Arc<Shared>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    match shared.config.protocols {
        Protocols::Both => {}
        Protocols::Http1Only => builder = builder.http1_only(),
        Protocols::Http2Only => builder = builder.http2_only(),
    }
    let service = service_fn(move |request| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(respond(request, &shared).await) }
    });
    let _ = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), service)
        .await;
}

async fn respond(request: Request<Incoming>, shared: &Shared) -> Response<MockBody> {
    let stats = &shared.stats;
    stats.requests.fetch_add(1, Ordering::SeqCst);
    stats
        .recorded
        .lock()
        .expect("recorder lock")
        .push(RecordedRequest {
            method: request.method().clone(),
            uri: request.uri().clone(),
            version: request.version(),
            headers: request.headers().clone(),
        });
    let config = &shared.config;
    if config.hold {
        let mut released = shared.released.clone();
        let _ = released.wait_for(|released| *released).await;
    }
    if let Some(delay) = config.delay {
        tokio::time::sleep(delay).await;
    }
    let (body, content_type) = match &config.mode {
        Mode::UpgradeEcho if request.headers().contains_key(http::header::UPGRADE) => {
            return upgrade(request, shared.shutdown.clone());
        }
        Mode::EchoJson | Mode::UpgradeEcho => (
            mock_body::full(echo_json(request).await),
            Some("application/json"),
        ),
        Mode::EchoBody => (request.into_body().map_err(Into::into).boxed_unsync(), None),
        Mode::Fixed(bytes) => (mock_body::full(bytes.clone()), None),
        Mode::Stream(length) => (RepeatBody::new(*length).boxed_unsync(), None),
        Mode::Raw(_) => (mock_body::empty(), None),
    };
    let mut response = Response::new(body);
    *response.status_mut() = config.status;
    if let Some(content_type) = content_type {
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        );
    }
    for (name, value) in &config.headers {
        response.headers_mut().append(name.clone(), value.clone());
    }
    response
}

async fn echo_json(request: Request<Incoming>) -> Vec<u8> {
    let (parts, mut body) = request.into_parts();
    let mut body_length: u64 = 0;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    body_length += data.len() as u64;
                }
            }
            Err(_) => break,
        }
    }
    let mut joined = serde_json::Map::new();
    let mut list = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        list.push(serde_json::json!([name.as_str(), value]));
        match joined.get_mut(name.as_str()) {
            Some(serde_json::Value::String(existing)) => {
                existing.push_str(", ");
                existing.push_str(&value);
            }
            _ => {
                joined.insert(name.as_str().to_string(), serde_json::Value::String(value));
            }
        }
    }
    let echo = serde_json::json!({
        "method": parts.method.as_str(),
        "uri": parts.uri.to_string(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "version": format!("{:?}", parts.version),
        "headers": joined,
        "headerList": list,
        "bodyLength": body_length,
    });
    serde_json::to_vec(&echo).unwrap_or_default()
}

fn upgrade(
    mut request: Request<Incoming>,
    mut shutdown: watch::Receiver<()>,
) -> Response<MockBody> {
    let protocol = request.headers().get(http::header::UPGRADE).cloned();
    let on_upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let mut io = TokioIo::new(upgraded);
        let echo = async {
            let mut buffer = vec![0u8; 16 * 1024];
            loop {
                match io.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(read) => {
                        if io.write_all(&buffer[..read]).await.is_err() {
                            break;
                        }
                    }
                }
            }
        };
        tokio::select! {
            () = echo => {}
            _ = shutdown.changed() => {}
        }
    });
    let mut response = Response::new(mock_body::empty());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    response.headers_mut().insert(
        http::header::CONNECTION,
        HeaderValue::from_static("upgrade"),
    );
    if let Some(protocol) = protocol {
        response
            .headers_mut()
            .insert(http::header::UPGRADE, protocol);
    }
    response
}

/// Raw mode: read one request head, record it, write `response` verbatim, close.
pub(crate) async fn serve_raw(mut stream: TcpStream, response: Bytes, shared: Arc<Shared>) {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => head.extend_from_slice(&buffer[..read]),
        }
    }
    shared.stats.requests.fetch_add(1, Ordering::SeqCst);
    shared
        .stats
        .raw_heads
        .lock()
        .expect("recorder lock")
        .push(head);
    if let Some(delay) = shared.config.delay {
        tokio::time::sleep(delay).await;
    }
    let _ = stream.write_all(&response).await;
    let _ = stream.shutdown().await;
}
