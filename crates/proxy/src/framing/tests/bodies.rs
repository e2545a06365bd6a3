//! Bodies, the HTTP/2 preface and protocol switches.

use super::*;

const CHUNKED_HEAD: &[u8] = b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";

fn chunked(body: &[u8]) -> Vec<u8> {
    [CHUNKED_HEAD, body].concat()
}

#[test]
fn bad_chunks_with_the_head_refuse_the_message_and_later_ones_break_the_body() {
    let head = CHUNKED_HEAD.len();
    let cases: [(&[u8], ChunkError, usize); 14] = [
        (b"zz\r\nabc\r\n0\r\n\r\n", ChunkError::SizeDigit, 0),
        (b"3z\r\nabc\r\n0\r\n\r\n", ChunkError::SizeLine, 1),
        (
            b"ffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
            ChunkError::SizeOverflow,
            16,
        ),
        (b"3\nabc\r\n0\r\n\r\n", ChunkError::SizeLine, 1),
        (b"3\r\rabc\r\n0\r\n\r\n", ChunkError::SizeLf, 2),
        (b"3\r\nabcd\r\n0\r\n\r\n", ChunkError::DataCrlf, 6),
        (b"3\r\nabc\rX0\r\n\r\n", ChunkError::DataCrlf, 7),
        (b"3 x\r\nabc\r\n0\r\n\r\n", ChunkError::SizeLine, 2),
        (b"3;a\0\r\nabc\r\n0\r\n\r\n", ChunkError::Extension, 3),
        (b"3;a\nabc\r\n0\r\n\r\n", ChunkError::Extension, 3),
        (b"0\r\n folded: x\r\n\r\n", ChunkError::TrailerName, 3),
        (b"0\r\nX: a\0\r\n\r\n", ChunkError::TrailerValue, 7),
        (b"0\r\nX: a\r\r\n", ChunkError::TrailerLf, 8),
        (b"0\r\n\rX", ChunkError::EndLf, 4),
    ];
    for (body, error, at) in cases {
        expect_bad_chunk(&chunked(body), error, head + at);
    }
    let mut many = b"0\r\n".to_vec();
    for _ in 0..9 {
        many.extend_from_slice(b"T: v\r\n");
    }
    many.extend_from_slice(b"\r\n");
    expect_bad_chunk(
        &chunked(&many),
        ChunkError::TooManyTrailers,
        head + 3 + 8 * 6 + 5,
    );
}

#[test]
fn chunk_extension_and_trailer_limits_follow_hyper() {
    let mut body = format!("1;{}\r\na\r\n", "e".repeat(16 * 1024 - 2)).into_bytes();
    body.extend_from_slice(b"0\r\n\r\n");
    let input = chunked(&body);
    assert_eq!(
        run(&input),
        Outcome {
            passed: input.len(),
            end: End::Open(0)
        }
    );
    let body = format!("1;{}\r\na\r\n0\r\n\r\n", "e".repeat(16 * 1024));
    assert_eq!(
        run(&chunked(body.as_bytes())).end,
        End::Refused(Reason::InvalidChunk(ChunkError::ExtensionsTooLong))
    );
    let body = format!("0\r\nT: {}\r\n\r\n", "v".repeat(16 * 1024));
    assert_eq!(
        run(&chunked(body.as_bytes())).end,
        End::Refused(Reason::InvalidChunk(ChunkError::TrailersTooLarge))
    );
}

#[test]
fn the_http2_preface_makes_the_tracker_transparent() {
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\x12\x04";
    expect(preface, 0, End::Transparent);
    // Part of the preface is held; a mismatch is HTTP/1.
    expect(b"PRI * HTTP/2", 0, End::Open(12));
    expect(
        b"PRI * HTTP/2.0\r\n\r\nXX",
        0,
        End::Refused(Reason::Malformed(httparse::Error::Version)),
    );
    let post = b"POST /a HTTP/1.1\r\n\r\n";
    expect(post, post.len(), End::Open(0));
    // Only at the start of the connection.
    let later = [GET, &preface[..]].concat();
    assert_eq!(
        run(&later).end,
        End::Refused(Reason::Malformed(httparse::Error::Version))
    );
}

