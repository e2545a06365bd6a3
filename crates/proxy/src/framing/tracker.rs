//! The pure framing tracker: fed the bytes of one connection in order, it says which may pass
//! to hyper, where a message is refused, and where the connection stops being HTTP/1.

use std::ops::Range;

use portcullis_error::ErrorKind;

use super::chunked::{ChunkError, Chunked, Progress};
use super::head::{self, Framing, Parsed};

/// The HTTP/2 connection preface (prior knowledge).
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The listener's limits on a request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes of a head (request line, headers, leading and final empty lines): 431
    /// beyond.
    pub max_header_bytes: usize,
    /// Most header fields (431 beyond); also the most trailer fields of a chunked body.
    pub max_headers: usize,
}

/// Why a message is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// httparse refused the request line or a header line (obs-fold, NUL, spaces, …).
    Malformed(httparse::Error),
    /// No end of the head within `max_header_bytes`, or a header name of 64 KiB.
    HeadTooLarge,
    /// More than `max_headers` header fields.
    TooManyHeaders,
    /// A target longer than hyper accepts.
    TargetTooLong,
    /// A target `http::Uri` refuses.
    InvalidTarget,
    /// Both `Content-Length` and `Transfer-Encoding`, in any order.
    ContentLengthWithTransferEncoding,
    /// `Transfer-Encoding` in an HTTP/1.0 request.
    TransferEncodingInHttp10,
    /// `Transfer-Encoding` other than one line of exactly `chunked`.
    UnsupportedTransferEncoding,
    /// A `Content-Length` that is not a plain decimal number.
    InvalidContentLength,
    /// `Content-Length` lines with different values.
    ConflictingContentLength,
    /// A `Content-Length` larger than hyper accepts.
    ContentLengthTooLarge,
    /// The chunked body, already received with the head, is malformed.
    InvalidChunk(ChunkError),
    /// The connection's first head did not arrive within the header read timeout (decided
    /// by the IO wrapper; the tracker knows no time).
    HeadTimeout,
}

impl Reason {
    /// The row of the one error table this refusal answers with.
    pub fn error_kind(self) -> ErrorKind {
        match self {
            Reason::HeadTooLarge | Reason::TooManyHeaders | Reason::TargetTooLong => {
                ErrorKind::HeadersTooLarge
            }
            Reason::InvalidChunk(error) => error.error_kind(),
            Reason::HeadTimeout => ErrorKind::RequestTimeout,
            _ => ErrorKind::BadRequest,
        }
    }

    /// Public detail for the problem body: fixed text, nothing from the request.
    pub fn detail(self) -> &'static str {
        match self {
            Reason::Malformed(httparse::Error::HeaderName) => {
                "a header line is malformed (invalid name, space before the colon or obs-fold)"
            }
            Reason::Malformed(httparse::Error::HeaderValue) => {
                "a header value holds an invalid byte (NUL or a control character)"
            }
            Reason::Malformed(httparse::Error::NewLine) => "a line ending is malformed",
            Reason::Malformed(httparse::Error::Version) => "the HTTP version is not supported",
            Reason::Malformed(_) => "the request line is malformed",
            Reason::HeadTooLarge => "the request head is larger than the listener allows",
            Reason::TooManyHeaders => "the request has more header fields than the listener allows",
            Reason::TargetTooLong => "the request target is too long",
            Reason::InvalidTarget => "the request target is malformed",
            Reason::ContentLengthWithTransferEncoding => {
                "Content-Length and Transfer-Encoding must not be sent together"
            }
            Reason::TransferEncodingInHttp10 => "HTTP/1.0 requests cannot use Transfer-Encoding",
            Reason::UnsupportedTransferEncoding => {
                "the only accepted Transfer-Encoding is a single chunked"
            }
            Reason::InvalidContentLength => "the Content-Length is not a valid number",
            Reason::ConflictingContentLength => "Content-Length values differ",
            Reason::ContentLengthTooLarge => "the Content-Length is too large",
            Reason::InvalidChunk(error) => error.detail(),
            Reason::HeadTimeout => "the request head did not arrive in time",
        }
    }
}

/// Where some head fields sit, relative to the start of the refused message (for the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeadFields {
    pub method: Range<usize>,
    pub target: Range<usize>,
    /// The first `x-request-id` value.
    pub request_id: Option<Range<usize>>,
}

