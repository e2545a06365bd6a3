//! An OAuth2 introspection endpoint (RFC 7662) on `127.0.0.1:0`: answers `POST` with the
//! JSON registered for the form's `token`, `{"active": false}` for any other token; counts
//! calls, keeps the last `Authorization` header it saw, and can go down.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;

use crate::tiny_server::TinyServer;

#[derive(Default)]
struct State {
    answers: Mutex<HashMap<String, serde_json::Value>>,
    calls: AtomicUsize,
    last_authorization: Mutex<Option<String>>,
}

pub struct IntrospectionServer {
    server: TinyServer,
    state: Arc<State>,
}

impl IntrospectionServer {
    pub async fn start() -> IntrospectionServer {
        let state = Arc::new(State::default());
        let handler_state = Arc::clone(&state);
        let server = TinyServer::start(Arc::new(move |request| {
            handler_state.calls.fetch_add(1, Ordering::SeqCst);
            *handler_state
                .last_authorization
                .lock()
                .expect("authorization lock") = request
                .headers()
                .get(http::header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .map(str::to_string);
            let token = form_value(request.body(), "token").unwrap_or_default();
            let answer = handler_state
                .answers
                .lock()
                .expect("answers lock")
                .get(&token)
                .cloned()
                .unwrap_or_else(|| serde_json::json!({"active": false}));
            let mut response = Response::new(Full::new(Bytes::from(
                serde_json::to_vec(&answer).expect("answer JSON"),
            )));
            *response.status_mut() = StatusCode::OK;
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            response
        }))
        .await;
        IntrospectionServer { server, state }
    }

    /// `http://127.0.0.1:<port>/introspect`
    pub fn uri(&self) -> String {
        format!("http://{}/introspect", self.server.addr)
    }

    /// Answer `answer` for `token` from now on.
    pub fn set_answer(&self, token: &str, answer: serde_json::Value) {
        self.state
            .answers
            .lock()
            .expect("answers lock")
            .insert(token.to_string(), answer);
    }

    /// Introspection calls answered so far.
    pub fn calls(&self) -> usize {
        self.state.calls.load(Ordering::SeqCst)
    }

    pub fn last_authorization(&self) -> Option<String> {
        self.state
            .last_authorization
            .lock()
            .expect("authorization lock")
            .clone()
    }

    pub fn set_down(&self, down: bool) {
        self.server.set_down(down);
    }
}

/// One field of an `application/x-www-form-urlencoded` body, decoded.
fn form_value(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| percent_decode(value))
    })
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => out.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        index += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
