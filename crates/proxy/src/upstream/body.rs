//! The upstream response body with the request's balancing guard attached, so an endpoint
//! counts as busy until its response body has been read to the end (or dropped).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use super::target::RequestGuard;

pin_project_lite::pin_project! {
    /// A response body from [`super::Upstreams::forward_streaming`]. Streams the upstream's
    /// body unchanged; releases the endpoint's outstanding-request count at the end of the
    /// stream, on an error, or when dropped, whichever comes first.
    #[derive(Debug)]
    pub struct UpstreamBody {
        #[pin]
        inner: Incoming,
        guard: Option<RequestGuard>,
    }
}

impl UpstreamBody {
    pub(crate) fn new(inner: Incoming, guard: RequestGuard) -> UpstreamBody {
        let guard = if inner.is_end_stream() {
            None
        } else {
            Some(guard)
        };
        UpstreamBody { inner, guard }
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let mut this = self.project();
        let polled = this.inner.as_mut().poll_frame(cx);
        let finished = match &polled {
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => true,
            // With a known length the last data frame already ends the stream.
            Poll::Ready(Some(Ok(_))) => this.inner.is_end_stream(),
            Poll::Pending => false,
        };
        if finished {
            this.guard.take();
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
