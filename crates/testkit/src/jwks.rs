//! A JWKS endpoint on `127.0.0.1:0`: serves a JWK Set at `/.well-known/jwks.json` with an
//! optional `Cache-Control`, counts the documents it served, can change its keys and can go
//! down (connections are closed unanswered, or 503 on an open keep-alive connection).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;

use crate::tiny_server::TinyServer;

#[derive(Default)]
struct State {
    document: Mutex<Bytes>,
    cache_control: Mutex<Option<String>>,
    hits: AtomicUsize,
}

pub struct JwksServer {
    server: TinyServer,
    state: Arc<State>,
}

impl JwksServer {
    /// Serve `document` (a `{"keys": [...]}` JSON value).
    pub async fn start(document: &serde_json::Value) -> JwksServer {
        let state = Arc::new(State::default());
        *state.document.lock().expect("document lock") =
            Bytes::from(serde_json::to_vec(document).expect("JWKS JSON"));
        let handler_state = Arc::clone(&state);
        let server = TinyServer::start(Arc::new(move |_request| {
            handler_state.hits.fetch_add(1, Ordering::SeqCst);
            let body = handler_state
                .document
                .lock()
                .expect("document lock")
                .clone();
            let mut response = Response::new(Full::new(body));
            *response.status_mut() = StatusCode::OK;
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            if let Some(cache_control) = handler_state
                .cache_control
                .lock()
                .expect("cache-control lock")
                .as_deref()
            {
                if let Ok(value) = http::HeaderValue::from_str(cache_control) {
                    response
                        .headers_mut()
                        .insert(http::header::CACHE_CONTROL, value);
                }
            }
            response
        }))
        .await;
        JwksServer { server, state }
    }

    /// `http://127.0.0.1:<port>/.well-known/jwks.json`
    pub fn uri(&self) -> String {
        format!("http://{}/.well-known/jwks.json", self.server.addr)
    }

    /// Documents served so far.
    pub fn hits(&self) -> usize {
        self.state.hits.load(Ordering::SeqCst)
    }

    /// Serve `document` from now on (key rotation).
    pub fn set_keys(&self, document: &serde_json::Value) {
        *self.state.document.lock().expect("document lock") =
            Bytes::from(serde_json::to_vec(document).expect("JWKS JSON"));
    }

    /// `Cache-Control` sent with the document (`None`: no header).
    pub fn set_cache_control(&self, value: Option<&str>) {
        *self.state.cache_control.lock().expect("cache-control lock") = value.map(str::to_string);
    }

    /// While down, requests fail (nothing is served or counted).
    pub fn set_down(&self, down: bool) {
        self.server.set_down(down);
    }
}
