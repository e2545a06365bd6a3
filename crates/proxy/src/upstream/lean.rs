//! Requests without a body on raw HTTP/1.1 keep-alive connections.
//!
//! Most API traffic is bodyless (GET, HEAD, DELETE). For it, the gateway writes the request
//! head itself, reads and parses the response head with `httparse`, and streams the body
//! straight from the socket inside the client connection's own task: no second task per
//! upstream connection, no channel between the two, no oneshot per request. That is most
//! of what the hyper client costs on top of the socket calls, which stay the minimum (one
//! write, one read for a small response).
//!
//! Requests with a body keep hyper's client ([`super::pool`]): it writes the body while
//! watching for an early response, which a sequential client cannot. Upgrades too.
//!
//! Reuse: a connection goes back to its pool only after a complete response that allows
//! it (HTTP/1.1, no `Connection: close`, known framing, nothing extra read). An idle
//! connection the endpoint closed is found at checkout without a system call in the usual
//! case (tokio's cached readiness). If the endpoint closes a reused connection before
//! answering, an idempotent request is sent again once on a new connection.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Version};
use http_body::{Body, Frame, SizeHint};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::chunked::{ChunkedDecoder, ChunkedError, Step};
use super::idle::{IdleConnection, IdleList};
use super::pool::{connect_stream, PoolError};

/// A response head larger than this is refused (502) rather than buffered.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;
/// Header fields a response head may carry.
const MAX_RESPONSE_HEADERS: usize = 128;
/// Bytes asked of the socket per read.
const READ_SIZE: usize = 16 * 1024;

/// A failed lean exchange.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LeanError {
    #[error("upstream i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("malformed response from the upstream: {0}")]
    Protocol(&'static str),
    #[error(transparent)]
    Chunked(#[from] ChunkedError),
}

#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    /// Bytes read from the socket and not yet consumed.
    buffer: BytesMut,
}

impl IdleConnection for Connection {
    fn still_usable(&self) -> bool {
        still_open(&self.stream)
    }
}

/// Raw connections to one endpoint.
#[derive(Debug)]
pub(crate) struct LeanPool {
    authority: Arc<str>,
    connect_timeout: Duration,
    /// Nothing polls an idle raw connection: the list's reaper closes the ones past their
    /// idle time (or closed by the endpoint) even when no request comes for them.
    idle: Arc<IdleList<Connection>>,
}

/// Failure of one attempt, and whether sending again elsewhere is safe.
struct Attempt {
    error: LeanError,
    /// The endpoint closed the connection before any byte of a response: it most likely
    /// dropped an idle connection just as the request went out.
    closed_before_response: bool,
}

impl LeanPool {
    pub(crate) fn new(
        authority: Arc<str>,
        connect_timeout: Duration,
        max_idle: usize,
        idle_timeout: Duration,
    ) -> LeanPool {
        LeanPool {
            authority,
            connect_timeout,
            idle: Arc::new(IdleList::new(max_idle, idle_timeout)),
        }
    }

    /// Send a request that has no body (its head encoded by [`encode_head`]); the
    /// response streams from the connection.
    pub(crate) async fn send(
        self: &Arc<Self>,
        head: Vec<u8>,
        method: &Method,
    ) -> Result<Response<LeanBody>, PoolError> {
        if let Some(connection) = self.idle.checkout() {
            match self.exchange(connection, &head, method).await {
                Ok(response) => return Ok(response),
                Err(attempt) if attempt.closed_before_response && method.is_idempotent() => {}
                Err(attempt) => return Err(PoolError::Lean(attempt.error)),
            }
        }
        // Boxed: connecting (name lookup included) is rare and its state is large.
        let stream = Box::pin(connect_stream(&self.authority, self.connect_timeout)).await?;
        let connection = Connection {
            stream,
            buffer: BytesMut::new(),
        };
        self.exchange(connection, &head, method)
            .await
            .map_err(|attempt| PoolError::Lean(attempt.error))
    }