/// A refused message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Reason,
    /// Known when the head itself parsed.
    pub fields: Option<HeadFields>,
}

/// The answer to one [`Tracker::feed`]: `input[..pass]` may go to hyper, then [`Then`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub pass: usize,
    pub then: Then,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    /// Keep `input[pass..]` (part of a head, possibly empty) and feed it again, extended,
    /// once more bytes arrived.
    NeedMore,
    /// `input[pass..]` starts a refused message: none of it, nor anything after it, may
    /// pass. The tracker is finished.
    Refuse(Refusal),
    /// The chunked body whose head already passed is malformed at `input[pass]`. The
    /// tracker is finished.
    Broken(ChunkError),
    /// A message that asks for a protocol switch ended at `pass`: hold `input[pass..]` until
    /// [`Tracker::upgrade_resolved`] says what happened.
    Hold,
    /// `input[pass..]` and everything after it passes unchecked (HTTP/2 preface, or
    /// protocols switched).
    Transparent,
}

#[derive(Debug, Clone)]
enum State {
    /// Connection start: HTTP/2 prior knowledge or HTTP/1.
    Preface,
    /// Between messages, or inside a head that has not fully arrived.
    Head,
    /// A `Content-Length` body with this many bytes left.
    Length(u64),
    Chunked(Chunked),
    /// After a message that asks for a protocol switch.
    AwaitUpgrade,
    Transparent,
    Finished(Then),
}

/// See the module documentation. Allocation-free except for heads with more than 128 header
/// fields when `max_headers` allows that many.
#[derive(Debug, Clone)]
pub struct Tracker {
    limits: Limits,
    state: State,
    /// Bytes of a partial head already looked at: a slow client's head is parsed again only
    /// once its end has arrived (hyper does the same).
    head_seen: usize,
    /// The current message asks for a protocol switch.
    upgrade: bool,
}

/// hyper's `is_complete_fast`: whether an end of head appeared in `bytes[prev_len - 3..]`.
fn head_end_after(bytes: &[u8], prev_len: usize) -> bool {
    let tail = &bytes[prev_len.saturating_sub(3).min(bytes.len())..];
    tail.windows(2).enumerate().any(|(index, pair)| match pair {
        [b'\n', b'\n'] => true,
        [b'\n', b'\r'] => tail.get(index + 2) == Some(&b'\n'),
        _ => false,
    })
}

impl Tracker {
    pub fn new(limits: Limits) -> Tracker {
        Tracker {
            limits,
            state: State::Preface,
            head_seen: 0,
            upgrade: false,
        }
    }

    /// Judge `input`: the bytes received after those already passed (see [`Then::NeedMore`]
    /// for what must be fed again).
    pub fn feed(&mut self, input: &[u8]) -> Step {
        let mut at = 0;
        loop {
            let rest = &input[at..];
            match &mut self.state {
                State::Preface => {
                    let common = rest.len().min(PREFACE.len());
                    if rest[..common] != PREFACE[..common] {
                        self.state = State::Head;
                    } else if common < PREFACE.len() {
                        return self.step(at, Then::NeedMore);
                    } else {
                        self.state = State::Transparent;
                    }
                }
                State::Head => match self.head(rest) {
                    Ok(Some(consumed)) => at += consumed,
                    Ok(None) => return self.step(at, Then::NeedMore),
                    Err(refusal) => return self.finish(at, Then::Refuse(refusal)),
                },
                State::Length(remaining) => {
                    let take = (*remaining).min(rest.len() as u64);
                    *remaining -= take;
                    at += take as usize;
                    if *remaining > 0 {
                        return self.step(at, Then::NeedMore);
                    }
                    self.end_of_message();
                }
                State::Chunked(chunked) => match chunked.advance(rest) {
                    Progress::More => return self.step(input.len(), Then::NeedMore),
                    Progress::Ended(consumed) => {
                        at += consumed;
                        self.end_of_message();
                    }
                    Progress::Failed(offset, error) => {
                        return self.finish(at + offset, Then::Broken(error))
                    }
                },
                State::AwaitUpgrade => return self.step(at, Then::Hold),
                State::Transparent => return self.step(at, Then::Transparent),
                State::Finished(then) => {
                    let then = then.clone();
                    return self.step(at, then);
                }
            }
        }
    }

