//! A control-plane stand-in: `GET /v1/dataplane/snapshot` with the real long-poll semantics
//! (answer at once when the assigned checksum differs from `known`, else hold and answer
//! 304), `POST /v1/dataplane/heartbeat`, bearer-token checks, and a switch that takes it
//! down (the port then refuses connections and open connections are cut) and up again.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use portcullis_protocol::dataplane::{
    DataPlaneSnapshot, Heartbeat, HeartbeatAck, SnapshotQuery, HEARTBEAT_PATH, SNAPSHOT_PATH,
};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use super::{ENVIRONMENT, TOKEN};

/// One long-poll as the stand-in answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollRecord {
    pub known: Option<String>,
    pub status: u16,
    /// The checksum sent with a 200.
    pub sent: Option<String>,
}

struct Shared {
    accepted_token: Mutex<String>,
    /// Every request answered with this status instead (401 with `WWW-Authenticate`).
    forced_status: Mutex<Option<u16>>,
    hold: Duration,
    assigned: watch::Sender<Option<DataPlaneSnapshot>>,
    /// `known` of each long-poll, when it arrives.
    arrivals: Mutex<Vec<Option<String>>>,
    polls: Mutex<Vec<PollRecord>>,
    heartbeats: Mutex<Vec<Heartbeat>>,
}

pub struct StandIn {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: Mutex<Option<JoinHandle<()>>>,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl StandIn {
    /// Up, holding long-polls `hold` before 304.
    pub async fn start(hold: Duration) -> StandIn {
        let stand_in = StandIn::reserve(hold).await;
        stand_in.come_up().await;
        stand_in
    }

    /// Up over TLS with the given server configuration.
    pub async fn start_tls(hold: Duration, tls: Arc<rustls::ServerConfig>) -> StandIn {
        let mut stand_in = StandIn::reserve(hold).await;
        stand_in.tls = Some(tls);
        stand_in.come_up().await;
        stand_in
    }

    /// A port of its own, down (connections refused) until [`StandIn::come_up`].
    pub async fn reserve(hold: Duration) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        drop(listener);
        StandIn {
            address,
            shared: Arc::new(Shared {
                accepted_token: Mutex::new(TOKEN.to_owned()),
                forced_status: Mutex::new(None),
                hold,
                assigned: watch::channel(None).0,
                arrivals: Mutex::new(Vec::new()),
                polls: Mutex::new(Vec::new()),
                heartbeats: Mutex::new(Vec::new()),
            }),
            server: Mutex::new(None),
            tls: None,
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.address)
    }

    pub async fn come_up(&self) {
        let listener = TcpListener::bind(self.address)
            .await
            .expect("rebind the port");
        let router = Router::new()
            .route(SNAPSHOT_PATH, get(snapshot))
            .route(HEARTBEAT_PATH, post(heartbeat))
            .with_state(Arc::clone(&self.shared));
        let tls = self.tls.clone();
        let server = tokio::spawn(serve(listener, router, tls));
        *self.server.lock().expect("lock") = Some(server);
    }

    /// Stops listening and cuts every open connection (held long-polls included).
    pub async fn go_down(&self) {
        let server = self.server.lock().expect("lock").take();
        if let Some(server) = server {
            server.abort();
            let _ = server.await;
        }
    }

    /// Makes `snapshot` the assigned one and wakes held long-polls.
    pub fn publish(&self, snapshot: DataPlaneSnapshot) {
        self.shared.assigned.send_replace(Some(snapshot));
    }

    /// Publishes a valid configuration with one route; returns its checksum.
    pub fn activate(&self, version: i64, route: &str) -> String {
        let snapshot = super::snapshot_for(version, route);
        let checksum = snapshot.checksum.clone();
        self.publish(snapshot);
        checksum
    }

    pub fn accept_token(&self, token: &str) {
        *self.shared.accepted_token.lock().expect("lock") = token.to_owned();
    }

    pub fn force_status(&self, status: Option<u16>) {
        *self.shared.forced_status.lock().expect("lock") = status;
    }

    pub fn arrivals(&self) -> Vec<Option<String>> {
        self.shared.arrivals.lock().expect("lock").clone()
    }

