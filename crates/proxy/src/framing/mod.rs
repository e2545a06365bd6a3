//! The ingress framing guard: HTTP/1 message framing is checked before hyper sees a byte.
//!
//! hyper is lenient where a gateway must not be: it lets `Transfer-Encoding` win over a
//! conflicting `Content-Length` and forwards the request, it only finds a bad chunk size while
//! the body streams (after the head went upstream), and it answers malformed or oversized
//! heads itself with a bare 400/431 that the pipeline never sees. So every plain HTTP/1
//! connection (and every TLS one whose ALPN is not `h2`) reads through [`io::Guard`]:
//!
//! * the pure [`Tracker`] (no IO; `pub` so the fuzz target can drive it) finds each request
//!   head, validates it with `httparse` (the parser hyper uses, with hyper's settings), works
//!   out the body framing exactly as hyper will for valid input, and follows the body
//!   (`Content-Length` count, strict chunked state machine) to where the next head starts;
//! * valid bytes pass to hyper unchanged and in order;
//! * a refused message never does: the guard passes instead a well-formed synthetic request
//!   carrying a per-refusal random nonce, stores the reason in the connection's [`Shared`]
//!   state under that nonce, and passes nothing after it. `pipeline::handle` recognises the
//!   synthetic request ([`answer_refusal`]) and answers with the normal error response
//!   (problem+json, `x-request-id`, access log, metrics); hyper closes the connection after
//!   it because the synthetic request says `Connection: close`.
//!
//! A bad chunk that arrives after its head already went to hyper can no longer be refused
//! that way: the guard passes the valid bytes before it and then fails the read, which hyper
//! reports as a body error (the upstream request is aborted; 400 if no response started).
//!
//! The guard goes transparent (passes everything unchecked) after the HTTP/2 prior-knowledge
//! preface and after a protocol switch (`101` to an `Upgrade` request, `2xx` to `CONNECT`).
//! While a request that asks for a switch is being answered, bytes behind it are held until
//! the pipeline reports whether the switch happened ([`UpgradeWatch`]): a refused or ignored
//! `Upgrade` header does not switch the guard off for the rest of the connection.

mod chunked;
mod head;
pub(crate) mod io;
mod tracker;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Waker;
use std::time::Instant;

use http::request::Parts;
use http::{HeaderName, HeaderValue, Method, Response, StatusCode, Uri, Version};
use portcullis_error::{GatewayError, Phase};
use portcullis_telemetry::request_id::request_id_from;

pub use chunked::ChunkError;
pub use tracker::{HeadFields, Limits, Reason, Refusal, Step, Then, Tracker};

use crate::body::ResponseBody;
use crate::respond::{error_response, Completion};
use crate::server::ConnectionContext;

/// Method of the synthetic request that stands for a refused message (an extension method
/// short enough for `http::Method` to keep inline).
pub(crate) const REFUSED_METHOD: &str = "GUARD-REFUSED";
/// Header of the synthetic request carrying the refusal's nonce (32 lower-case hex digits).
static NONCE_HEADER: HeaderName = HeaderName::from_static("x-portcullis-guard-nonce");

const SYNTHETIC_HEAD: &[u8] = b"GUARD-REFUSED / HTTP/1.1\r\nhost: refused.invalid\r\nconnection: close\r\nx-portcullis-guard-nonce: ";
const NONCE_DIGITS: usize = 32;
const SYNTHETIC_LEN: usize = SYNTHETIC_HEAD.len() + NONCE_DIGITS + 4;

/// The synthetic request the guard passes to hyper in place of a refused message.
pub(crate) fn synthetic_request(nonce: u128) -> [u8; SYNTHETIC_LEN] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut request = [0u8; SYNTHETIC_LEN];
    request[..SYNTHETIC_HEAD.len()].copy_from_slice(SYNTHETIC_HEAD);
    let digits = &mut request[SYNTHETIC_HEAD.len()..SYNTHETIC_HEAD.len() + NONCE_DIGITS];
    for (index, digit) in digits.iter_mut().enumerate() {
        let shift = 4 * (NONCE_DIGITS - 1 - index);
        *digit = DIGITS[((nonce >> shift) & 0xf) as usize];
    }
    request[SYNTHETIC_LEN - 4..].copy_from_slice(b"\r\n\r\n");
    request
}