    /// The connection's input ended with `input` not yet passed: a refusal when it holds a
    /// head that is already malformed (hyper would have answered it), else nothing.
    pub fn finish_input(&mut self, input: &[u8]) -> Option<Refusal> {
        if !matches!(self.state, State::Head) || input.is_empty() {
            return None;
        }
        match head::parse(input, &self.limits) {
            Parsed::Refused(refusal) => {
                self.state = State::Finished(Then::Refuse(refusal.clone()));
                Some(refusal)
            }
            Parsed::Partial | Parsed::Complete(_) => None,
        }
    }

    /// Whether a request that asks for a protocol switch has passed (its head, maybe not yet
    /// its body) and its outcome is not known.
    pub fn upgrade_pending(&self) -> bool {
        self.upgrade
    }

    /// The outcome of the protocol switch the tracker is holding for.
    pub fn upgrade_resolved(&mut self, switched: bool) {
        if !matches!(self.state, State::AwaitUpgrade) {
            return;
        }
        self.upgrade = false;
        self.state = if switched {
            State::Transparent
        } else {
            State::Head
        };
    }

    fn step(&self, pass: usize, then: Then) -> Step {
        Step { pass, then }
    }

    fn finish(&mut self, pass: usize, then: Then) -> Step {
        self.state = State::Finished(then.clone());
        Step { pass, then }
    }

    fn end_of_message(&mut self) {
        self.state = if self.upgrade {
            State::AwaitUpgrade
        } else {
            State::Head
        };
    }

    /// A head at the start of `rest`: `Ok(Some(n))` when it and the body bytes already
    /// here (`n` in all) are valid, `Ok(None)` when it has not fully arrived.
    fn head(&mut self, rest: &[u8]) -> Result<Option<usize>, Refusal> {
        if rest.is_empty() {
            self.head_seen = 0;
            return Ok(None);
        }
        let too_large = Refusal {
            reason: Reason::HeadTooLarge,
            fields: None,
        };
        // Still no end: skip the parse until the end arrives or the limit is reached (then
        // the parse below tells a malformed head from one that is only too large).
        if self.head_seen > 0
            && rest.len() < self.limits.max_header_bytes
            && !head_end_after(rest, self.head_seen)
        {
            self.head_seen = rest.len();
            return Ok(None);
        }
        // Only the first `max_header_bytes` can hold a head. Parsing no further keeps the
        // verdict the same however the bytes arrive: a malformed byte past the limit is never
        // reached, whole or byte by byte, and the head is too large.
        let window = &rest[..rest.len().min(self.limits.max_header_bytes)];
        let head = match head::parse(window, &self.limits) {
            Parsed::Partial => {
                if window.len() >= self.limits.max_header_bytes {
                    return Err(too_large);
                }
                self.head_seen = rest.len();
                return Ok(None);
            }
            Parsed::Refused(refusal) => return Err(refusal),
            Parsed::Complete(head) => head,
        };
        self.head_seen = 0;
        self.upgrade = head.wants_upgrade;
        match head.framing {
            Framing::Empty => {
                self.end_of_message();
                Ok(Some(head.len))
            }
            Framing::Length(length) => {
                self.state = State::Length(length);
                Ok(Some(head.len))
            }
            Framing::Chunked => {
                // The body bytes that came with the head are checked before the head
                // passes: a bad chunk among them refuses the whole message.
                let mut chunked = Chunked::new(self.limits.max_headers);
                match chunked.advance(&rest[head.len..]) {
                    // The head waits for its first chunk-size line, so a bad size sent
                    // just after the head is refused too, not found upstream-side. Not
                    // with `Expect: 100-continue`: that client waits for us first.
                    Progress::More if !chunked.first_size_read() && !head.expects_continue => {
                        // Parsed again with the next bytes (`head_seen` skips only heads
                        // whose end has not arrived).
                        self.head_seen = 0;
                        Ok(None)
                    }
                    Progress::More => {
                        self.state = State::Chunked(chunked);
                        Ok(Some(rest.len()))
                    }
                    Progress::Ended(consumed) => {
                        self.end_of_message();
                        Ok(Some(head.len + consumed))
                    }
                    Progress::Failed(_, error) => Err(Refusal {
                        reason: Reason::InvalidChunk(error),
                        fields: Some(head.fields),
                    }),
                }
            }
        }
    }
}