    pub fn polls(&self) -> Vec<PollRecord> {
        self.shared.polls.lock().expect("lock").clone()
    }

    /// How many long-polls arrived knowing `checksum`.
    pub fn polls_knowing(&self, checksum: &str) -> usize {
        self.arrivals()
            .iter()
            .filter(|known| known.as_deref() == Some(checksum))
            .count()
    }

    /// How many answers carried the snapshot with `checksum`.
    pub fn times_sent(&self, checksum: &str) -> usize {
        self.polls()
            .iter()
            .filter(|poll| poll.sent.as_deref() == Some(checksum))
            .count()
    }

    pub fn heartbeats(&self) -> Vec<Heartbeat> {
        self.shared.heartbeats.lock().expect("lock").clone()
    }

    /// The newest heartbeat matching `check`.
    pub fn last_heartbeat_where(&self, check: impl Fn(&Heartbeat) -> bool) -> Option<Heartbeat> {
        self.heartbeats()
            .into_iter()
            .rev()
            .find(|heartbeat| check(heartbeat))
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(server) = self.server.lock().expect("lock").take() {
            server.abort();
        }
    }
}

async fn serve(listener: TcpListener, router: Router, tls: Option<Arc<rustls::ServerConfig>>) {
    // Owned here: aborting this task drops the set, which aborts every connection.
    let mut connections = JoinSet::new();
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let service = TowerToHyperService::new(router.clone());
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    let builder = auto::Builder::new(TokioExecutor::new());
                    match acceptor {
                        Some(acceptor) => {
                            let Ok(stream) = acceptor.accept(stream).await else { return };
                            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                        }
                        None => {
                            let _ = builder.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

fn problem(status: StatusCode, detail: &str) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        serde_json::json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("error"),
            "status": status.as_u16(),
            "detail": detail,
        })
        .to_string(),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

/// The forced answer, else 401 unless the bearer token is the accepted one.
fn refuse(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let forced = *shared.forced_status.lock().expect("lock");
    if let Some(code) = forced {
        let status = StatusCode::from_u16(code).expect("status");
        return Some(problem(status, "forced by the test"));
    }
    let expected = format!("Bearer {}", shared.accepted_token.lock().expect("lock"));
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    if presented != Some(expected.as_str()) {
        return Some(problem(
            StatusCode::UNAUTHORIZED,
            "the token is missing, unknown or revoked",
        ));
    }
    None
}

async fn snapshot(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(query): Query<SnapshotQuery>,
) -> Response {
    let record = |known: &Option<String>, status: u16, sent: Option<String>| {
        shared.polls.lock().expect("lock").push(PollRecord {
            known: known.clone(),
            status,
            sent,
        });
    };
    if let Some(response) = refuse(&shared, &headers) {
        record(&query.known, response.status().as_u16(), None);
        return response;
    }
    if query.environment != ENVIRONMENT {
        record(&query.known, 404, None);
        return problem(
            StatusCode::NOT_FOUND,
            &format!("no environment named {:?}", query.environment),
        );
    }
    shared
        .arrivals
        .lock()
        .expect("lock")
        .push(query.known.clone());
    let known = query.known.clone().filter(|known| !known.is_empty());
    let mut assigned = shared.assigned.subscribe();
    let deadline = Instant::now() + shared.hold;
    loop {
        let current = assigned.borrow_and_update().clone();
        if let Some(snapshot) = current {
            if Some(&snapshot.checksum) != known.as_ref() {
                record(&query.known, 200, Some(snapshot.checksum.clone()));
                return Json(snapshot).into_response();
            }
        }
        match tokio::time::timeout_at(deadline, assigned.changed()).await {
            Ok(Ok(())) => continue,
            _ => {
                record(&query.known, 304, None);
                return StatusCode::NOT_MODIFIED.into_response();
            }
        }
    }
}

async fn heartbeat(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(heartbeat): Json<Heartbeat>,
) -> Response {
    if let Some(response) = refuse(&shared, &headers) {
        return response;
    }
    shared.heartbeats.lock().expect("lock").push(heartbeat);
    Json(HeartbeatAck {
        received_at: "2026-04-08T10:15:30.000Z".to_owned(),
        heartbeat_interval_seconds: 5,
    })
    .into_response()
}
