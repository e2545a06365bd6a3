//! One JSON line per request, written by a writer thread behind a bounded queue.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::metrics::Metrics;

/// One access-log record (the seed's fields plus client address and byte counts).
#[derive(Debug, Clone)]
pub struct AccessRecord {
    /// Unix time in milliseconds when the request arrived.
    pub timestamp_ms: u64,
    pub request_id: String,
    pub trace_id: String,
    pub route: Option<Arc<str>>,
    pub tenant_id: Option<String>,
    /// Principal subject or API-key id (never a secret).
    pub principal: Option<String>,
    pub method: String,
    pub path: String,
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    Stderr,
    File(std::path::PathBuf),
}

impl Destination {
    /// `stdout`, `stderr`, or a file path.
    pub fn parse(path: &str) -> Destination {
        let _ = path;
        unimplemented!("telemetry helper")
    }
}

/// Cheap, cloneable sender. `log` never blocks: a full queue drops the record and counts it.
#[derive(Debug, Clone)]
pub struct AccessLog {}

/// Joins the writer thread (flushing queued records) when dropped or `finish`ed.
#[derive(Debug)]
pub struct AccessLogGuard {}

impl AccessLog {
    pub fn start(
        destination: Destination,
        queue_capacity: usize,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<(AccessLog, AccessLogGuard)> {
        let _ = (destination, queue_capacity, metrics);
        unimplemented!("telemetry helper")
    }

    /// A logger that discards everything (access log disabled).
    pub fn disabled() -> AccessLog {
        unimplemented!("telemetry helper")
    }

    pub fn log(&self, record: AccessRecord) {
        let _ = record;
        unimplemented!("telemetry helper")
    }
}

impl AccessLogGuard {
    /// Close the queue, write what is queued, join the thread.
    pub fn finish(self) {
        unimplemented!("telemetry helper")
    }
}