#[test]
fn a_protocol_switch_holds_what_follows_until_its_outcome_is_known() {
    let upgrade =
        b"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n";
    let input = [&upgrade[..], b"\x81\x05hello"].concat();
    let held = run_pieces(LIMITS, &[&input], None);
    assert_eq!(
        held,
        Outcome {
            passed: upgrade.len(),
            end: End::Hold
        }
    );
    check_splits(&input, None, &held, None);
    let switched = Outcome {
        passed: upgrade.len(),
        end: End::Transparent,
    };
    assert_eq!(run_pieces(LIMITS, &[&input], Some(true)), switched);
    check_splits(&input, Some(true), &switched, None);
    // Declined: the next bytes are a request like any other, and checked like any other.
    let declined = [
        &upgrade[..],
        GET,
        b"POST / HTTP/1.1\r\nTransfer-Encoding: x\r\n\r\n",
    ]
    .concat();
    expect(
        &declined,
        upgrade.len() + GET.len(),
        End::Refused(Reason::UnsupportedTransferEncoding),
    );
    // CONNECT asks for a switch too; HTTP/1.0 `Upgrade` does not (hyper's rule).
    let connect = b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n";
    assert_eq!(
        run_pieces(LIMITS, &[connect], None),
        Outcome {
            passed: connect.len(),
            end: End::Hold
        }
    );
    let http10 = [&b"GET / HTTP/1.0\r\nUpgrade: websocket\r\n\r\n"[..], GET].concat();
    assert_eq!(
        run_pieces(LIMITS, &[&http10], None),
        Outcome {
            passed: http10.len(),
            end: End::Open(0)
        }
    );
}

#[test]
fn an_upgrade_with_a_body_is_held_only_after_the_body() {
    let upgrade = b"POST /ws HTTP/1.1\r\nUpgrade: x\r\nContent-Length: 3\r\n\r\n";
    let mut tracker = Tracker::new(LIMITS);
    let step = tracker.feed(upgrade);
    assert_eq!(
        step,
        Step {
            pass: upgrade.len(),
            then: Then::NeedMore
        }
    );
    assert!(
        tracker.upgrade_pending(),
        "marked as soon as the head passes"
    );
    assert_eq!(
        tracker.feed(b"abcXYZ"),
        Step {
            pass: 3,
            then: Then::Hold
        }
    );
    assert_eq!(
        tracker.feed(b"XYZ"),
        Step {
            pass: 0,
            then: Then::Hold
        }
    );
    tracker.upgrade_resolved(false);
    assert!(!tracker.upgrade_pending());
    assert_eq!(
        tracker.feed(b"XYZ"),
        Step {
            pass: 0,
            then: Then::NeedMore
        }
    );
}

/// Random damage to valid pipelined messages (a deterministic xorshift, same every run):
/// whatever the tracker decides, it decides the same however the bytes are cut up.
#[test]
fn damaged_inputs_get_the_same_verdict_however_they_are_cut() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound as u64) as usize
    };
    let valid = [
        GET,
        b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nT: v\r\n\r\n",
        b"GET /ws HTTP/1.1\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n",
    ];
    let noise = b"\r\n :;0aF\t\0\xffchunked-Transfer-Encoding";
    for _ in 0..3000 {
        let mut input = Vec::new();
        for _ in 0..1 + next(3) {
            input.extend_from_slice(valid[next(valid.len())]);
        }
        for _ in 0..1 + next(3) {
            let at = next(input.len() + 1);
            match next(3) {
                0 if at < input.len() => {
                    input.remove(at);
                }
                1 if at < input.len() => input[at] = noise[next(noise.len())],
                _ => input.insert(at, noise[next(noise.len())]),
            }
        }
        let whole = run_pieces(LIMITS, &[&input], Some(false));
        let cut = next(input.len() + 1);
        for pieces in [
            vec![&input[..cut], &input[cut..]],
            input.chunks(1).collect::<Vec<_>>(),
        ] {
            let got = run_pieces(LIMITS, &pieces, Some(false));
            if got == whole {
                continue;
            }
            match (&whole.end, &got.end) {
                (End::Refused(Reason::InvalidChunk(expected)), End::Broken(error)) => {
                    assert_eq!(expected, error, "{:?}", String::from_utf8_lossy(&input));
                    assert!(got.passed > whole.passed);
                }
                _ => panic!(
                    "{:?}: whole {whole:?}, in {} pieces {got:?}",
                    String::from_utf8_lossy(&input),
                    pieces.len()
                ),
            }
        }
    }
}