fn parse_nonce(value: &HeaderValue) -> Option<u128> {
    let text = value.to_str().ok()?;
    if text.len() != NONCE_DIGITS {
        return None;
    }
    u128::from_str_radix(text, 16).ok()
}

/// A refused message, as the pipeline needs it to answer and log.
#[derive(Debug)]
pub(crate) struct Refused {
    nonce: u128,
    reason: Reason,
    method: Option<Method>,
    target: Option<Uri>,
    request_id: Option<HeaderValue>,
}

impl Refused {
    /// `message` starts where the refused message starts (the ranges of `refusal` point
    /// into it). Allocates: refusals are rare.
    pub(crate) fn new(nonce: u128, refusal: &Refusal, message: &[u8]) -> Refused {
        let fields = refusal.fields.as_ref();
        let slice = |range: &std::ops::Range<usize>| message.get(range.clone());
        Refused {
            nonce,
            reason: refusal.reason,
            method: fields
                .and_then(|fields| slice(&fields.method))
                .and_then(|bytes| Method::from_bytes(bytes).ok()),
            target: fields
                .and_then(|fields| slice(&fields.target))
                .and_then(|bytes| Uri::try_from(bytes).ok()),
            request_id: fields
                .and_then(|fields| fields.request_id.as_ref())
                .and_then(slice)
                .and_then(|bytes| HeaderValue::from_bytes(bytes).ok()),
        }
    }
}

const UPGRADE_IDLE: u8 = 0;
const UPGRADE_AWAITING: u8 = 1;
const UPGRADE_SWITCHED: u8 = 2;
const UPGRADE_DECLINED: u8 = 3;

/// What the guard and the pipeline of one connection tell each other.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// At most one per connection: nothing after a refused message is ever read.
    refused: Mutex<Option<Box<Refused>>>,
    /// The outcome of the request that asks for a protocol switch (`UPGRADE_*`).
    upgrade: AtomicU8,
    /// The guard's task, waiting for that outcome.
    upgrade_waker: Mutex<Option<Waker>>,
}

impl Shared {
    pub(crate) fn set_refused(&self, refused: Refused) {
        *self.refused.lock().unwrap_or_else(PoisonError::into_inner) = Some(Box::new(refused));
    }

    /// The refusal the synthetic request `parts` stands for; `None` for every other
    /// request, including a client's imitation of the synthetic one (it cannot know the
    /// nonce, which is drawn after the client's earlier bytes were read).
    fn take_refused(&self, parts: &Parts) -> Option<Box<Refused>> {
        if parts.method.as_str() != REFUSED_METHOD {
            return None;
        }
        let nonce = parse_nonce(parts.headers.get(&NONCE_HEADER)?)?;
        let mut slot = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.as_ref().is_some_and(|refused| refused.nonce == nonce) {
            slot.take()
        } else {
            None
        }
    }

