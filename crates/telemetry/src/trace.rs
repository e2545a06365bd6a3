//! W3C Trace Context level 1 (`traceparent`, `tracestate`).
//!
//! A valid incoming `traceparent` is continued: its trace id and sampled flag are kept and
//! the gateway sends a new parent id upstream. Anything else (absent, malformed, version
//! `ff`, all-zero ids, upper-case hex, or more than one `traceparent` header) starts a new
//! trace. Level 1 reserves every flag bit except `sampled` and says vendors MUST set them
//! to zero, so only that bit is forwarded.
//!
//! New traces are sent with `sampled` set (`01`): the gateway records every request,
//! keyed by trace id, in its access log, which is the "may have recorded trace data" the
//! flag announces, and it lets services behind the gateway record the rest of the trace
//! rather than drop it.

mod tracestate;

use http::header::HeaderName;
use http::{HeaderMap, HeaderValue};

use crate::random::{decode_lower_hex, random_nonzero_u128, random_nonzero_u64, write_hex};

pub use tracestate::is_valid_tracestate;

pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
pub const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");

/// The only flag level 1 defines.
pub const FLAG_SAMPLED: u8 = 0x01;

/// Length of a version-00 `traceparent`.
pub const TRACEPARENT_LEN: usize = 55;

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

/// The fields of a valid `traceparent` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedTraceparent {
    pub version: u8,
    pub trace_id: [u8; 16],
    pub parent_id: [u8; 8],
    pub flags: u8,
}

/// Parses one `traceparent` value by the level-1 rules: version 00 must be exactly
/// `00-<32 hex>-<16 hex>-<2 hex>`; a higher version (not `ff`) is read by the same prefix
/// and may continue only after a `-`. Hex must be lower case; all-zero ids are invalid.
pub fn parse_traceparent(value: &[u8]) -> Option<ParsedTraceparent> {
    if value.len() < TRACEPARENT_LEN {
        return None;
    }
    let mut version = [0u8; 1];
    decode_lower_hex(&value[0..2], &mut version)?;
    let version = version[0];
    if version == 0xff {
        return None;
    }
    let well_terminated = match value.len() {
        TRACEPARENT_LEN => true,
        _ => version != 0 && value[TRACEPARENT_LEN] == b'-',
    };
    if !well_terminated || value[2] != b'-' || value[35] != b'-' || value[52] != b'-' {
        return None;
    }
    let mut trace_id = [0u8; 16];
    decode_lower_hex(&value[3..35], &mut trace_id)?;
    let mut parent_id = [0u8; 8];
    decode_lower_hex(&value[36..52], &mut parent_id)?;
    let mut flags = [0u8; 1];
    decode_lower_hex(&value[53..55], &mut flags)?;
    if trace_id == [0; 16] || parent_id == [0; 8] {
        return None;
    }
    Some(ParsedTraceparent {
        version,
        trace_id,
        parent_id,
        flags: flags[0],
    })
}

impl TraceContext {
    /// Continue a valid incoming trace (new span id) or start a new one.
    pub fn from_headers(headers: &HeaderMap) -> TraceContext {
        let mut values = headers.get_all(TRACEPARENT).into_iter();
        let incoming = match (values.next(), values.next()) {
            (Some(only), None) => parse_traceparent(only.as_bytes()),
            _ => None,
        };
        match incoming {
            Some(parent) => TraceContext {
                trace_id: parent.trace_id,
                span_id: random_nonzero_u64().to_be_bytes(),
                flags: parent.flags & FLAG_SAMPLED,
                tracestate: tracestate::forwardable(headers),
                continued: true,
            },
            None => TraceContext::new_root(),
        }
    }

    /// A new trace started by the gateway (random non-zero ids, sampled).
    pub fn new_root() -> TraceContext {
        TraceContext {
            trace_id: random_nonzero_u128().to_be_bytes(),
            span_id: random_nonzero_u64().to_be_bytes(),
            flags: FLAG_SAMPLED,
            tracestate: None,
            continued: false,
        }
    }

    /// `00-<trace-id>-<span-id>-<flags>` for the upstream request.
    pub fn traceparent(&self) -> HeaderValue {
        let mut text = [b'-'; TRACEPARENT_LEN];
        text[0..2].copy_from_slice(b"00");
        write_hex(&self.trace_id, &mut text[3..35]);
        write_hex(&self.span_id, &mut text[36..52]);
        write_hex(&[self.flags], &mut text[53..55]);
        HeaderValue::from_bytes(&text).expect("hex digits and dashes are valid header bytes")
    }

    /// 32 lower-case hex digits.
    pub fn trace_id_hex(&self) -> String {
        let mut digits = [0u8; 32];
        write_hex(&self.trace_id, &mut digits);
        digits.iter().map(|&digit| char::from(digit)).collect()
    }

    /// True when the sampled flag is set.
    pub fn sampled(&self) -> bool {
        self.flags & FLAG_SAMPLED != 0
    }
}

#[cfg(test)]
mod tests;
