use std::io::Write;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::*;

const EVERY_KEY: [&str; 18] = [
    "timestamp",
    "requestId",
    "traceId",
    "route",
    "tenantId",
    "principal",
    "method",
    "path",
    "status",
    "upstream",
    "upstreamVersion",
    "latencyMs",
    "rateLimited",
    "configVersion",
    "clientAddr",
    "bytesIn",
    "bytesOut",
    "error",
];

fn record(request_id: &str) -> AccessRecord {
    AccessRecord {
        timestamp_ms: 1_714_564_800_123,
        request_id: Text::from(request_id),
        trace_id: Some(TraceId::from_bytes([
            0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e,
            0x47, 0x36,
        ])),
        route: Some("checkout-orders".into()),
        tenant_id: Some(Text::from("tenant_abc")),
        principal: Some(Text::from("key-7")),
        method: Text::from("POST"),
        path: Text::from("/v1/orders"),
        status: 201,
        upstream: Some("checkout-api".into()),
        upstream_version: Some("stable".into()),
        latency_ms: 84.0004,
        rate_limited: false,
        config_version: 42,
        client_addr: "127.0.0.1:50000".parse().expect("address"),
        bytes_in: 12,
        bytes_out: 1024,
        error: None,
    }
}

#[test]
fn trace_ids_round_trip() {
    let bytes: [u8; 16] = std::array::from_fn(|index| index as u8 * 17);
    assert_eq!(TraceId::from(bytes).to_bytes(), bytes);
}

fn formatted(record: &AccessRecord) -> String {
    let mut line = Vec::new();
    LineFormatter::new().format(record, &mut line);
    String::from_utf8(line).expect("UTF-8 line")
}

/// The exact bytes of a line, pinned independently of any serializer.
#[test]
fn lines_keep_their_exact_format() {
    assert_eq!(
        formatted(&record("req_1")),
        concat!(
            r#"{"timestamp":"2024-05-01T12:00:00.123Z","requestId":"req_1","#,
            r#""traceId":"4bf92f3577b34da6a3ce929d0e0e4736","route":"checkout-orders","#,
            r#""tenantId":"tenant_abc","principal":"key-7","method":"POST","path":"/v1/orders","#,
            r#""status":201,"upstream":"checkout-api","upstreamVersion":"stable","#,
            r#""latencyMs":84.0,"rateLimited":false,"configVersion":42,"#,
            r#""clientAddr":"127.0.0.1:50000","bytesIn":12,"bytesOut":1024,"error":null}"#,
            "\n"
        )
    );
    let refused = AccessRecord {
        trace_id: None,
        route: None,
        tenant_id: None,
        principal: None,
        method: Text::from("-"),
        path: Text::from("-"),
        status: 431,
        upstream: None,
        upstream_version: None,
        latency_ms: 0.0,
        rate_limited: true,
        client_addr: "[2001:db8::7]:443".parse().expect("address"),
        error: Some("headers_too_large"),
        ..record("req_2")
    };
    assert_eq!(
        formatted(&refused),
        concat!(
            r#"{"timestamp":"2024-05-01T12:00:00.123Z","requestId":"req_2","traceId":"","#,
            r#""route":null,"tenantId":null,"principal":null,"method":"-","path":"-","#,
            r#""status":431,"upstream":null,"upstreamVersion":null,"latencyMs":0.0,"#,
            r#""rateLimited":true,"configVersion":42,"clientAddr":"[2001:db8::7]:443","#,
            r#""bytesIn":12,"bytesOut":1024,"error":"headers_too_large"}"#,
            "\n"
        )
    );
}

/// A writer tests can read back.
#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedBuffer {
    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().expect("buffer lock").clone();
        String::from_utf8(bytes)
            .expect("utf-8 log")
            .lines()
            .map(|line| serde_json::from_str(line).expect("each line is JSON"))
            .collect()
    }
}

