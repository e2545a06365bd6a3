//! `bodyReadTimeoutMs`: a request body that stops arriving fails with [`BodyReadTimedOut`]
//! instead of holding the upstream request (and both connections) open for as long as the
//! client likes.
//!
//! The clock runs only while the body waits on the client (its poll returned `Pending`) and
//! restarts with every frame: it bounds the silence between body bytes, not the whole
//! upload. A large upload over a slow link that keeps moving is not cut off; a stalled one
//! is. When the upstream is slow to read, the body is not polled and the clock does not run.
//! (A client that trickles one byte per interval stays within it; `maxBodyBytes` and
//! `maxConnections` bound what such a client holds.)

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::upstream::BoxError;

/// The body's error when no bytes arrived for the timeout.
#[derive(Debug, thiserror::Error)]
#[error("no request body bytes arrived within {0:?} (bodyReadTimeoutMs)")]
pub(crate) struct BodyReadTimedOut(Duration);

pin_project_lite::pin_project! {
    /// `inner` with a deadline on each wait for its next frame.
    pub(crate) struct ReadTimeout<B> {
        #[pin]
        inner: B,
        timeout: Duration,
        // Armed when a poll returns `Pending`; disarmed by the next frame. Boxed and kept
        // across waits, so a body that never waits never allocates it.
        deadline: Option<Pin<Box<Sleep>>>,
        waiting: bool,
    }
}

impl<B> ReadTimeout<B> {
    pub(crate) fn new(inner: B, timeout: Duration) -> ReadTimeout<B> {
        ReadTimeout {
            inner,
            timeout,
            deadline: None,
            waiting: false,
        }
    }

    /// Is `error` this wrapper's timeout?
    pub(crate) fn is_timeout(error: &BoxError) -> bool {
        error.is::<BodyReadTimedOut>()
    }
}

impl<B> Body for ReadTimeout<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, BoxError>>> {
        let this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(frame) => {
                *this.waiting = false;
                Poll::Ready(frame.map(|result| result.map_err(Into::into)))
            }
            Poll::Pending => {
                let timeout = *this.timeout;
                let deadline = this
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if !*this.waiting {
                    // A new wait: the clock starts now.
                    *this.waiting = true;
                    deadline.as_mut().reset(Instant::now() + timeout);
                }
                match deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyReadTimedOut(timeout))))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::{BodyExt, StreamBody};
    use tokio::sync::mpsc;

    type Frames = mpsc::Receiver<Result<Frame<Bytes>, std::convert::Infallible>>;

    fn channel_body() -> (
        mpsc::Sender<Result<Frame<Bytes>, std::convert::Infallible>>,
        StreamBody<ReceiverStream>,
    ) {
        let (sender, receiver) = mpsc::channel(4);
        (sender, StreamBody::new(ReceiverStream(receiver)))
    }

    struct ReceiverStream(Frames);

    impl futures_util::Stream for ReceiverStream {
        type Item = Result<Frame<Bytes>, std::convert::Infallible>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.0.poll_recv(cx)
        }
    }

    #[tokio::test]
    async fn frames_pass_and_a_silent_body_times_out() {
        let (sender, body) = channel_body();
        let mut body = ReadTimeout::new(body, Duration::from_millis(100));
        sender
            .send(Ok(Frame::data(Bytes::from_static(b"abc"))))
            .await
            .expect("send");
        let frame = body.frame().await.expect("frame").expect("ok");
        assert_eq!(frame.into_data().expect("data"), "abc");
        let started = Instant::now();
        let error = body
            .frame()
            .await
            .expect("an error")
            .expect_err("timed out");
        assert!(ReadTimeout::<Frames>::is_timeout(&error), "{error}");
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert!(error.to_string().contains("bodyReadTimeoutMs"));
        drop(sender);
    }

    #[tokio::test]
    async fn each_frame_restarts_the_clock() {
        let (sender, body) = channel_body();
        let mut body = ReadTimeout::new(body, Duration::from_millis(400));
        let feeder = tokio::spawn(async move {
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let _ = sender.send(Ok(Frame::data(Bytes::from_static(b"x")))).await;
            }
        });
        // 10 frames 50 ms apart: 500 ms in all, longer than the timeout, never silent for it.
        for _ in 0..10 {
            body.frame().await.expect("frame").expect("in time");
        }
        assert!(body.frame().await.is_none());
        feeder.await.expect("feeder");
    }
}