    /// The guard passed the head of a request that asks for a protocol switch.
    pub(crate) fn await_upgrade(&self) {
        let _ = self.upgrade.compare_exchange(
            UPGRADE_IDLE,
            UPGRADE_AWAITING,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// `Some(true)`: switched; `Some(false)`: not switched (and the slot is free again);
    /// `None`: not known yet, `waker` is woken when it is.
    pub(crate) fn upgrade_outcome(&self, waker: &Waker) -> Option<bool> {
        if let Some(outcome) = self.settled_upgrade() {
            return Some(outcome);
        }
        {
            let mut slot = self
                .upgrade_waker
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if !slot.as_ref().is_some_and(|known| known.will_wake(waker)) {
                *slot = Some(waker.clone());
            }
        }
        // Checked again after registering, so an outcome reported in between is not missed.
        self.settled_upgrade()
    }

    fn settled_upgrade(&self) -> Option<bool> {
        match self.upgrade.load(Ordering::Acquire) {
            UPGRADE_SWITCHED => Some(true),
            UPGRADE_DECLINED => {
                self.upgrade.store(UPGRADE_IDLE, Ordering::Release);
                Some(false)
            }
            _ => None,
        }
    }

    fn resolve_upgrade(&self, switched: bool) {
        let outcome = if switched {
            UPGRADE_SWITCHED
        } else {
            UPGRADE_DECLINED
        };
        if self
            .upgrade
            .compare_exchange(
                UPGRADE_AWAITING,
                outcome,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
        {
            let waker = self
                .upgrade_waker
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

/// hyper's rule for a request that may switch protocols (it hands the connection over on a
/// `101`, or on a `2xx` to `CONNECT`); the tracker uses the same rule.
fn wants_upgrade(parts: &Parts) -> bool {
    parts.method == Method::CONNECT
        || (parts.version == Version::HTTP_11 && parts.headers.contains_key(http::header::UPGRADE))
}

/// Reports to the guard whether the request it holds the connection for switched
/// protocols. Dropping it unfinished (an error answer, the client went away) says no.
#[derive(Debug)]
pub(crate) struct UpgradeWatch {
    connection: Arc<ConnectionContext>,
    connect: bool,
    finished: bool,
}

impl UpgradeWatch {
    /// A watch when `parts` is the request the guard is waiting on. Only one such request
    /// can be outstanding: the guard holds every byte behind it, so the first request that
    /// wants an upgrade while the guard waits is that one. Costs one atomic load otherwise.
    pub(crate) fn start(connection: &Arc<ConnectionContext>, parts: &Parts) -> Option<Self> {
        if connection.framing.upgrade.load(Ordering::Acquire) != UPGRADE_AWAITING
            || !wants_upgrade(parts)
        {
            return None;
        }
        Some(UpgradeWatch {
            connection: Arc::clone(connection),
            connect: parts.method == Method::CONNECT,
            finished: false,
        })
    }

    /// The response is about to be sent with `status`.
    pub(crate) fn finish(mut self, status: StatusCode) {
        let switched =
            status == StatusCode::SWITCHING_PROTOCOLS || (self.connect && status.is_success());
        self.connection.framing.resolve_upgrade(switched);
        self.finished = true;
    }
}

impl Drop for UpgradeWatch {
    fn drop(&mut self) {
        if !self.finished {
            self.connection.framing.resolve_upgrade(false);
        }
    }
}

/// The answer to the guard's synthetic request, when `parts` is one: the normal error
/// response for the refused message, logged and counted like every rejection.
pub(crate) fn answer_refusal(
    connection: &Arc<ConnectionContext>,
    parts: &Parts,
    started: Instant,
    config_version: Option<u64>,
) -> Option<Response<ResponseBody>> {
    let refused = connection.framing.take_refused(parts)?;
    let request_id = request_id_from(refused.request_id.as_ref());
    // Unparsed method and target are logged as `-` and `*`.
    let method = refused
        .method
        .clone()
        .or_else(|| Method::from_bytes(b"-").ok())
        .unwrap_or(Method::GET);
    let target = refused
        .target
        .clone()
        .unwrap_or_else(|| Uri::from_static("*"));
    let mut completion = Completion::start(
        Arc::clone(connection),
        started,
        request_id,
        method,
        target,
        connection.peer,
    );
    completion.config_version = config_version.unwrap_or(0);
    let reason = refused.reason;
    let error =
        GatewayError::client(reason.error_kind(), Phase::Accept).with_detail(reason.detail());
    tracing::debug!(peer = %connection.peer, %error, "refused by the framing guard");
    Some(error_response(&error, None, completion))
}