#[test]
fn lines_are_json_with_every_field() {
    let buffer = SharedBuffer::default();
    let metrics = Metrics::new();
    let (log, guard) =
        AccessLog::start_with_writer(Box::new(buffer.clone()), 16, metrics).expect("start");
    log.log(record("req_1"));
    let mut rejected = record("req_2");
    rejected.route = None;
    rejected.tenant_id = None;
    rejected.principal = None;
    rejected.upstream = None;
    rejected.upstream_version = None;
    rejected.status = 429;
    rejected.rate_limited = true;
    rejected.error = Some("rate_limited");
    log.log(rejected);
    guard.finish();

    let lines = buffer.lines();
    assert_eq!(lines.len(), 2);
    for line in &lines {
        let object = line.as_object().expect("object");
        let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected = EVERY_KEY.to_vec();
        expected.sort_unstable();
        assert_eq!(keys, expected);
    }
    let first = &lines[0];
    assert_eq!(first["timestamp"], "2024-05-01T12:00:00.123Z");
    assert_eq!(first["requestId"], "req_1");
    assert_eq!(first["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(first["route"], "checkout-orders");
    assert_eq!(first["tenantId"], "tenant_abc");
    assert_eq!(first["principal"], "key-7");
    assert_eq!(first["method"], "POST");
    assert_eq!(first["path"], "/v1/orders");
    assert_eq!(first["status"], 201);
    assert_eq!(first["upstream"], "checkout-api");
    assert_eq!(first["upstreamVersion"], "stable");
    assert_eq!(first["latencyMs"], 84.0);
    assert_eq!(first["rateLimited"], false);
    assert_eq!(first["configVersion"], 42);
    assert_eq!(first["clientAddr"], "127.0.0.1:50000");
    assert_eq!(first["bytesIn"], 12);
    assert_eq!(first["bytesOut"], 1024);
    assert_eq!(first["error"], Value::Null);
    let second = &lines[1];
    assert_eq!(second["route"], Value::Null);
    assert_eq!(second["upstream"], Value::Null);
    assert_eq!(second["rateLimited"], true);
    assert_eq!(second["error"], "rate_limited");
}

/// Blocks every write until released, telling the test when the writer got stuck.
struct GateWriter {
    entered: mpsc::Sender<()>,
    released: Arc<(Mutex<bool>, Condvar)>,
    sink: SharedBuffer,
}

impl Write for GateWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let _ = self.entered.send(());
        let (open, signal) = &*self.released;
        let mut open = open.lock().expect("gate lock");
        while !*open {
            open = signal.wait(open).expect("gate wait");
        }
        self.sink.write(bytes)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking() {
    let (entered_sender, entered) = mpsc::channel();
    let released = Arc::new((Mutex::new(false), Condvar::new()));
    let sink = SharedBuffer::default();
    let writer = GateWriter {
        entered: entered_sender,
        released: Arc::clone(&released),
        sink: sink.clone(),
    };
    let metrics = Metrics::new();
    let capacity = 4;
    let (log, guard) =
        AccessLog::start_with_writer(Box::new(writer), capacity, Arc::clone(&metrics))
            .expect("start");

    // The writer takes the first record, finds the queue empty, flushes and gets stuck.
    log.log(record("stuck"));
    entered
        .recv_timeout(Duration::from_secs(10))
        .expect("writer reached the destination");

    let started = Instant::now();
    for index in 0..capacity + 3 {
        log.log(record(&format!("req_{index}")));
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(1),
        "log blocked for {elapsed:?}"
    );
    assert_eq!(metrics.access_log_dropped_count(), 3);
    assert!(metrics
        .encode()
        .contains("portcullis_access_log_dropped_total 3\n"));

    let (open, signal) = &*released;
    *open.lock().expect("gate lock") = true;
    signal.notify_all();
    guard.finish();
    let ids: Vec<String> = sink
        .lines()
        .iter()
        .map(|line| line["requestId"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids, ["stuck", "req_0", "req_1", "req_2", "req_3"]);
}

#[test]
fn finish_flushes_everything_and_files_are_appended() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("access.log");
    for round in 0..2 {
        let destination = Destination::parse(path.to_str().expect("utf-8 path"));
        let (log, guard) = AccessLog::start(destination, 1024, Metrics::new()).expect("start");
        for index in 0..100 {
            log.log(record(&format!("round{round}_{index}")));
        }
        guard.finish();
    }
    let text = std::fs::read_to_string(&path).expect("log file");
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 200);
    assert_eq!(lines[0]["requestId"], "round0_0");
    assert_eq!(lines[199]["requestId"], "round1_99");
}

#[test]
fn dropping_the_guard_flushes_and_later_records_are_counted_as_dropped() {
    let buffer = SharedBuffer::default();
    let metrics = Metrics::new();
    let (log, guard) =
        AccessLog::start_with_writer(Box::new(buffer.clone()), 8, Arc::clone(&metrics))
            .expect("start");
    log.log(record("before"));
    drop(guard);
    assert_eq!(buffer.lines().len(), 1);
    log.log(record("after"));
    assert_eq!(metrics.access_log_dropped_count(), 1);
    assert_eq!(buffer.lines().len(), 1);
}

#[test]
fn disabled_log_discards() {
    let log = AccessLog::disabled();
    assert!(!log.is_enabled());
    log.log(record("ignored"));
}

#[test]
fn destinations_parse() {
    assert_eq!(Destination::parse("stdout"), Destination::Stdout);
    assert_eq!(Destination::parse("-"), Destination::Stdout);
    assert_eq!(Destination::parse("stderr"), Destination::Stderr);
    assert_eq!(
        Destination::parse("/var/log/portcullis.log"),
        Destination::File("/var/log/portcullis.log".into())
    );
}
