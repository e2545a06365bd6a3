//! One JSON line per request, written by a writer thread behind a bounded queue.
//!
//! The request path only moves the record into a `sync_channel` with `try_send`: it never
//! blocks and never serializes. A full queue drops the record and counts it
//! (`portcullis_access_log_dropped_total`), so a slow disk or a stalled stdout reader slows
//! nothing but the log. The writer thread formats JSON into a buffered writer and flushes
//! whenever it has drained the queue; under load it polls every few milliseconds instead of
//! waiting on the channel, so handing a record over never wakes a thread (see
//! [`BUSY_POLL_INTERVAL`]).

mod line;
mod text;
mod timestamp;

use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::metrics::Metrics;

pub use line::LineFormatter;
pub use text::{Text, INLINE_CAPACITY};

/// Buffer of the writer thread; flushed when the queue runs dry.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// One access-log record (the seed's fields plus client address and byte counts).
///
/// Absent optional fields are written as JSON `null`; every line has every key. Built on the
/// request thread without allocating: strings are [`Text`] (short ones copied inline),
/// route and upstream names shared `Arc<str>`, the trace id its 16 bytes; all formatting
/// happens on the writer thread.
#[derive(Debug, Clone)]
pub struct AccessRecord {
    /// Unix time in milliseconds when the request arrived.
    pub timestamp_ms: u64,
    pub request_id: Text,
    /// W3C trace id, written as 32 lower-case hex digits; `None` (no trace context: a head
    /// refused before it parsed) is written as `""`.
    pub trace_id: Option<TraceId>,
    pub route: Option<Arc<str>>,
    pub tenant_id: Option<Text>,
    /// Principal subject or API-key id (never a secret).
    pub principal: Option<Text>,
    pub method: Text,
    pub path: Text,
    pub status: u16,
    pub upstream: Option<Arc<str>>,
    pub upstream_version: Option<Arc<str>>,
    pub latency_ms: f64,
    pub rate_limited: bool,
    pub config_version: u64,
    pub client_addr: SocketAddr,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Error code for rejected or failed requests (`portcullis_error::ErrorKind::code`).
    pub error: Option<&'static str>,
}

/// A W3C trace id for the log. Two words rather than `[u8; 16]` on purpose: LLVM moved a
/// record's byte arrays byte by byte, and records move several times on their way to the
/// writer (measured with the `access_line` benchmark).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceId([u64; 2]);

impl TraceId {
    pub fn from_bytes(bytes: [u8; 16]) -> TraceId {
        let value = u128::from_be_bytes(bytes);
        // Splitting a u128 into its halves: the casts keep exactly 64 bits each.
        TraceId([(value >> 64) as u64, value as u64])
    }

    pub fn to_bytes(self) -> [u8; 16] {
        ((u128::from(self.0[0]) << 64) | u128::from(self.0[1])).to_be_bytes()
    }
}

impl From<[u8; 16]> for TraceId {
    fn from(bytes: [u8; 16]) -> TraceId {
        TraceId::from_bytes(bytes)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    Stderr,
    File(std::path::PathBuf),
}

impl Destination {
    /// `stdout`, `stderr`, or a file path.
    pub fn parse(path: &str) -> Destination {
        match path {
            "stdout" | "-" => Destination::Stdout,
            "stderr" => Destination::Stderr,
            file => Destination::File(file.into()),
        }
    }

    /// Opens the destination; a file is created if missing and appended to.
    pub fn open(&self) -> std::io::Result<Box<dyn Write + Send>> {
        Ok(match self {
            Destination::Stdout => Box::new(std::io::stdout()),
            Destination::Stderr => Box::new(std::io::stderr()),
            Destination::File(path) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ),
        })
    }
}

/// Records travel unboxed: boxing would cost an allocation per request, and the
/// queue's memory (capacity × record size) is bounded anyway.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Message {
    Record(AccessRecord),
    /// Sent by the guard: write what is queued, then stop. Clones of `AccessLog` may
    /// outlive the guard, so the queue cannot be closed by dropping senders.
    Shutdown,
}

/// Cheap, cloneable sender. `log` never blocks: a full queue drops the record and counts it.
#[derive(Debug, Clone)]
pub struct AccessLog {
    /// `None` when the access log is disabled.
    queue: Option<(SyncSender<Message>, Arc<Metrics>)>,
}

/// Joins the writer thread (flushing queued records) when dropped or `finish`ed.
#[derive(Debug)]
pub struct AccessLogGuard {
    queue: Option<SyncSender<Message>>,
    writer: Option<JoinHandle<()>>,
}

