//! W3C Trace Context (`traceparent`, `tracestate`).

use http::{HeaderMap, HeaderValue};

#[derive(Debug, Clone)]
pub struct TraceContext {
    pub trace_id: [u8; 16],
    /// The new parent id the gateway uses for the upstream hop.
    pub span_id: [u8; 8],
    pub flags: u8,
    /// Forwarded only when the incoming `traceparent` was valid.
    pub tracestate: Option<HeaderValue>,
    /// True when the incoming `traceparent` was valid and its trace is continued.
    pub continued: bool,
}

impl TraceContext {
    /// Continue a valid incoming trace (new span id) or start a new one.
    pub fn from_headers(headers: &HeaderMap) -> TraceContext {
        let _ = headers;
        unimplemented!("telemetry helper")
    }

    /// `00-<trace-id>-<span-id>-<flags>` for the upstream request.
    pub fn traceparent(&self) -> HeaderValue {
        unimplemented!("telemetry helper")
    }

    /// 32 lower-case hex digits.
    pub fn trace_id_hex(&self) -> String {
        unimplemented!("telemetry helper")
    }
}
