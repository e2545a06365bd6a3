//! One access-log record, old (owned `String`s, serde_json + `time`) against new (inline
//! [`Text`] copies, hand-written writer): building it from the request's values as
//! `Completion::record` does (request thread), formatting it into the writer's buffer and
//! dropping it (writer thread), and both. The request is the one `bench/run.sh` sends
//! (anonymous `GET`, generated request id); `authenticated` adds a tenant and key id.
//!
//! `cargo bench -p portcullis-telemetry --bench access_line -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use http::{HeaderValue, Method, Uri};
use portcullis_telemetry::access_log::{AccessRecord, LineFormatter, Text, TraceId};
use portcullis_telemetry::request_id::request_id_from;

#[allow(dead_code)]
#[path = "../tests/oracle/mod.rs"]
mod oracle;

use oracle::{hex_lower, write_old_line, OldRecord};

/// What the request thread has when the response is done.
struct Request {
    started: Instant,
    request_id: HeaderValue,
    trace_id: [u8; 16],
    method: Method,
    uri: Uri,
    route: Option<Arc<str>>,
    upstream: Option<Arc<str>>,
    upstream_version: Option<Arc<str>>,
    /// (tenant, key id) of an authenticated request.
    principal: Option<(String, String)>,
    client_addr: SocketAddr,
}

impl Request {
    fn new(authenticated: bool) -> Request {
        Request {
            started: Instant::now(),
            request_id: request_id_from(None),
            trace_id: *b"\x4b\xf9\x2f\x35\x77\xb3\x4d\xa6\xa3\xce\x92\x9d\x0e\x0e\x47\x36",
            method: Method::GET,
            uri: Uri::from_static("/v1/orders/12345?expand=items"),
            route: Some(Arc::from("plain")),
            upstream: Some(Arc::from("origin")),
            upstream_version: Some(Arc::from("default")),
            principal: authenticated.then(|| ("tenant_abc".to_owned(), "key-7".to_owned())),
            client_addr: "127.0.0.1:50432".parse().expect("address"),
        }
    }

    /// The old `Completion::record`.
    fn old_record(&self) -> OldRecord {
        OldRecord {
            timestamp_ms: 1_714_564_800_123,
            request_id: self.request_id.to_str().unwrap_or_default().to_string(),
            trace_id: hex_lower(&self.trace_id),
            route: self.route.clone(),
            tenant_id: self.principal.as_ref().map(|(tenant, _)| tenant.clone()),
            principal: self.principal.as_ref().map(|(_, key_id)| key_id.clone()),
            method: self.method.as_str().to_string(),
            path: self.uri.path().to_string(),
            status: 200,
            upstream: self.upstream.clone(),
            upstream_version: self.upstream_version.clone(),
            latency_ms: self.started.elapsed().as_secs_f64() * 1000.0,
            rate_limited: false,
            config_version: 1,
            client_addr: self.client_addr,
            bytes_in: 0,
            bytes_out: 1024,
            error: None,
        }
    }

    /// The new `Completion::record`.
    fn new_record(&self) -> AccessRecord {
        AccessRecord {
            timestamp_ms: 1_714_564_800_123,
            request_id: Text::from(self.request_id.to_str().unwrap_or_default()),
            trace_id: Some(TraceId::from(self.trace_id)),
            route: self.route.clone(),
            tenant_id: self
                .principal
                .as_ref()
                .map(|(tenant, _)| Text::from(tenant.as_str())),
            principal: self
                .principal
                .as_ref()
                .map(|(_, key_id)| Text::from(key_id.as_str())),
            method: Text::from(self.method.as_str()),
            path: Text::from(self.uri.path()),
            status: 200,
            upstream: self.upstream.clone(),
            upstream_version: self.upstream_version.clone(),
            latency_ms: self.started.elapsed().as_secs_f64() * 1000.0,
            rate_limited: false,
            config_version: 1,
            client_addr: self.client_addr,
            bytes_in: 0,
            bytes_out: 1024,
            error: None,
        }
    }
}

fn bench_scenario(c: &mut Criterion, name: &str, request: &Request) {
    let mut group = c.benchmark_group(name);
    let mut buffer = Vec::with_capacity(64 * 1024);

    group.bench_function("build/old", |b| b.iter(|| black_box(request.old_record())));
    group.bench_function("build/new", |b| b.iter(|| black_box(request.new_record())));

    let old = request.old_record();
    group.bench_function("format/old", |b| {
        b.iter(|| {
            buffer.clear();
            write_old_line(&mut buffer, black_box(&old));
        })
    });
    let new = request.new_record();
    let mut formatter = LineFormatter::new();
    group.bench_function("format/new", |b| {
        b.iter(|| {
            buffer.clear();
            formatter.format(black_box(&new), &mut buffer);
        })
    });

    // Build on one side, format and drop on the other, as the two threads do per record.
    group.bench_function("build_format_drop/old", |b| {
        b.iter(|| {
            let record = request.old_record();
            buffer.clear();
            write_old_line(&mut buffer, &record);
            drop(black_box(record));
        })
    });
    group.bench_function("build_format_drop/new", |b| {
        b.iter(|| {
            let record = request.new_record();
            buffer.clear();
            formatter.format(&record, &mut buffer);
            drop(black_box(record));
        })
    });
    group.bench_function("build_drop_elsewhere/old", |b| {
        b.iter_custom(|iterations| built_and_dropped_elsewhere(iterations, || request.old_record()))
    });
    group.bench_function("build_drop_elsewhere/new", |b| {
        b.iter_custom(|iterations| built_and_dropped_elsewhere(iterations, || request.new_record()))
    });
    group.finish();
}

/// Time to build `iterations` records when, as in the gateway, another thread frees them:
/// with glibc's allocator the building thread's cache of freed blocks then never refills,
/// which the same-thread `build` benchmark hides. Records go over in batches; only the
/// building is timed.
fn built_and_dropped_elsewhere<R: Send + 'static>(
    iterations: u64,
    build: impl Fn() -> R,
) -> Duration {
    const BATCH: usize = 256;
    let (to_dropper, batches) = mpsc::sync_channel::<Vec<R>>(2);
    let (to_builder, empties) = mpsc::sync_channel::<Vec<R>>(2);
    let dropper = std::thread::spawn(move || {
        for mut batch in batches {
            batch.clear();
            if to_builder.send(batch).is_err() {
                break;
            }
        }
    });
    let mut spare = Some(Vec::with_capacity(BATCH));
    let mut elapsed = Duration::ZERO;
    let mut remaining = iterations;
    while remaining > 0 {
        let mut batch = spare
            .take()
            .unwrap_or_else(|| empties.recv().expect("dropper thread alive"));
        let count = remaining.min(BATCH as u64);
        let started = Instant::now();
        for _ in 0..count {
            batch.push(build());
        }
        elapsed += started.elapsed();
        remaining -= count;
        to_dropper.send(batch).expect("dropper thread alive");
    }
    drop(to_dropper);
    dropper.join().expect("dropper thread");
    elapsed
}

fn access_line(c: &mut Criterion) {
    bench_scenario(c, "anonymous", &Request::new(false));
    bench_scenario(c, "authenticated", &Request::new(true));
}

criterion_group!(benches, access_line);
criterion_main!(benches);