impl AccessLog {
    pub fn start(
        destination: Destination,
        queue_capacity: usize,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<(AccessLog, AccessLogGuard)> {
        let output = destination.open()?;
        AccessLog::start_with_writer(output, queue_capacity, metrics)
    }

    /// Like [`AccessLog::start`] with any writer (tests capture lines this way).
    pub fn start_with_writer(
        output: Box<dyn Write + Send>,
        queue_capacity: usize,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<(AccessLog, AccessLogGuard)> {
        // A zero-capacity channel is a rendezvous: every `try_send` would fail.
        let (sender, receiver) = mpsc::sync_channel(queue_capacity.max(1));
        let writer = std::thread::Builder::new()
            .name("portcullis-access-log".into())
            .spawn(move || write_records(receiver, output))?;
        let log = AccessLog {
            queue: Some((sender.clone(), metrics)),
        };
        let guard = AccessLogGuard {
            queue: Some(sender),
            writer: Some(writer),
        };
        Ok((log, guard))
    }

    /// A logger that discards everything (access log disabled).
    pub fn disabled() -> AccessLog {
        AccessLog { queue: None }
    }

    /// True unless this logger discards everything.
    pub fn is_enabled(&self) -> bool {
        self.queue.is_some()
    }

    /// Queue `record` for the writer; never blocks. Dropped and counted when the queue is
    /// full or the writer has stopped.
    pub fn log(&self, record: AccessRecord) {
        if let Some((sender, metrics)) = &self.queue {
            match sender.try_send(Message::Record(record)) {
                Ok(()) => {}
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                    metrics.access_log_dropped();
                }
            }
        }
    }
}

impl AccessLogGuard {
    /// Close the queue, write what is queued, join the thread.
    pub fn finish(mut self) {
        self.close();
    }

    fn close(&mut self) {
        if let Some(queue) = self.queue.take() {
            // Blocks only until the writer makes room; an error means it already stopped.
            let _ = queue.send(Message::Shutdown);
        }
        if let Some(writer) = self.writer.take() {
            if writer.join().is_err() {
                tracing::error!("access-log writer thread panicked; some records were lost");
            }
        }
    }
}

impl Drop for AccessLogGuard {
    fn drop(&mut self) {
        self.close();
    }
}

/// How long the writer sleeps when it finds the queue empty while traffic flows.
///
/// Sleeping (rather than blocking in `recv`) means a request thread's `try_send` never has
/// to wake the writer: under load the hand-off costs no futex call and no context switch,
/// and the writer drains the queue in batches, one `write` per batch. Lines reach the
/// output at most this much later.
const BUSY_POLL_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);

/// Empty polls in a row after which the writer blocks in `recv` instead, so an idle
/// gateway does not wake a thread 100 times a second (0.5 s without traffic).
const IDLE_POLLS_BEFORE_BLOCKING: u32 = 50;

/// The writer thread: serialize, buffer, flush when the queue runs dry, stop on `Shutdown`.
fn write_records(queue: Receiver<Message>, output: Box<dyn Write + Send>) {
    let mut output = BufWriter::with_capacity(WRITE_BUFFER_BYTES, output);
    let mut lines = LineFormatter::new();
    let mut failures = FailureReport::default();
    let mut empty_polls = 0u32;
    loop {
        let message = match queue.try_recv() {
            Ok(message) => {
                empty_polls = 0;
                message
            }
            Err(TryRecvError::Empty) => {
                failures.check(output.flush());
                if empty_polls < IDLE_POLLS_BEFORE_BLOCKING {
                    empty_polls += 1;
                    std::thread::sleep(BUSY_POLL_INTERVAL);
                    continue;
                }
                match queue.recv() {
                    Ok(message) => {
                        empty_polls = 0;
                        message
                    }
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        match message {
            Message::Record(record) => failures.check(lines.write_line(&mut output, &record)),
            Message::Shutdown => {
                while let Ok(Message::Record(record)) = queue.try_recv() {
                    failures.check(lines.write_line(&mut output, &record));
                }
                break;
            }
        }
    }
    failures.check(output.flush());
}

/// Reports the first write error and then only changes of state, so a full disk does not
/// flood the process log with one error per request.
#[derive(Default)]
struct FailureReport {
    failing: bool,
}

impl FailureReport {
    fn check(&mut self, result: std::io::Result<()>) {
        match (result, self.failing) {
            (Err(error), false) => {
                tracing::warn!(%error, "access log write failed; records are being lost");
                self.failing = true;
            }
            (Ok(()), true) => {
                tracing::info!("access log writes succeed again");
                self.failing = false;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
