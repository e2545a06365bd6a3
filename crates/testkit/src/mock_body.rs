//! Response bodies the mock upstream produces.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full};

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub(crate) type MockBody = UnsyncBoxBody<Bytes, BoxError>;

pub(crate) fn full(bytes: impl Into<Bytes>) -> MockBody {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

pub(crate) fn empty() -> MockBody {
    Empty::new()
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// `length` bytes of `b'x'` produced chunk by chunk from one shared buffer, so a 1 GiB
/// download costs no memory beyond one chunk. The exact size hint makes hyper send
/// `Content-Length` (HTTP/1.1).
pub(crate) struct RepeatBody {
    remaining: u64,
    chunk: Bytes,
}

const CHUNK_SIZE: usize = 64 * 1024;

impl RepeatBody {
    pub(crate) fn new(length: u64) -> RepeatBody {
        RepeatBody {
            remaining: length,
            chunk: Bytes::from(vec![b'x'; CHUNK_SIZE]),
        }
    }
}

impl Body for RepeatBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let size = self.remaining.min(CHUNK_SIZE as u64);
        self.remaining -= size;
        // `size` is at most CHUNK_SIZE, so the cast cannot truncate.
        let frame = self.chunk.slice(..size as usize);
        Poll::Ready(Some(Ok(Frame::data(frame))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}
