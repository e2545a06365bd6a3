//! Arbitrary bytes as `traceparent`/`tracestate` values: never panics, and the context it
//! yields always renders a valid version-00 `traceparent`.

use http::{HeaderMap, HeaderValue};
use portcullis_telemetry::trace::{
    is_valid_tracestate, parse_traceparent, TraceContext, FLAG_SAMPLED, TRACEPARENT, TRACESTATE,
};

/// The target's contract for one input; panics on a violation.
pub fn check(data: &[u8]) {
    let parsed = parse_traceparent(data);
    if let Some(parsed) = parsed {
        assert_ne!(parsed.trace_id, [0; 16]);
        assert_ne!(parsed.parent_id, [0; 8]);
        assert_ne!(parsed.version, 0xff);
    }
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_bytes(data) {
        headers.insert(TRACEPARENT, value.clone());
        headers.insert(TRACESTATE, value);
    }
    let context = TraceContext::from_headers(&headers);
    assert_eq!(
        context.continued,
        headers.contains_key(TRACEPARENT) && parsed.is_some()
    );
    let sent = context.traceparent();
    let reparsed = parse_traceparent(sent.as_bytes()).expect("outgoing traceparent is valid");
    assert_eq!(reparsed.version, 0);
    assert_eq!(reparsed.trace_id, context.trace_id);
    assert_eq!(reparsed.parent_id, context.span_id);
    assert_eq!(reparsed.flags & !FLAG_SAMPLED, 0);
    if let Some(state) = &context.tracestate {
        assert!(context.continued);
        assert!(is_valid_tracestate(state.as_bytes()));
    }
}
