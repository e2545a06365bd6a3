//! [`Guard`]: the downstream stream as hyper reads it, with the [`Tracker`] in between.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use super::{synthetic_request, Reason, Refusal, Refused, Shared, Then, Tracker, SYNTHETIC_LEN};
use crate::server::ConnectionContext;

/// hyper's first read buffer; ours starts at the same size.
const INITIAL_BUFFER: usize = 8 * 1024;

/// Where the connection's [`Shared`] state lives.
pub(crate) trait Link: Send + Sync + 'static {
    fn framing(&self) -> &Shared;
}

impl Link for ConnectionContext {
    fn framing(&self) -> &Shared {
        &self.framing
    }
}

impl Link for Shared {
    fn framing(&self) -> &Shared {
        self
    }
}

#[derive(Debug)]
enum Mode {
    Tracking,
    /// Everything passes unchecked.
    Transparent,
    /// Passing the synthetic request that stands for a refused message.
    Refusing {
        request: [u8; SYNTHETIC_LEN],
        sent: usize,
    },
    /// The synthetic request was passed: nothing more will ever be. Reads stay pending
    /// (not EOF: hyper would take an EOF while it answers as the client going away, and drop
    /// the answer); hyper closes the connection after the answer (`Connection: close`).
    Refused,
    /// A bad chunk after its head passed: the next read fails, which hyper turns into a body
    /// error.
    Broken,
}

/// The guarded stream. One buffer per connection: bytes are read into it, judged, and copied
/// to hyper. It is allocated (not zeroed) when a read needs it, grown up to `max_buffer`, and
/// released whenever it is empty and the socket has nothing to read, so an idle keep-alive
/// connection holds no buffer of the guard's.
#[derive(Debug)]
pub(crate) struct Guard<T, L: Link> {
    io: T,
    link: Arc<L>,
    tracker: Tracker,
    mode: Mode,
    /// Everything received and not yet read by hyper; its length is the fill mark.
    buffer: BytesMut,
    max_buffer: usize,
    /// `buffer[start..passed]`: judged valid, not yet read by hyper.
    start: usize,
    /// `buffer[passed..]`: received, not yet judged valid (part of a head, or bytes held
    /// behind a protocol switch).
    passed: usize,
    /// The stream has ended.
    eof: bool,
    /// Deadline for the connection's first head. hyper's header timer only starts once
    /// hyper-util has seen enough bytes to tell HTTP/1 from HTTP/2, and the guard shows it
    /// none before a whole head: this timer covers that stretch. Later heads are hyper's.
    first_head: Option<Pin<Box<Sleep>>>,
}

impl<T, L: Link> Guard<T, L> {
    /// `max_buffer` must be at least the tracker's `max_header_bytes`, so a whole head fits.
    /// Must be called within a tokio runtime when `first_head_timeout` is set.
    pub(crate) fn new(
        io: T,
        link: Arc<L>,
        tracker: Tracker,
        max_buffer: usize,
        first_head_timeout: Option<Duration>,
    ) -> Self {
        Guard {
            io,
            link,
            tracker,
            mode: Mode::Tracking,
            buffer: BytesMut::new(),
            max_buffer: max_buffer.max(INITIAL_BUFFER),
            start: 0,
            passed: 0,
            eof: false,
            first_head: first_head_timeout.map(|timeout| Box::pin(tokio::time::sleep(timeout))),
        }
    }

    /// The first head timer ran out: a connection that sent nothing is closed, a partial
    /// head is refused (408). `false` while it runs (the waker is registered).
    fn first_head_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.first_head.as_mut() else {
            return false;
        };
        if deadline.as_mut().poll(cx).is_pending() {
            return false;
        }
        self.first_head = None;
        if self.buffer.len() == self.passed {
            self.eof = true;
        } else {
            self.refuse(&Refusal {
                reason: Reason::HeadTimeout,
                fields: None,
            });
        }
        true
    }

    /// Copy judged bytes to hyper; `false` when there are none.
    fn deliver(&mut self, out: &mut ReadBuf<'_>) -> bool {
        if self.passed == self.start {
            return false;
        }
        let count = out.remaining().min(self.passed - self.start);
        out.put_slice(&self.buffer[self.start..self.start + count]);
        self.start += count;
        if self.start == self.buffer.len() {
            self.start = 0;
            self.passed = 0;
            self.buffer.clear();
        }
        true
    }

    /// Replace the message at `buffer[passed..]` (and all after it) by the synthetic request.
    fn refuse(&mut self, refusal: &Refusal) {
        let nonce: u128 = rand::random();
        let message = &self.buffer[self.passed..];
        self.link
            .framing()
            .set_refused(Refused::new(nonce, refusal, message));
        self.buffer.truncate(self.passed);
        self.mode = Mode::Refusing {
            request: synthetic_request(nonce),
            sent: 0,
        };
    }

    /// Make room after the fill mark: drop what hyper has read, grow up to `max_buffer`.
    /// Returns how many bytes the next read may add: 0 when the buffer is full of bytes that
    /// cannot pass yet.
    fn make_room(&mut self) -> usize {
        if self.start > 0 {
            self.buffer.advance(self.start);
            self.passed -= self.start;
            self.start = 0;
        }
        if self.buffer.capacity() == 0 {
            self.buffer.reserve(INITIAL_BUFFER);
        } else if self.buffer.len() == self.buffer.capacity() {
            self.grow();
        }
        let limit = self.buffer.capacity().min(self.max_buffer);
        limit.saturating_sub(self.buffer.len())
    }

    /// Double the room, up to `max_buffer`: like hyper's adaptive reads, a read that filled
    /// the buffer asks for a bigger one next time.
    fn grow(&mut self) {
        let capacity = self.buffer.capacity();
        if capacity < self.max_buffer {
            let grown = (capacity * 2).min(self.max_buffer);
            self.buffer.reserve(grown - self.buffer.len());
        }
    }

    /// Bytes the guard's buffer holds allocated (0 once released).
    #[cfg(test)]
    pub(crate) fn buffer_capacity(&self) -> usize {
        self.buffer.capacity()
    }

    /// Nothing buffered and nothing to read: hand the buffer back to the allocator.
    fn release_if_empty(&mut self) {
        if self.buffer.is_empty() && self.buffer.capacity() > 0 {
            self.buffer = BytesMut::new();
        }
    }
}

