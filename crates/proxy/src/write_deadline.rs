//! The socket side of `writeTimeoutMs`: a connection whose writes stay blocked that long
//! (the client's receive buffer is full and it reads nothing) fails with `TimedOut`, which
//! ends it. This catches what response bodies cannot see: an HTTP/1 client that stopped
//! reading mid-response, and HTTP/2 floods of PING or SETTINGS whose acknowledgements the
//! client never reads (h2 acknowledges each before it reads the next frame, so the flood
//! stalls on the blocked socket, and then the connection goes).
//!
//! The clock runs only while a write is blocked, and restarts at the next write that
//! proceeds. (A client that keeps its window at zero blocks no socket write: see
//! `write_stall`.)

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use portcullis_telemetry::metrics::ListenerMetrics;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

pin_project_lite::pin_project! {
    pub(crate) struct WriteDeadline<T> {
        #[pin]
        inner: T,
        timeout: Duration,
        // Armed by a write that returned `Pending`, cleared by one that proceeds; boxed
        // only once a connection's writes ever block.
        deadline: Option<Pin<Box<Sleep>>>,
        blocked: bool,
        metrics: ListenerMetrics,
        counted: bool,
    }
}

impl<T> WriteDeadline<T> {
    pub(crate) fn new(inner: T, timeout: Duration, metrics: ListenerMetrics) -> WriteDeadline<T> {
        WriteDeadline {
            inner,
            timeout,
            deadline: None,
            blocked: false,
            metrics,
            counted: false,
        }
    }
}

/// What a blocked write returns: `Pending` until the deadline, then `TimedOut`.
fn blocked<R>(
    deadline: &mut Option<Pin<Box<Sleep>>>,
    was_blocked: &mut bool,
    timeout: Duration,
    counted: &mut bool,
    metrics: &ListenerMetrics,
    cx: &mut Context<'_>,
) -> Poll<io::Result<R>> {
    let sleep = deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
    if !*was_blocked {
        *was_blocked = true;
        sleep.as_mut().reset(Instant::now() + timeout);
    }
    match sleep.as_mut().poll(cx) {
        Poll::Pending => Poll::Pending,
        Poll::Ready(()) => {
            if !std::mem::replace(counted, true) {
                metrics.write_timeout();
                tracing::debug!(?timeout, "write timeout: the client stopped reading");
            }
            Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client read nothing for {timeout:?} (writeTimeoutMs)"),
            )))
        }
    }
}

macro_rules! timed_write {
    ($self:ident, $cx:ident, $call:expr) => {{
        let this = $self.project();
        let inner = this.inner;
        match $call(inner, &mut *$cx) {
            Poll::Pending => blocked(
                this.deadline,
                this.blocked,
                *this.timeout,
                this.counted,
                this.metrics,
                $cx,
            ),
            ready => {
                *this.blocked = false;
                ready
            }
        }
    }};
}

impl<T: AsyncWrite> AsyncWrite for WriteDeadline<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        timed_write!(self, cx, |inner: Pin<&mut T>, cx: &mut Context<'_>| inner
            .poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        timed_write!(self, cx, |inner: Pin<&mut T>, cx: &mut Context<'_>| inner
            .poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        timed_write!(self, cx, |inner: Pin<&mut T>, cx: &mut Context<'_>| inner
            .poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        timed_write!(self, cx, |inner: Pin<&mut T>, cx: &mut Context<'_>| inner
            .poll_shutdown(cx))
    }
}

impl<T: AsyncRead> AsyncRead for WriteDeadline<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().inner.poll_read(cx, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_write_blocked_past_the_timeout_fails_and_is_counted() {
        // A duplex pipe whose reader never reads: writes block once its buffer is full.
        let (writer, _reader) = tokio::io::duplex(1024);
        let metrics = portcullis_telemetry::metrics::Metrics::new().listener("unit");
        let mut writer = WriteDeadline::new(writer, Duration::from_millis(100), metrics.clone());
        let started = Instant::now();
        let error = writer
            .write_all(&[0u8; 64 * 1024])
            .await
            .expect_err("blocked");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(error.to_string().contains("writeTimeoutMs"));
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert_eq!(metrics.write_timeout_count(), 1);
    }

    #[tokio::test]
    async fn writes_that_proceed_never_time_out() {
        let (writer, mut reader) = tokio::io::duplex(1024);
        let metrics = portcullis_telemetry::metrics::Metrics::new().listener("unit");
        let mut writer = WriteDeadline::new(writer, Duration::from_millis(200), metrics.clone());
        let drain = tokio::spawn(async move {
            let mut sink = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut sink)
                .await
                .map(|_| sink.len())
        });
        writer.write_all(&[1u8; 256 * 1024]).await.expect("written");
        writer.shutdown().await.expect("shut down");
        assert_eq!(drain.await.expect("drain").expect("read"), 256 * 1024);
        assert_eq!(metrics.write_timeout_count(), 0);
    }
}
