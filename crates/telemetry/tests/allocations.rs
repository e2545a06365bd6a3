//! The per-request calls stay within their allocation budget (DESIGN §9): counted with a
//! global allocator that tallies allocations made by the current thread only, so tests
//! running in parallel do not disturb each other.
// A `GlobalAlloc` implementation is necessarily `unsafe`; it only forwards to `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method, Uri};
use portcullis_telemetry::access_log::{
    AccessLog, AccessRecord, LineFormatter, Text, TraceId, INLINE_CAPACITY,
};
use portcullis_telemetry::metrics::Metrics;
use portcullis_telemetry::request_id::request_id_from;
use portcullis_telemetry::trace::TraceContext;

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations_during<T>(work: impl FnOnce() -> T) -> (usize, T) {
    let before = ALLOCATIONS.with(Cell::get);
    let result = work();
    (ALLOCATIONS.with(Cell::get) - before, result)
}

#[test]
fn observe_does_not_allocate_once_a_pair_was_seen() {
    let metrics = Metrics::new();
    let route = metrics.route("orders");
    let upstream = metrics.upstream("api");
    route.observe(&Method::GET, 200, Duration::from_millis(3));
    route.rejected("rate_limited");
    let (count, ()) = allocations_during(|| {
        for _ in 0..1_000 {
            route.observe(&Method::GET, 200, Duration::from_millis(3));
            route.rejected("rate_limited");
            upstream.observe_latency(Duration::from_millis(2));
            metrics.in_flight_inc();
            metrics.in_flight_dec();
        }
    });
    assert_eq!(count, 0);
}

#[test]
fn request_ids_allocate_at_most_the_value() {
    let warm_up = request_id_from(None);
    let incoming = HeaderValue::from_static("req_123");
    let (count, kept) = allocations_during(|| request_id_from(Some(&incoming)));
    assert_eq!(kept, incoming);
    assert_eq!(count, 0);
    let invalid = HeaderValue::from_static("not valid");
    let (count, generated) = allocations_during(|| request_id_from(Some(&invalid)));
    assert_ne!(generated, warm_up);
    assert!(count <= 1, "{count} allocations");
}

#[test]
fn trace_context_allocates_at_most_its_header_values() {
    let _ = TraceContext::new_root();
    let mut headers = HeaderMap::new();
    headers.insert(
        "traceparent",
        HeaderValue::from_static("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
    );
    headers.insert("tracestate", HeaderValue::from_static("congo=t61rcWkgMzE"));
    let (count, context) = allocations_during(|| TraceContext::from_headers(&headers));
    assert!(context.continued);
    assert!(context.tracestate.is_some());
    assert_eq!(count, 0);
    let (count, _) = allocations_during(|| context.traceparent());
    assert!(count <= 1, "{count} allocations");
}

#[test]
fn logging_a_record_does_not_allocate() {
    let (log, guard) =
        AccessLog::start_with_writer(Box::new(std::io::sink()), 64, Metrics::new()).expect("start");
    let record = AccessRecord {
        timestamp_ms: 0,
        request_id: Text::from("req"),
        trace_id: Some(TraceId::from([7; 16])),
        route: Some(Arc::from("orders")),
        tenant_id: None,
        principal: None,
        method: Text::from("GET"),
        path: Text::from("/"),
        status: 200,
        upstream: None,
        upstream_version: None,
        latency_ms: 1.0,
        rate_limited: false,
        config_version: 1,
        client_addr: "127.0.0.1:1".parse().expect("address"),
        bytes_in: 0,
        bytes_out: 0,
        error: None,
    };
    let copy = record.clone();
    let (count, ()) = allocations_during(|| log.log(copy));
    assert_eq!(count, 0);
    drop(record);
    guard.finish();
}

/// What the proxy does per request: copy the request's values into a record. Values up to
/// the inline capacity (a generated request id, a method, a typical path, tenant and key
/// id) cost no allocation; longer ones one each.
#[test]
fn building_a_record_from_request_values_does_not_allocate() {
    let request_id = request_id_from(None);
    let method = Method::POST;
    let uri = Uri::from_static("/v1/tenants/acme/orders/12345/items?expand=all");
    let tenant = String::from("tenant_abc");
    let route: Arc<str> = Arc::from("orders");
    let (count, record) = allocations_during(|| AccessRecord {
        timestamp_ms: 1,
        request_id: Text::from(request_id.to_str().unwrap_or_default()),
        trace_id: Some(TraceId::from([1; 16])),
        route: Some(Arc::clone(&route)),
        tenant_id: Some(Text::from(tenant.as_str())),
        principal: Some(Text::from("key-7")),
        method: Text::from(method.as_str()),
        path: Text::from(uri.path()),
        status: 201,
        upstream: None,
        upstream_version: None,
        latency_ms: 1.0,
        rate_limited: false,
        config_version: 1,
        client_addr: "127.0.0.1:1".parse().expect("address"),
        bytes_in: 0,
        bytes_out: 0,
        error: None,
    });
    assert_eq!(count, 0);
    assert_eq!(record.path, uri.path());
    let long = "x".repeat(INLINE_CAPACITY + 1);
    let (count, _) = allocations_during(|| Text::from(long.as_str()));
    assert_eq!(count, 1);
}

/// The writer thread formats records into a reused buffer: no allocation per line once
/// the buffer has grown.
#[test]
fn formatting_a_line_does_not_allocate() {
    let record = AccessRecord {
        timestamp_ms: 1_714_564_800_123,
        request_id: Text::from("req_1"),
        trace_id: Some(TraceId::from([0xab; 16])),
        route: Some(Arc::from("orders")),
        tenant_id: Some(Text::from("tenant \"quoted\"\n")),
        principal: None,
        method: Text::from("GET"),
        path: Text::copy_from(b"/caf\xe9"),
        status: 200,
        upstream: Some(Arc::from("api")),
        upstream_version: None,
        latency_ms: 12.345678,
        rate_limited: false,
        config_version: 9,
        client_addr: "[::1]:8080".parse().expect("address"),
        bytes_in: 10,
        bytes_out: 1024,
        error: Some("upstream_timeout"),
    };
    let mut formatter = LineFormatter::new();
    let mut output = Vec::with_capacity(64 * 1024);
    formatter
        .write_line(&mut output, &record)
        .expect("write to a Vec");
    let (count, ()) = allocations_during(|| {
        for _ in 0..100 {
            formatter
                .write_line(&mut output, &record)
                .expect("write to a Vec");
        }
    });
    assert_eq!(count, 0);
}
