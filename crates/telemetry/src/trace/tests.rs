use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;

use super::*;

const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const VALID_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            *name,
            HeaderValue::from_str(value).expect("test value is a header value"),
        );
    }
    map
}

fn assert_new_trace(context: &TraceContext) {
    assert!(!context.continued);
    assert_ne!(context.trace_id_hex(), VALID_TRACE_ID);
    assert_ne!(context.trace_id, [0; 16]);
    assert_ne!(context.span_id, [0; 8]);
    assert_eq!(context.flags, FLAG_SAMPLED);
    assert!(context.tracestate.is_none());
}

#[test]
fn valid_traceparent_keeps_trace_id_and_flags_with_new_parent_id() {
    let context = TraceContext::from_headers(&headers(&[("traceparent", VALID)]));
    assert!(context.continued);
    assert_eq!(context.trace_id_hex(), VALID_TRACE_ID);
    assert_ne!(
        context.span_id,
        [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]
    );
    assert_eq!(context.flags, 0x01);
    let sent = context.traceparent();
    let sent = sent.to_str().expect("ascii");
    assert!(sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
    assert!(sent.ends_with("-01"));
    assert!(parse_traceparent(sent.as_bytes()).is_some());
}

#[test]
fn unsampled_flag_is_kept_and_reserved_bits_are_cleared() {
    let unsampled = VALID.replace("-01", "-00");
    let context = TraceContext::from_headers(&headers(&[("traceparent", &unsampled)]));
    assert!(context.continued);
    assert_eq!(context.flags, 0x00);
    let extra_bits = VALID.replace("-01", "-fb");
    let context = TraceContext::from_headers(&headers(&[("traceparent", &extra_bits)]));
    assert!(context.continued);
    assert_eq!(context.flags, 0x01);
}

#[test]
fn absent_traceparent_starts_a_new_trace() {
    assert_new_trace(&TraceContext::from_headers(&HeaderMap::new()));
}

#[test]
fn malformed_traceparents_start_a_new_trace() {
    let cases = [
        "".to_string(),
        VALID.to_uppercase(),
        VALID.replace(
            "4bf92f3577b34da6a3ce929d0e0e4736",
            "00000000000000000000000000000000",
        ),
        VALID.replace("00f067aa0ba902b7", "0000000000000000"),
        VALID.replacen("00-", "ff-", 1),
        format!("{VALID}-extra"),
        format!("{VALID}x"),
        VALID[..54].to_string(),
        VALID.replace('-', "_"),
        VALID.replace("4bf9", "4bg9"),
        VALID.replacen("00-", "0-", 1),
        VALID.replace("-01", "-1"),
    ];
    for case in &cases {
        assert!(parse_traceparent(case.as_bytes()).is_none(), "{case}");
        let context = TraceContext::from_headers(&headers(&[
            ("traceparent", case),
            ("tracestate", "vendor=value"),
        ]));
        assert_new_trace(&context);
    }
}

#[test]
fn higher_versions_are_read_by_the_version_00_prefix() {
    let same_length = VALID.replacen("00-", "01-", 1);
    assert!(parse_traceparent(same_length.as_bytes()).is_some());
    let longer = format!("{}-future-fields", VALID.replacen("00-", "cc-", 1));
    let parsed = parse_traceparent(longer.as_bytes()).expect("future version parses");
    assert_eq!(parsed.version, 0xcc);
    let context = TraceContext::from_headers(&headers(&[("traceparent", &longer)]));
    assert!(context.continued);
    assert_eq!(context.trace_id_hex(), VALID_TRACE_ID);
    assert!(context.traceparent().as_bytes().starts_with(b"00-"));
    let no_dash = format!("{}x", VALID.replacen("00-", "cc-", 1));
    assert!(parse_traceparent(no_dash.as_bytes()).is_none());
}

#[test]
fn two_traceparent_headers_start_a_new_trace() {
    let context = TraceContext::from_headers(&headers(&[
        ("traceparent", VALID),
        ("traceparent", VALID),
        ("tracestate", "vendor=value"),
    ]));
    assert_new_trace(&context);
}

#[test]
fn tracestate_is_forwarded_only_beside_a_valid_traceparent() {
    let context = TraceContext::from_headers(&headers(&[
        ("traceparent", VALID),
        ("tracestate", "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"),
    ]));
    assert_eq!(
        context.tracestate.as_ref().map(HeaderValue::as_bytes),
        Some(&b"congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"[..])
    );
    let context = TraceContext::from_headers(&headers(&[("tracestate", "congo=t61rcWkgMzE")]));
    assert_new_trace(&context);
}

#[test]
fn multiple_tracestate_lines_are_joined() {
    let context = TraceContext::from_headers(&headers(&[
        ("traceparent", VALID),
        ("tracestate", "congo=t61rcWkgMzE"),
        ("tracestate", "rojo=00f067aa0ba902b7"),
    ]));
    assert_eq!(
        context.tracestate.as_ref().map(HeaderValue::as_bytes),
        Some(&b"congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"[..])
    );
}

#[test]
fn invalid_tracestate_is_dropped_but_the_trace_continues() {
    let too_many: Vec<String> = (0..33).map(|index| format!("k{index}=v")).collect();
    let too_long = format!("key={}", "v".repeat(600));
    let cases = [
        "novalue".to_string(),
        "UPPER=value".to_string(),
        "key=has,comma=x=y".to_string(),
        "dup=1,dup=2".to_string(),
        "1starts-with-digit=v".to_string(),
        "tenant@TOOLONGSYSTEMNAME=v".to_string(),
        too_many.join(","),
        too_long,
    ];
    for case in &cases {
        assert!(!is_valid_tracestate(case.as_bytes()), "{case}");
        let context =
            TraceContext::from_headers(&headers(&[("traceparent", VALID), ("tracestate", case)]));
        assert!(context.continued);
        assert!(context.tracestate.is_none(), "{case}");
    }
    for valid in [
        "",
        "a=b",
        "a=b, ,c=d",
        "tenant@sys=x y",
        "0t@s=1",
        "a-*/_=v",
    ] {
        assert!(is_valid_tracestate(valid.as_bytes()), "{valid}");
    }
}

#[test]
fn new_traces_differ() {
    let first = TraceContext::new_root();
    let second = TraceContext::new_root();
    assert_ne!(first.trace_id, second.trace_id);
    assert_ne!(first.span_id, second.span_id);
}

proptest! {
    /// Same property as the `traceparent` fuzz target: arbitrary bytes never panic, and
    /// whatever comes out is a valid version-00 `traceparent`.
    #[test]
    fn arbitrary_traceparent_yields_a_valid_context(raw in proptest::collection::vec(any::<u8>(), 0..80)) {
        let mut map = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(&raw) {
            map.insert(TRACEPARENT, value.clone());
            map.insert(TRACESTATE, value);
        }
        check_context(&TraceContext::from_headers(&map));
    }

    /// Near-valid inputs exercise the parser's field checks rather than its length check.
    #[test]
    fn mutated_traceparent_yields_a_valid_context(index in 0usize..55, byte in any::<u8>()) {
        let mut raw = VALID.as_bytes().to_vec();
        raw[index] = byte;
        if let Some(parsed) = parse_traceparent(&raw) {
            prop_assert_ne!(parsed.trace_id, [0; 16]);
            prop_assert_ne!(parsed.parent_id, [0; 8]);
        }
        let mut map = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(&raw) {
            map.insert(TRACEPARENT, value);
        }
        check_context(&TraceContext::from_headers(&map));
    }
}

fn check_context(context: &TraceContext) {
    let sent = context.traceparent();
    let parsed = parse_traceparent(sent.as_bytes()).expect("outgoing traceparent is valid");
    assert_eq!(parsed.version, 0);
    assert_eq!(parsed.trace_id, context.trace_id);
    assert_eq!(parsed.parent_id, context.span_id);
    assert_eq!(parsed.flags & !FLAG_SAMPLED, 0);
    if let Some(state) = &context.tracestate {
        assert!(context.continued);
        assert!(is_valid_tracestate(state.as_bytes()));
    }
}
