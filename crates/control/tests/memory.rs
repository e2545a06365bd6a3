//! What the control plane keeps in memory, counted by this test binary's allocator.
//!
//! A held snapshot long-poll keeps only its connection (hyper's buffers, the connection task,
//! the waiting handler): no copy of the router, of the snapshot, or of any per-request buffer.
//! A replica holds 1,000 idle long-polls in 64 MiB only while that holds. And a large
//! configuration, once pushed, validated and read back, leaves nothing of its size behind
//! (the store's connections shrink their socket buffers when they go back to the pool; the
//! last large message a connection read goes when it reads its next one).

#![allow(unsafe_code)]

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::net::TcpStream;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use serde_json::{json, Value};
use support::{Backend, Harness, Storage};

/// The system allocator, counting the bytes allocated and not yet freed.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only a counter is updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        unsafe { System.dealloc(pointer, layout) };
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            LIVE_BYTES.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Measured at about 29 KiB: hyper's read buffer (16 KiB once the protocol sniff's bytes are
/// handed back) and write buffer (8 KiB), the connection task and the waiting handler.
/// Serving the `Router` without `into_make_service` added a copy of the route table to every
/// connection (about 41 KiB in all); a copy of the published snapshot would add its size.
const MAX_BYTES_PER_HELD_POLL: isize = 34 * 1024;

const HELD: usize = 200;

/// The tests run one at a time: they share the counter.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What a large push, its validation and a read of it may leave behind: small, bounded
/// things (statement caches, connection state), never a buffer of the document's size.
const MAX_BYTES_LEFT_BY_A_LARGE_PUSH: isize = 256 * 1024;

both_backends!(
    a_held_long_poll_keeps_only_its_connection,
    a_large_push_leaves_no_buffer_of_its_size,
);

/// A configuration of `count` routes (its snapshot is about 70 KiB with 200).
fn config_with_routes(count: usize) -> Value {
    let routes: Vec<Value> = (0..count)
        .map(|n| {
            json!({
                "name": format!("route-{n}"),
                "match": {"pathPrefix": format!("/svc/{n}")},
                "upstream": {"service": "origin"},
                "policies": {"auth": "none", "timeoutMs": 1000}
            })
        })
        .collect();
    json!({
        "routes": routes,
        "services": {"origin": {"visibility": "public", "endpoints": ["127.0.0.1:9001"]}}
    })
}

/// `count` connections, each with one long-poll sent and nothing read.
async fn open_polls(harness: &Harness, token: &str, known: &str, count: usize) -> Vec<TcpStream> {
    let address = harness.control().local_addr();
    let request = format!(
        "GET /v1/dataplane/snapshot?environment=production&pool=default&known={known} \
         HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\n\r\n"
    );
    tokio::task::spawn_blocking(move || {
        (0..count)
            .map(|_| {
                let mut stream = TcpStream::connect(address).expect("connect");
                stream.write_all(request.as_bytes()).expect("send");
                stream
            })
            .collect()
    })
    .await
    .expect("connections")
}

/// True when no connection has received anything: every poll is still held.
fn none_answered(polls: &[TcpStream]) -> bool {
    polls.iter().all(|stream| {
        stream.set_nonblocking(true).expect("non-blocking");
        let mut byte = [0u8; 1];
        matches!(stream.peek(&mut byte), Err(error) if error.kind() == std::io::ErrorKind::WouldBlock)
    })
}

async fn a_held_long_poll_keeps_only_its_connection(backend: Backend) {
    let _alone = ONE_AT_A_TIME.lock().await;
    let Some(storage) = Storage::new(backend).await else {
        return;
    };
    let mut settings = storage.settings();
    settings.long_poll = Duration::from_secs(120);
    let harness = Harness::start_with(storage, settings).await;
    let dataplane = harness.token("dp-memory", "dataplane").await;
    let version = harness
        .activate_new("production", &harness.admin, &config_with_routes(200))
        .await;
    let (_, found) = harness
        .get(&format!("/v1/versions/{version}"), &harness.admin)
        .await;
    let known = found["checksum"].as_str().expect("checksum").to_string();

    // Warm up whatever is made once (pool connections, lazily built tables), then count.
    let warm = open_polls(&harness, &dataplane, &known, 20).await;
    harness.long_polls_held("production", 20).await;
    drop(warm);
    harness.long_polls_held("production", 0).await;

    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let polls = open_polls(&harness, &dataplane, &known, HELD).await;
    harness.long_polls_held("production", HELD).await;
    let held = LIVE_BYTES.load(Ordering::Relaxed);
    assert!(none_answered(&polls), "every poll is held, none answered");
    let per_poll = (held - before) / HELD as isize;
    println!("{backend:?}: {per_poll} bytes of heap per held long-poll");
    assert!(
        per_poll <= MAX_BYTES_PER_HELD_POLL,
        "a held long-poll keeps {per_poll} bytes (at most {MAX_BYTES_PER_HELD_POLL}): \
         something per connection or per request is kept while it waits"
    );
    drop(polls);
    harness.stop().await;
}

async fn a_large_push_leaves_no_buffer_of_its_size(backend: Backend) {
    let _alone = ONE_AT_A_TIME.lock().await;
    let Some(mut harness) = Harness::start(backend).await else {
        return;
    };
    // A connection per request: a kept-alive connection would keep the buffers hyper grew
    // for the large bodies, which are not the store's.
    harness.client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let cycle = |config: Value| {
        let harness = &harness;
        async move {
            let version = harness.push("production", &harness.admin, &config).await;
            let (status, report) = harness
                .post(
                    &format!("/v1/versions/{version}/validate"),
                    &harness.admin,
                    &json!({}),
                )
                .await;
            assert_eq!(status, reqwest::StatusCode::OK, "{report}");
            let (status, found) = harness
                .get(&format!("/v1/versions/{version}"), &harness.admin)
                .await;
            assert_eq!(status, reqwest::StatusCode::OK, "{found}");
        }
    };
    // Prepared statements and other first-use state.
    cycle(config_with_routes(10)).await;

    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let large = config_with_routes(4000);
    let size = large.to_string().len();
    cycle(large).await;
    // A connection frees the last large message it read when it reads the next one; every
    // request's token lookup is one, so a few small requests reach every pooled connection.
    for _ in 0..12 {
        let (status, _) = harness.get("/v1/whoami", &harness.admin).await;
        assert_eq!(status, reqwest::StatusCode::OK);
    }
    let left = LIVE_BYTES.load(Ordering::Relaxed) - before;
    println!("{backend:?}: a {size}-byte push, validated and read back, left {left} bytes");
    assert!(
        left <= MAX_BYTES_LEFT_BY_A_LARGE_PUSH,
        "a {size}-byte configuration left {left} bytes behind (at most \
         {MAX_BYTES_LEFT_BY_A_LARGE_PUSH}): a buffer grown for it is kept"
    );
    harness.stop().await;
}
