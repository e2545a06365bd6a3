//! What the tracker tells the pipeline: refusal fields, the synthetic request, the shared
//! slots.

use super::*;

#[test]
fn refusals_locate_the_fields_the_access_log_needs() {
    let input = [
        GET,
        b"POST /smuggle?q=1 HTTP/1.1\r\nX-Request-Id: abc-123\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    ]
    .concat();
    let mut tracker = Tracker::new(LIMITS);
    let step = tracker.feed(&input);
    assert_eq!(step.pass, GET.len());
    let Then::Refuse(refusal) = step.then else {
        panic!("refused: {step:?}")
    };
    let message = &input[step.pass..];
    let fields = refusal.fields.clone().expect("fields");
    assert_eq!(&message[fields.method.clone()], b"POST");
    assert_eq!(&message[fields.target.clone()], b"/smuggle?q=1");
    assert_eq!(&message[fields.request_id.clone().expect("id")], b"abc-123");
    let refused = Refused::new(7, &refusal, message);
    assert_eq!(refused.method, Some(Method::POST));
    assert_eq!(refused.target.expect("target").path(), "/smuggle");
    assert_eq!(refused.request_id.expect("id"), "abc-123");
    // The tracker is finished: it says the same again and never passes more.
    assert_eq!(tracker.feed(b"GET / HTTP/1.1\r\n\r\n").pass, 0);
}

#[test]
fn the_synthetic_request_carries_the_nonce_and_parses() {
    let nonce = 0x0123_4567_89ab_cdef_0011_2233_4455_6677_u128;
    let request = synthetic_request(nonce);
    let mut headers = [httparse::EMPTY_HEADER; 4];
    let mut parsed = httparse::Request::new(&mut headers);
    assert_eq!(
        parsed.parse(&request).expect("parses"),
        httparse::Status::Complete(request.len())
    );
    assert_eq!(parsed.method, Some(REFUSED_METHOD));
    let value = parsed
        .headers
        .iter()
        .find(|header| header.name == NONCE_HEADER.as_str())
        .expect("nonce header")
        .value;
    let value = HeaderValue::from_bytes(value).expect("value");
    assert_eq!(parse_nonce(&value), Some(nonce));
    // The tracker itself accepts it (it is a plain request).
    assert_eq!(
        run(&request),
        Outcome {
            passed: request.len(),
            end: End::Open(0)
        }
    );
}

#[test]
fn a_refusal_is_taken_only_by_its_own_synthetic_request() {
    let shared = Shared::default();
    let refusal = Refusal {
        reason: Reason::HeadTooLarge,
        fields: None,
    };
    shared.set_refused(Refused::new(42, &refusal, b""));
    let parts = |method: &str, nonce: Option<u128>| {
        let mut builder = http::Request::builder().method(method).uri("/");
        if let Some(nonce) = nonce {
            builder = builder.header(&NONCE_HEADER, format!("{nonce:032x}"));
        }
        builder.body(()).expect("request").into_parts().0
    };
    assert!(shared.take_refused(&parts("GET", Some(42))).is_none());
    assert!(shared.take_refused(&parts(REFUSED_METHOD, None)).is_none());
    assert!(shared
        .take_refused(&parts(REFUSED_METHOD, Some(41)))
        .is_none());
    let taken = shared
        .take_refused(&parts(REFUSED_METHOD, Some(42)))
        .expect("taken");
    assert_eq!(taken.reason, Reason::HeadTooLarge);
    assert!(shared
        .take_refused(&parts(REFUSED_METHOD, Some(42)))
        .is_none());
}

#[test]
fn upgrade_outcomes_wake_the_guard_once() {
    use std::sync::atomic::AtomicUsize;
    use std::task::Wake;
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let count = Arc::new(Count(AtomicUsize::new(0)));
    let waker = Waker::from(Arc::clone(&count));
    let shared = Shared::default();
    // Nothing awaited: a report is ignored.
    shared.resolve_upgrade(true);
    assert_eq!(shared.upgrade_outcome(&waker), None);
    shared.await_upgrade();
    assert_eq!(shared.upgrade_outcome(&waker), None);
    shared.resolve_upgrade(false);
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert_eq!(shared.upgrade_outcome(&waker), Some(false));
    // Declined frees the slot for the next request that asks.
    shared.await_upgrade();
    shared.resolve_upgrade(true);
    assert_eq!(shared.upgrade_outcome(&waker), Some(true));
    assert_eq!(shared.upgrade_outcome(&waker), Some(true));
}
