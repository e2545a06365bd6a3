//! The access-log writer as it was before the hand-written one: the record with owned
//! `String`s, as `Completion::record` built it, and `serde_json` + `time` writing it. Kept as
//! the oracle the new writer must match byte for byte, and as the "old" side of the
//! `access_line` benchmark (which includes this file by path).

use std::net::SocketAddr;
use std::sync::Arc;

use portcullis_telemetry::access_log::{AccessRecord, Text};
use serde::Serialize;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

/// The old `AccessRecord`, field for field.
#[derive(Debug, Clone)]
pub struct OldRecord {
    pub timestamp_ms: u64,
    pub request_id: String,
    pub trace_id: String,
    pub route: Option<Arc<str>>,
    pub tenant_id: Option<String>,
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
    pub error: Option<&'static str>,
}

/// The old record carrying the same values (text that is not UTF-8 replaced the way the new
/// writer documents: `String::from_utf8_lossy`).
pub fn old_record(record: &AccessRecord) -> OldRecord {
    let lossy = |text: &Text| String::from_utf8_lossy(text.as_bytes()).into_owned();
    OldRecord {
        timestamp_ms: record.timestamp_ms,
        request_id: lossy(&record.request_id),
        trace_id: record
            .trace_id
            .map_or_else(String::new, |id| hex_lower(&id.to_bytes())),
        route: record.route.clone(),
        tenant_id: record.tenant_id.as_ref().map(lossy),
        principal: record.principal.as_ref().map(lossy),
        method: lossy(&record.method),
        path: lossy(&record.path),
        status: record.status,
        upstream: record.upstream.clone(),
        upstream_version: record.upstream_version.clone(),
        latency_ms: record.latency_ms,
        rate_limited: record.rate_limited,
        config_version: record.config_version,
        client_addr: record.client_addr,
        bytes_in: record.bytes_in,
        bytes_out: record.bytes_out,
        error: record.error,
    }
}

/// The old `hex_lower` of `portcullis-proxy`'s `respond.rs`.
pub fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

const RFC3339_MILLIS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Line<'a> {
    timestamp: String,
    request_id: &'a str,
    trace_id: &'a str,
    route: Option<&'a str>,
    tenant_id: Option<&'a str>,
    principal: Option<&'a str>,
    method: &'a str,
    path: &'a str,
    status: u16,
    upstream: Option<&'a str>,
    upstream_version: Option<&'a str>,
    latency_ms: f64,
    rate_limited: bool,
    config_version: u64,
    client_addr: SocketAddr,
    bytes_in: u64,
    bytes_out: u64,
    error: Option<&'a str>,
}

fn rfc3339_millis(timestamp_ms: u64) -> String {
    let nanos = i128::from(timestamp_ms) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|moment| moment.format(RFC3339_MILLIS).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_owned())
}

/// The old `line::write_line`, verbatim but for the output type.
pub fn write_old_line(output: &mut Vec<u8>, record: &OldRecord) {
    let line = Line {
        timestamp: rfc3339_millis(record.timestamp_ms),
        request_id: &record.request_id,
        trace_id: &record.trace_id,
        route: record.route.as_deref(),
        tenant_id: record.tenant_id.as_deref(),
        principal: record.principal.as_deref(),
        method: &record.method,
        path: &record.path,
        status: record.status,
        upstream: record.upstream.as_deref(),
        upstream_version: record.upstream_version.as_deref(),
        latency_ms: (record.latency_ms * 1000.0).round() / 1000.0,
        rate_limited: record.rate_limited,
        config_version: record.config_version,
        client_addr: record.client_addr,
        bytes_in: record.bytes_in,
        bytes_out: record.bytes_out,
        error: record.error,
    };
    serde_json::to_writer(&mut *output, &line).expect("serializing to a Vec cannot fail");
    output.push(b'\n');
}