fn broken_body() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "malformed chunked request body (framing guard)",
    )
}

impl<T: AsyncRead + Unpin, L: Link> AsyncRead for Guard<T, L> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if out.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if this.deliver(out) {
                return Poll::Ready(Ok(()));
            }
            match &mut this.mode {
                Mode::Tracking => {}
                Mode::Transparent => {
                    if this.eof {
                        return Poll::Ready(Ok(()));
                    }
                    this.release_if_empty();
                    return Pin::new(&mut this.io).poll_read(cx, out);
                }
                Mode::Refusing { request, sent } => {
                    let count = out.remaining().min(request.len() - *sent);
                    out.put_slice(&request[*sent..*sent + count]);
                    *sent += count;
                    if *sent == request.len() {
                        this.mode = Mode::Refused;
                    }
                    return Poll::Ready(Ok(()));
                }
                Mode::Refused => return Poll::Pending,
                Mode::Broken => return Poll::Ready(Err(broken_body())),
            }

            let step = this.tracker.feed(&this.buffer[this.passed..]);
            if this.tracker.upgrade_pending() {
                // Before hyper can see the head, so the pipeline finds the mark.
                this.link.framing().await_upgrade();
            }
            this.passed += step.pass;
            if step.pass > 0 || !matches!(step.then, Then::NeedMore) {
                this.first_head = None;
            }
            let holding = matches!(step.then, Then::Hold);
            match step.then {
                Then::NeedMore => {}
                Then::Refuse(refusal) => {
                    this.refuse(&refusal);
                    continue;
                }
                Then::Broken(_) => {
                    // The valid bytes before the bad one still go to hyper first.
                    this.buffer.truncate(this.passed);
                    this.mode = Mode::Broken;
                    continue;
                }
                Then::Transparent => {
                    this.passed = this.buffer.len();
                    this.mode = Mode::Transparent;
                    continue;
                }
                Then::Hold => {
                    if this.passed > this.start {
                        continue;
                    }
                    match this.link.framing().upgrade_outcome(cx.waker()) {
                        Some(switched) => {
                            this.tracker.upgrade_resolved(switched);
                            continue;
                        }
                        None if this.eof && this.buffer.len() == this.passed => {
                            return Poll::Ready(Ok(()));
                        }
                        // Keep reading (to see the client go away), but only into free space.
                        None if this.eof || this.make_room() == 0 => return Poll::Pending,
                        None => {}
                    }
                }
            }
            if this.passed > this.start {
                continue;
            }

            let room = if this.eof { 0 } else { this.make_room() };
            if room == 0 {
                // Unreachable for a head (the tracker refuses one that fills `max_buffer`);
                // kept as a plain end of input.
                return Poll::Ready(Ok(()));
            }
            let mut limited = (&mut this.buffer).limit(room);
            match tokio_util::io::poll_read_buf(Pin::new(&mut this.io), cx, &mut limited) {
                Poll::Pending => {
                    if this.first_head_expired(cx) {
                        continue;
                    }
                    this.release_if_empty();
                    return Poll::Pending;
                }
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Ready(Ok(read)) => {
                    if read > 0 {
                        if read == room {
                            this.grow();
                        }
                        continue;
                    }
                    this.eof = true;
                    if holding {
                        continue;
                    }
                    let held = &this.buffer[this.passed..];
                    if let Some(refusal) = this.tracker.finish_input(held) {
                        this.refuse(&refusal);
                        continue;
                    }
                    this.buffer.truncate(this.passed);
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin, L: Link> AsyncWrite for Guard<T, L> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
