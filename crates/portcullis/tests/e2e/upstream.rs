//! Upstreams for the end-to-end tests (from `portcullis-testkit`), and a client-side body
//! generator for large uploads.

use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
pub use portcullis_testkit::MockUpstream;

const CHUNK: usize = 64 * 1024;

/// An upstream that answers every request with its `name`.
pub async fn named(name: &'static str) -> MockUpstream {
    MockUpstream::builder().body(name).start().await
}

/// An upstream that waits `delay` before answering `"<name> slow done"`.
pub async fn slow(name: &'static str, delay: Duration) -> MockUpstream {
    MockUpstream::builder()
        .body(format!("{name} slow done"))
        .delay(delay)
        .start()
        .await
}

/// A request body of `total` bytes produced chunk by chunk, never held whole.
pub fn generated_body(total: u64) -> BoxBody<Bytes, std::convert::Infallible> {
    let chunk = Bytes::from(vec![b'x'; CHUNK]);
    let chunks = stream::unfold(total, move |remaining| {
        let chunk = chunk.clone();
        async move {
            if remaining == 0 {
                return None;
            }
            let size = remaining.min(CHUNK as u64);
            let frame = Frame::data(chunk.slice(..size as usize));
            Some((Ok(frame), remaining - size))
        }
    });
    StreamBody::new(chunks).boxed()
}
