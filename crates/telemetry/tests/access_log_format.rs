//! The hand-written access-log writer produces, byte for byte, the line the serde_json +
//! `time` writer it replaced produced (kept in `oracle/` as the reference), for random
//! records: arbitrary Unicode and control characters in every string, bytes that are not
//! UTF-8, absent and present options, any number, any address, timestamps across and
//! beyond the representable range, one formatter over many records (the cached second).

mod oracle;

use std::net::SocketAddr;
use std::sync::Arc;

use portcullis_telemetry::access_log::{
    AccessRecord, LineFormatter, Text, TraceId, INLINE_CAPACITY,
};
use proptest::prelude::*;

/// Characters that stress escaping, mixed with ordinary ones.
fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        3 => any::<char>(),
        2 => (0u8..0x20).prop_map(char::from),
        2 => proptest::sample::select(vec![
            '"', '\\', '/', '\u{7f}', '\u{80}', 'é', '\u{2028}', '\u{fffd}', '\u{10ffff}', '😀',
        ]),
    ]
}

fn any_string() -> impl Strategy<Value = String> {
    // Up to twice the inline capacity: both the inline and the heap representation.
    proptest::collection::vec(any_char(), 0..2 * INLINE_CAPACITY)
        .prop_map(|chars| chars.into_iter().collect())
}

/// Text built every way a caller can, including bytes that are not UTF-8.
fn any_text() -> impl Strategy<Value = Text> {
    prop_oneof![
        4 => any_string().prop_map(|text| Text::from(text.as_str())),
        1 => any_string().prop_map(|text| Text::copy_from(text.as_bytes())),
        2 => proptest::collection::vec(any::<u8>(), 0..2 * INLINE_CAPACITY)
            .prop_map(|bytes| Text::copy_from(&bytes)),
        1 => Just(Text::from("-")),
    ]
}

fn any_shared() -> impl Strategy<Value = Option<Arc<str>>> {
    proptest::option::of(any_string().prop_map(Arc::from))
}

fn any_timestamp() -> impl Strategy<Value = u64> {
    prop_oneof![
        // A few seconds: repeats of the cached second and moves in both directions.
        4 => 1_714_564_799_000u64..1_714_564_803_000,
        2 => 0u64..=253_402_300_799_999,
        2 => 253_402_300_798_000u64..253_402_300_801_000,
        1 => any::<u64>(),
    ]
}

fn any_latency() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => (0u64..10_000_000).prop_map(|micros| micros as f64 / 1000.0),
        3 => 0.0f64..100_000.0,
        1 => 0.0f64..0.01,
        1 => 1e12f64..1e22,
        1 => any::<f64>(),
        1 => proptest::sample::select(vec![
            0.0, -0.0, 0.0005, 0.0004999, 1e-7, f64::NAN, f64::INFINITY, f64::NEG_INFINITY,
            f64::MAX, f64::MIN_POSITIVE,
        ]),
    ]
}

fn any_error() -> impl Strategy<Value = Option<&'static str>> {
    proptest::option::of(proptest::sample::select(vec![
        "rate_limited",
        "upstream_timeout",
        "client_closed_request",
        "odd \"code\"\\\n\u{1}é",
    ]))
}

prop_compose! {
    fn any_record()(
        (timestamp_ms, request_id, trace_id, route, tenant_id, principal) in (
            any_timestamp(),
            any_text(),
            proptest::option::of(any::<[u8; 16]>().prop_map(TraceId::from)),
            any_shared(),
            proptest::option::of(any_text()),
            proptest::option::of(any_text()),
        ),
        (method, path, status, upstream, upstream_version, latency_ms) in (
            any_text(),
            any_text(),
            any::<u16>(),
            any_shared(),
            any_shared(),
            any_latency(),
        ),
        (rate_limited, config_version, client_addr, bytes_in, bytes_out, error) in (
            any::<bool>(),
            any::<u64>(),
            any::<SocketAddr>(),
            any::<u64>(),
            any::<u64>(),
            any_error(),
        ),
    ) -> AccessRecord {
        AccessRecord {
            timestamp_ms,
            request_id,
            trace_id,
            route,
            tenant_id,
            principal,
            method,
            path,
            status,
            upstream,
            upstream_version,
            latency_ms,
            rate_limited,
            config_version,
            client_addr,
            bytes_in,
            bytes_out,
            error,
        }
    }
}

fn oracle_line(record: &AccessRecord) -> Vec<u8> {
    let mut line = Vec::new();
    oracle::write_old_line(&mut line, &oracle::old_record(record));
    line
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn lines_match_the_serde_json_writer(
        records in proptest::collection::vec(any_record(), 1..8),
    ) {
        let mut formatter = LineFormatter::new();
        let mut written = Vec::new();
        for record in &records {
            let mut line = Vec::new();
            formatter.format(record, &mut line);
            let expected = oracle_line(record);
            prop_assert_eq!(
                String::from_utf8_lossy(&line),
                String::from_utf8_lossy(&expected)
            );
            prop_assert_eq!(&line, &expected);
            // One line, and it is JSON.
            prop_assert_eq!(line.iter().filter(|&&byte| byte == b'\n').count(), 1);
            prop_assert_eq!(line.last(), Some(&b'\n'));
            let parsed: serde_json::Value =
                serde_json::from_slice(&line).expect("each line is JSON");
            prop_assert!(parsed.is_object());
            formatter
                .write_line(&mut written, record)
                .expect("writing to a Vec cannot fail");
        }
        // `write_line` writes what `format` formats.
        let expected: Vec<u8> = records.iter().flat_map(oracle_line).collect();
        prop_assert_eq!(written, expected);
    }
}

#[test]
fn text_that_is_not_utf8_is_replaced_and_stays_json() {
    let record = AccessRecord {
        timestamp_ms: 1_714_564_800_123,
        request_id: Text::copy_from(b"req\xff\xfe"),
        trace_id: None,
        route: None,
        tenant_id: Some(Text::copy_from(b"t\xc3")),
        principal: Some(Text::copy_from(b"\xe2\x82\"")),
        method: Text::copy_from(b"GET"),
        path: Text::copy_from(b"/caf\xe9"),
        status: 200,
        upstream: None,
        upstream_version: None,
        latency_ms: 1.5,
        rate_limited: false,
        config_version: 1,
        client_addr: "127.0.0.1:1".parse().expect("address"),
        bytes_in: 0,
        bytes_out: 0,
        error: None,
    };
    let mut line = Vec::new();
    LineFormatter::new().format(&record, &mut line);
    assert_eq!(line, oracle_line(&record));
    let parsed: serde_json::Value = serde_json::from_slice(&line).expect("JSON");
    assert_eq!(parsed["requestId"], "req\u{fffd}\u{fffd}");
    assert_eq!(parsed["tenantId"], "t\u{fffd}");
    assert_eq!(parsed["principal"], "\u{fffd}\"");
    assert_eq!(parsed["path"], "/caf\u{fffd}");
}

/// The queue preallocates one slot per record of `queueCapacity` (65,536 by default): a
/// record was 288 bytes with `String`s and is 408 with inline [`Text`] (about 7.5 MiB more
/// at the default capacity, the price of building records without allocating). Growing it
/// further should be a decision, not an accident.
#[cfg(target_pointer_width = "64")]
#[test]
fn records_stay_small() {
    let size = std::mem::size_of::<AccessRecord>();
    assert!(size <= 408, "{size} bytes");
}