    async fn exchange(
        self: &Arc<Self>,
        mut connection: Connection,
        head: &[u8],
        method: &Method,
    ) -> Result<Response<LeanBody>, Attempt> {
        let closed = |error: std::io::Error| Attempt {
            error: LeanError::Io(error),
            closed_before_response: true,
        };
        connection.stream.write_all(head).await.map_err(closed)?;
        loop {
            if let Some(parsed) = parse_head(&mut connection.buffer).map_err(|error| Attempt {
                error,
                closed_before_response: false,
            })? {
                // 1xx other than 101 (which needs an upgrade request) precede the answer.
                if parsed.status.is_informational() {
                    continue;
                }
                return Ok(self.respond(parsed, connection, method));
            }
            if connection.buffer.len() >= MAX_RESPONSE_HEAD {
                return Err(Attempt {
                    error: LeanError::Protocol("response head too large"),
                    closed_before_response: false,
                });
            }
            let read_before = !connection.buffer.is_empty();
            connection.buffer.reserve(READ_SIZE);
            match tokio::io::AsyncReadExt::read_buf(&mut connection.stream, &mut connection.buffer)
                .await
            {
                Ok(0) if !read_before => {
                    return Err(closed(std::io::ErrorKind::UnexpectedEof.into()))
                }
                Ok(0) => {
                    return Err(Attempt {
                        error: LeanError::Protocol("connection closed inside the response head"),
                        closed_before_response: false,
                    })
                }
                Ok(_) => {}
                Err(error) if !read_before => return Err(closed(error)),
                Err(error) => {
                    return Err(Attempt {
                        error: LeanError::Io(error),
                        closed_before_response: false,
                    })
                }
            }
        }
    }

    fn respond(
        self: &Arc<Self>,
        parsed: ParsedHead,
        connection: Connection,
        method: &Method,
    ) -> Response<LeanBody> {
        let ParsedHead {
            status,
            version,
            headers,
        } = parsed;
        let (framing, keep_alive) = framing(status, version, method, &headers);
        let mut body = LeanBody {
            connection: Some(connection),
            framing,
            reusable: keep_alive,
            pool: Arc::clone(self),
        };
        body.release_if_done();
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.version_mut() = version;
        *response.headers_mut() = headers;
        response
    }
}

/// Whether an idle connection can take a request: nothing to read (no EOF, no stray bytes).
/// tokio clears a socket's cached readiness after a short read, so an idle connection whose
/// endpoint stayed silent answers without a system call.
fn still_open(stream: &TcpStream) -> bool {
    let mut context = Context::from_waker(std::task::Waker::noop());
    match stream.poll_read_ready(&mut context) {
        Poll::Pending => true,
        Poll::Ready(Err(_)) => false,
        Poll::Ready(Ok(())) => {
            let mut probe = [0u8; 1];
            matches!(stream.try_read(&mut probe), Err(error) if error.kind() == std::io::ErrorKind::WouldBlock)
        }
    }
}

/// `METHOD target HTTP/1.1`, then every header, then the empty line. `HeaderValue` cannot
/// hold CR or LF, so nothing a client sent can split the head.
pub(crate) fn encode_head<B>(request: &Request<B>) -> Vec<u8> {
    let target = request
        .uri()
        .path_and_query()
        .map_or("/", |target| target.as_str());
    let mut size = request.method().as_str().len() + target.len() + 14;
    for (name, value) in request.headers() {
        size += name.as_str().len() + value.len() + 4;
    }
    let mut head = Vec::with_capacity(size);
    head.extend_from_slice(request.method().as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(target.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in request.headers() {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
    head
}

struct ParsedHead {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
}

/// Parse a complete response head off the front of `buffer`, or `None` when incomplete.
fn parse_head(buffer: &mut BytesMut) -> Result<Option<ParsedHead>, LeanError> {
    if buffer.is_empty() {
        return Ok(None);
    }
    let mut fields = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
    let mut response = httparse::Response::new(&mut fields);
    let length = match response.parse(buffer) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(LeanError::Protocol("too many header fields"))
        }
        Err(_) => return Err(LeanError::Protocol("unparsable response head")),
    };
    let status = response
        .code
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or(LeanError::Protocol("invalid status code"))?;
    let version = match response.version {
        Some(1) => Version::HTTP_11,
        _ => Version::HTTP_10,
    };
    // Header values become slices of the head's bytes: no copy per value.
    let base = buffer.as_ptr() as usize;
    let spans: Vec<(HeaderName, usize, usize)> = response
        .headers
        .iter()
        .map(|field| {
            let name = HeaderName::from_bytes(field.name.as_bytes())
                .map_err(|_| LeanError::Protocol("invalid header name"))?;
            let start = field.value.as_ptr() as usize - base;
            Ok((name, start, start + field.value.len()))
        })
        .collect::<Result<_, LeanError>>()?;
    let head = buffer.split_to(length).freeze();
    let mut headers = HeaderMap::with_capacity(spans.len());
    for (name, start, end) in spans {
        let value = HeaderValue::from_maybe_shared(head.slice(start..end))
            .map_err(|_| LeanError::Protocol("invalid header value"))?;
        headers.append(name, value);
    }
    Ok(Some(ParsedHead {
        status,
        version,
        headers,
    }))
}

#[derive(Debug)]
enum Framing {
    /// Everything has been read.
    Done,
    Length(u64),
    Chunked(ChunkedDecoder),
    /// No length given: the body is everything until the endpoint closes.
    UntilClose,
}

/// How the body is delimited (RFC 9112 §6.3) and whether the connection may be reused.
fn framing(
    status: StatusCode,
    version: Version,
    method: &Method,
    headers: &HeaderMap,
) -> (Framing, bool) {
    let keep_alive = version == Version::HTTP_11
        && !headers
            .get_all(CONNECTION)
            .iter()
            .any(|value| has_token(value.as_bytes(), b"close"));
    if method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return (Framing::Done, keep_alive);
    }
    if let Some(last) = headers.get_all(TRANSFER_ENCODING).iter().next_back() {
        let chunked = last
            .as_bytes()
            .rsplit(|&byte| byte == b',')
            .next()
            .is_some_and(|coding| coding.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        // With a Content-Length beside it, the message was framed ambiguously: read it as
        // the RFC says, but never put the connection back.
        let unambiguous = !headers.contains_key(CONTENT_LENGTH);
        return if chunked {
            (
                Framing::Chunked(ChunkedDecoder::default()),
                keep_alive && unambiguous,
            )
        } else {
            (Framing::UntilClose, false)
        };
    }
    let mut lengths = headers.get_all(CONTENT_LENGTH).iter().map(|value| {
        std::str::from_utf8(value.as_bytes())
            .ok()
            .and_then(|text| text.trim().parse::<u64>().ok())
    });
    match lengths.next() {
        None => (Framing::UntilClose, false),
        Some(Some(first)) if lengths.all(|other| other == Some(first)) => {
            (Framing::Length(first), keep_alive)
        }
        // Unparsable or conflicting lengths: take what comes, never reuse.
        Some(_) => (Framing::UntilClose, false),
    }
}

fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|&byte| byte == b',')
        .any(|part| part.trim_ascii().eq_ignore_ascii_case(token))
}

