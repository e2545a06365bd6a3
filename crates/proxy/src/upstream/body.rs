//! The upstream response body with the request's balancing guard attached, so an endpoint
//! counts as busy until its response body has been read to the end (or dropped), and with
//! the HTTP/1.1 connection it came on, which goes back to its pool only when the body was
//! read to the end (a body dropped half-read leaves the connection unusable: it closes).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use super::lean::LeanBody;
use super::pool::Reusable;
use super::target::RequestGuard;
use super::BoxError;

pin_project_lite::pin_project! {
    /// The body as it arrives: from hyper's client, or read straight off a raw connection.
    #[project = SourceProjection]
    #[derive(Debug)]
    pub(crate) enum UpstreamResponseBody {
        Hyper { #[pin] body: Incoming },
        Lean { #[pin] body: LeanBody },
    }
}

#[allow(non_snake_case)]
impl UpstreamResponseBody {
    /// Constructor functions named like tuple variants, for `Response::map`.
    pub(crate) fn Hyper(body: Incoming) -> UpstreamResponseBody {
        UpstreamResponseBody::Hyper { body }
    }

    pub(crate) fn Lean(body: LeanBody) -> UpstreamResponseBody {
        UpstreamResponseBody::Lean { body }
    }
}

impl Body for UpstreamResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project() {
            SourceProjection::Hyper { body } => body.poll_frame(cx).map_err(BoxError::from),
            SourceProjection::Lean { body } => body.poll_frame(cx).map_err(BoxError::from),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            UpstreamResponseBody::Hyper { body } => body.is_end_stream(),
            UpstreamResponseBody::Lean { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            UpstreamResponseBody::Hyper { body } => body.size_hint(),
            UpstreamResponseBody::Lean { body } => body.size_hint(),
        }
    }
}

pin_project_lite::pin_project! {
    /// A response body from [`super::Upstreams::forward_streaming`]. Streams the upstream's
    /// body unchanged; releases the endpoint's outstanding-request count at the end of the
    /// stream, on an error, or when dropped, whichever comes first.
    #[derive(Debug)]
    pub struct UpstreamBody {
        #[pin]
        inner: UpstreamResponseBody,
        guard: Option<RequestGuard>,
        connection: Option<Reusable>,
    }
}

impl UpstreamBody {
    pub(crate) fn new(
        inner: UpstreamResponseBody,
        guard: Option<RequestGuard>,
        connection: Option<Reusable>,
    ) -> UpstreamBody {
        let mut body = UpstreamBody {
            inner,
            guard,
            connection,
        };
        if body.inner.is_end_stream() {
            end_exchange(&mut body.guard, &mut body.connection, true);
        }
        body
    }
}

/// The exchange is over: release the endpoint, and keep the connection when the body ended
/// cleanly.
fn end_exchange(guard: &mut Option<RequestGuard>, connection: &mut Option<Reusable>, clean: bool) {
    guard.take();
    if let Some(connection) = connection.take() {
        if clean {
            connection.release();
        } else {
            connection.discard();
        }
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut this = self.project();
        let polled = this.inner.as_mut().poll_frame(cx);
        let finished = match &polled {
            Poll::Ready(None) => Some(true),
            Poll::Ready(Some(Err(_))) => Some(false),
            // With a known length the last data frame already ends the stream.
            Poll::Ready(Some(Ok(_))) => this.inner.is_end_stream().then_some(true),
            Poll::Pending => None,
        };
        if let Some(clean) = finished {
            end_exchange(this.guard, this.connection, clean);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
