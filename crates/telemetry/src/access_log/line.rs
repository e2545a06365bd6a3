//! JSON serialization of one record (on the writer thread only).

use std::io::Write;
use std::net::SocketAddr;

use serde::Serialize;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;

use super::AccessRecord;

const RFC3339_MILLIS: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");

/// The seed's fields in its camelCase spelling, plus timestamp, client address, bytes,
/// principal and error code. Absent values are `null`.
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

/// `2024-05-01T12:00:00.123Z`.
pub(super) fn rfc3339_millis(timestamp_ms: u64) -> String {
    let nanos = i128::from(timestamp_ms) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|moment| moment.format(RFC3339_MILLIS).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_owned())
}

pub(super) fn write_line(output: &mut impl Write, record: &AccessRecord) -> std::io::Result<()> {
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
        // Microsecond precision is plenty and keeps lines short.
        latency_ms: (record.latency_ms * 1000.0).round() / 1000.0,
        rate_limited: record.rate_limited,
        config_version: record.config_version,
        client_addr: record.client_addr,
        bytes_in: record.bytes_in,
        bytes_out: record.bytes_out,
        error: record.error,
    };
    serde_json::to_writer(&mut *output, &line)?;
    output.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(1_714_564_800_123),
            "2024-05-01T12:00:00.123Z"
        );
    }
}