/// A response body read straight from the upstream connection, which returns to its pool
/// when the body is complete.
#[derive(Debug)]
pub(crate) struct LeanBody {
    connection: Option<Connection>,
    framing: Framing,
    reusable: bool,
    pool: Arc<LeanPool>,
}

impl LeanBody {
    /// Once the last byte is out, hand the connection back (when it may be reused) so the
    /// next request finds it even before this body is dropped.
    fn release_if_done(&mut self) {
        let done = matches!(self.framing, Framing::Done | Framing::Length(0));
        if !done {
            return;
        }
        self.framing = Framing::Done;
        if let Some(connection) = self.connection.take() {
            if self.reusable && connection.buffer.is_empty() {
                self.pool.idle.put(connection);
            }
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<Result<usize, LeanError>> {
        let Some(connection) = self.connection.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        connection.buffer.reserve(READ_SIZE);
        let read = tokio_util::io::poll_read_buf(
            Pin::new(&mut connection.stream),
            cx,
            &mut connection.buffer,
        );
        read.map_err(LeanError::Io)
    }
}

impl Drop for LeanBody {
    /// A body dropped unread still leaves a clean connection when all of it had already
    /// arrived (a short body comes in the same read as the head): keep that connection.
    fn drop(&mut self) {
        let Some(connection) = self.connection.as_mut() else {
            return;
        };
        let complete = match &mut self.framing {
            Framing::Length(left) => connection.buffer.len() as u64 == *left,
            Framing::Chunked(decoder) => loop {
                match decoder.step(&mut connection.buffer) {
                    Ok(Step::Data(_)) => {}
                    Ok(Step::End(_)) => break connection.buffer.is_empty(),
                    Ok(Step::NeedMore) | Err(_) => break false,
                }
            },
            Framing::Done | Framing::UntilClose => false,
        };
        if complete {
            connection.buffer.clear();
            self.framing = Framing::Length(0);
            self.release_if_done();
        }
    }
}

impl Body for LeanBody {
    type Data = Bytes;
    type Error = LeanError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, LeanError>>> {
        let this = self.get_mut();
        loop {
            let buffered = this
                .connection
                .as_ref()
                .map_or(0, |connection| connection.buffer.len());
            match &mut this.framing {
                Framing::Done => return Poll::Ready(None),
                Framing::Length(left) if buffered > 0 => {
                    let take = usize::try_from(*left).map_or(buffered, |left| left.min(buffered));
                    *left -= take as u64;
                    let data = match this.connection.as_mut() {
                        Some(connection) => connection.buffer.split_to(take).freeze(),
                        None => return Poll::Ready(None),
                    };
                    this.release_if_done();
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Framing::UntilClose if buffered > 0 => {
                    let data = match this.connection.as_mut() {
                        Some(connection) => connection.buffer.split().freeze(),
                        None => return Poll::Ready(None),
                    };
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Framing::Chunked(decoder) if buffered > 0 => {
                    let Some(connection) = this.connection.as_mut() else {
                        return Poll::Ready(None);
                    };
                    match decoder.step(&mut connection.buffer) {
                        Err(error) => {
                            this.connection = None;
                            return Poll::Ready(Some(Err(error.into())));
                        }
                        Ok(Step::Data(data)) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                        Ok(Step::End(trailers)) => {
                            this.framing = Framing::Length(0);
                            this.release_if_done();
                            if trailers.is_empty() {
                                return Poll::Ready(None);
                            }
                            return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                        }
                        Ok(Step::NeedMore) => {}
                    }
                }
                _ => {}
            }
            // The buffer has nothing usable: read.
            match this.poll_read(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(error)) => {
                    this.connection = None;
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(Ok(0)) => {
                    this.connection = None;
                    return match this.framing {
                        Framing::UntilClose => {
                            this.framing = Framing::Done;
                            Poll::Ready(None)
                        }
                        _ => Poll::Ready(Some(Err(LeanError::Protocol(
                            "connection closed before the body ended",
                        )))),
                    };
                }
                Poll::Ready(Ok(_)) => {}
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.framing, Framing::Done | Framing::Length(0))
    }

    fn size_hint(&self) -> SizeHint {
        match &self.framing {
            Framing::Done => SizeHint::with_exact(0),
            Framing::Length(left) => SizeHint::with_exact(*left),
            Framing::Chunked(_) | Framing::UntilClose => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    HeaderName::from_bytes(name.as_bytes()).expect("test name"),
                    HeaderValue::from_str(value).expect("test value"),
                )
            })
            .collect()
    }

    #[test]
    fn encodes_the_request_head() {
        let request = Request::get("/a/b?c=d")
            .header("host", "example.test")
            .header("x-two", "1")
            .header("x-two", "2")
            .body(())
            .expect("test request");
        assert_eq!(
            String::from_utf8(encode_head(&request)).expect("ascii"),
            "GET /a/b?c=d HTTP/1.1\r\nhost: example.test\r\nx-two: 1\r\nx-two: 2\r\n\r\n"
        );
    }

    #[test]
    fn parses_a_head_in_pieces_and_leaves_the_body() {
        let wire = b"HTTP/1.1 201 Created\r\nContent-Length: 3\r\nX-A: b\r\n\r\nabc";
        for split in 1..wire.len() {
            let mut buffer = BytesMut::from(&wire[..split]);
            let parsed = match parse_head(&mut buffer).expect("valid prefix") {
                Some(parsed) => {
                    buffer.extend_from_slice(&wire[split..]);
                    parsed
                }
                None => {
                    buffer.extend_from_slice(&wire[split..]);
                    parse_head(&mut buffer).expect("valid").expect("complete")
                }
            };
            assert_eq!(parsed.status, StatusCode::CREATED);
            assert_eq!(
                parsed.headers.get("x-a").map(HeaderValue::as_bytes),
                Some(&b"b"[..])
            );
            assert_eq!(&buffer[..], b"abc");
        }
    }

    #[test]
    fn refuses_a_malformed_head() {
        let mut buffer = BytesMut::from(&b"HTTP/1.1 abc OK\r\n\r\n"[..]);
        assert!(parse_head(&mut buffer).is_err());
    }

    #[test]
    fn frames_bodies_as_rfc_9112_says() {
        let get = Method::GET;
        let ok = StatusCode::OK;
        let v11 = Version::HTTP_11;
        type Fields<'a> = &'a [(&'a str, &'a str)];
        let cases: [(Fields<'_>, &str, bool); 7] = [
            (&[("content-length", "10")], "Length(10)", true),
            (
                &[("content-length", "10"), ("connection", "close")],
                "Length(10)",
                false,
            ),
            (&[("transfer-encoding", "chunked")], "Chunked", true),
            (
                &[
                    ("transfer-encoding", "gzip, chunked"),
                    ("content-length", "3"),
                ],
                "Chunked",
                false,
            ),
            (&[("transfer-encoding", "gzip")], "UntilClose", false),
            (&[], "UntilClose", false),
            (
                &[("content-length", "3"), ("content-length", "4")],
                "UntilClose",
                false,
            ),
        ];
        for (fields, expected, reusable) in cases {
            let (found, keep) = framing(ok, v11, &get, &headers(fields));
            assert!(
                format!("{found:?}").starts_with(expected),
                "{fields:?}: {found:?}"
            );
            assert_eq!(keep, reusable, "{fields:?}");
        }
        let (found, keep) = framing(
            ok,
            v11,
            &Method::HEAD,
            &headers(&[("content-length", "10")]),
        );
        assert!(matches!(found, Framing::Done) && keep);
        let (_, keep) = framing(
            ok,
            Version::HTTP_10,
            &get,
            &headers(&[("content-length", "1")]),
        );
        assert!(!keep, "HTTP/1.0 connections are not reused");
    }
}
