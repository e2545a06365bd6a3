//! Body wrappers: the request body (size limit while streaming, bytes counted) and the
//! response body (bytes counted; the request is logged when the body is done).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use portcullis_error::{ErrorKind, GatewayError, Phase};

use crate::body_timeout::ReadTimeout;
use crate::respond::Completion;
use crate::upstream::{BoxError, UpstreamBody};
use crate::write_stall::FrameOut;

/// Progress of one request body, shared between the body (owned by the upstream client)
/// and the pipeline (which logs it and turns an exceeded limit into 413).
#[derive(Debug, Default)]
pub(crate) struct BodyProgress {
    bytes: AtomicU64,
    exceeded: AtomicBool,
    /// The client's body broke (bad chunk, reset) while streaming.
    client_failed: AtomicBool,
    /// The client sent no body bytes for `bodyReadTimeoutMs`.
    timed_out: AtomicBool,
}

impl BodyProgress {
    /// A body read whole before forwarding (signed requests): `bytes` already in.
    pub(crate) fn buffered(bytes: u64) -> BodyProgress {
        let progress = BodyProgress::default();
        progress.bytes.store(bytes, Ordering::Relaxed);
        progress
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    pub(crate) fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::Relaxed)
    }

    pub(crate) fn client_failed(&self) -> bool {
        self.client_failed.load(Ordering::Relaxed)
    }

    pub(crate) fn timed_out(&self) -> bool {
        self.timed_out.load(Ordering::Relaxed)
    }
}

pin_project_lite::pin_project! {
    /// The client's body on its way upstream: counted, and cut off with an error (which
    /// aborts the upstream request) once it passes `max_body_bytes`. Its errors are
    /// [`GatewayError`] verdicts, which the upstream layer passes back as they are. A client
    /// that sends nothing for `bodyReadTimeoutMs` gets 408 the same way.
    pub(crate) struct RequestBody {
        #[pin]
        inner: ReadTimeout<Incoming>,
        limit: Option<u64>,
        seen: u64,
        progress: Arc<BodyProgress>,
    }
}

impl RequestBody {
    pub(crate) fn new(
        inner: ReadTimeout<Incoming>,
        limit: Option<u64>,
        progress: Arc<BodyProgress>,
    ) -> RequestBody {
        RequestBody {
            inner,
            limit,
            seen: 0,
            progress,
        }
    }
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    *this.seen += data.len() as u64;
                    this.progress.bytes.store(*this.seen, Ordering::Relaxed);
                    if let Some(limit) = *this.limit {
                        if *this.seen > limit {
                            this.progress.exceeded.store(true, Ordering::Relaxed);
                            let verdict =
                                GatewayError::client(ErrorKind::PayloadTooLarge, Phase::Shape);
                            return Poll::Ready(Some(Err(Box::new(verdict))));
                        }
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) if ReadTimeout::<Incoming>::is_timeout(&error) => {
                tracing::debug!("request body read timed out");
                this.progress.timed_out.store(true, Ordering::Relaxed);
                let verdict = GatewayError::client(ErrorKind::RequestTimeout, Phase::Forward)
                    .with_detail("no request body bytes arrived within bodyReadTimeoutMs");
                Poll::Ready(Some(Err(Box::new(verdict))))
            }
            Poll::Ready(Some(Err(error))) => {
                tracing::debug!(%error, "request body failed while streaming");
                this.progress.client_failed.store(true, Ordering::Relaxed);
                let verdict = GatewayError::client(ErrorKind::BadRequest, Phase::Forward)
                    .with_detail("the request body is malformed or was cut off");
                Poll::Ready(Some(Err(Box::new(verdict))))
            }
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

pin_project_lite::pin_project! {
    #[project = ContentProjection]
    enum Content {
        Upstream { #[pin] body: UpstreamBody },
        Full { data: Option<Bytes> },
    }
}

pin_project_lite::pin_project! {
    /// What the gateway sends the client: the upstream's body or a gateway-made one.
    /// Dropping it (after the last frame, or when the client goes away) completes the
    /// request: metrics and one access-log record.
    pub struct ResponseBody {
        #[pin]
        content: Content,
        completion: Completion,
        // Upstream bodies only: a gateway-made body is one frame, never waited on.
        frame_out: Option<FrameOut>,
    }
}

impl ResponseBody {
    pub(crate) fn upstream(body: UpstreamBody, completion: Completion) -> ResponseBody {
        let frame_out = Some(FrameOut::new(completion.write_stall()));
        ResponseBody {
            content: Content::Upstream { body },
            completion,
            frame_out,
        }
    }

    pub(crate) fn full(data: Bytes, completion: Completion) -> ResponseBody {
        let data = if data.is_empty() { None } else { Some(data) };
        ResponseBody {
            content: Content::Full { data },
            completion,
            frame_out: None,
        }
    }
}

impl std::fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseBody").finish_non_exhaustive()
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.project();
        // Asked for the next frame: the client took the last one (see `write_stall`).
        if let Some(frame_out) = this.frame_out.as_mut() {
            frame_out.polled();
        }
        let polled = match this.content.project() {
            ContentProjection::Upstream { body } => match body.poll_frame(cx) {
                Poll::Ready(Some(Err(error))) => {
                    this.completion.upstream_body_failed();
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(Some(Ok(frame))) => Some(frame),
                Poll::Ready(None) => None,
                Poll::Pending => return Poll::Pending,
            },
            ContentProjection::Full { data } => data.take().map(Frame::data),
        };
        if let Some(data) = polled.as_ref().and_then(Frame::data_ref) {
            this.completion.add_bytes_out(data.len() as u64);
            if let Some(frame_out) = this.frame_out.as_mut() {
                frame_out.handed_out(false);
            }
        }
        Poll::Ready(polled.map(Ok))
    }

    fn is_end_stream(&self) -> bool {
        match &self.content {
            Content::Upstream { body } => body.is_end_stream(),
            Content::Full { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.content {
            Content::Upstream { body } => body.size_hint(),
            Content::Full { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |data| data.len() as u64))
            }
        }
    }
}
