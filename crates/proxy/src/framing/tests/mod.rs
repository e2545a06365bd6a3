//! The framing guard's tests. The tracker is fed like the guard feeds it: whole, in every
//! 2-way split and byte by byte (`heads`, `bodies`); the shared state (`shared`); the guard
//! in front of hyper (`io`).

mod bodies;
mod heads;
mod io;
mod shared;

use super::*;

const LIMITS: Limits = Limits {
    max_header_bytes: 512,
    max_headers: 8,
};

#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    /// Input over; this many bytes were still held (part of a head).
    Open(usize),
    Refused(Reason),
    Broken(ChunkError),
    Hold,
    Transparent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Outcome {
    /// Bytes passed before `end`.
    passed: usize,
    end: End,
}

/// Feed `pieces` as the guard would (keeping what the tracker did not pass), resolving each
/// protocol switch with `switched` when given.
fn run_pieces(limits: Limits, pieces: &[&[u8]], switched: Option<bool>) -> Outcome {
    let mut tracker = Tracker::new(limits);
    let mut held: Vec<u8> = Vec::new();
    let mut passed = 0;
    for piece in pieces {
        held.extend_from_slice(piece);
        loop {
            let step = tracker.feed(&held);
            assert!(step.pass <= held.len());
            passed += step.pass;
            held.drain(..step.pass);
            let end = match step.then {
                Then::NeedMore => break,
                Then::Hold => match switched {
                    Some(switched) => {
                        assert!(tracker.upgrade_pending());
                        tracker.upgrade_resolved(switched);
                        continue;
                    }
                    None => End::Hold,
                },
                Then::Transparent => End::Transparent,
                Then::Refuse(refusal) => End::Refused(refusal.reason),
                Then::Broken(error) => End::Broken(error),
            };
            return Outcome { passed, end };
        }
    }
    if let Some(refusal) = tracker.finish_input(&held) {
        return Outcome {
            passed,
            end: End::Refused(refusal.reason),
        };
    }
    Outcome {
        passed,
        end: End::Open(held.len()),
    }
}

fn run(input: &[u8]) -> Outcome {
    run_pieces(LIMITS, &[input], Some(false))
}

/// Every 2-way split and 1-byte pieces give `expected`; a bad chunk that arrives after its
/// head may instead break the body at `bad_chunk_at`.
fn check_splits(
    input: &[u8],
    switched: Option<bool>,
    expected: &Outcome,
    bad_chunk_at: Option<usize>,
) {
    let mut ways: Vec<Vec<&[u8]>> = (0..=input.len())
        .map(|cut| vec![&input[..cut], &input[cut..]])
        .collect();
    ways.push(input.chunks(1).collect());
    for pieces in ways {
        let got = run_pieces(LIMITS, &pieces, switched);
        if got == *expected {
            continue;
        }
        let broken_instead = match (&expected.end, bad_chunk_at) {
            (End::Refused(Reason::InvalidChunk(error)), Some(at)) => {
                got == Outcome {
                    passed: at,
                    end: End::Broken(*error),
                }
            }
            _ => false,
        };
        assert!(
            broken_instead,
            "pieces {:?}: {got:?}, expected {expected:?}",
            pieces.iter().map(|piece| piece.len()).collect::<Vec<_>>()
        );
    }
}

fn expect(input: &[u8], passed: usize, end: End) {
    let expected = Outcome { passed, end };
    assert_eq!(run(input), expected, "{:?}", String::from_utf8_lossy(input));
    check_splits(input, Some(false), &expected, None);
}

fn expect_refused(input: &[u8], reason: Reason) {
    expect(input, 0, End::Refused(reason));
}

/// A bad chunk received before the head passed refuses the message (the head waits for its
/// first chunk-size line); split after that line, a later error breaks the body at `bad_at`.
fn expect_bad_chunk(input: &[u8], error: ChunkError, bad_at: usize) {
    let expected = Outcome {
        passed: 0,
        end: End::Refused(Reason::InvalidChunk(error)),
    };
    assert_eq!(run(input), expected, "{:?}", String::from_utf8_lossy(input));
    check_splits(input, Some(false), &expected, Some(bad_at));
    let head_end = input
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .expect("a head")
        + 4;
    // The head alone passes nothing (it waits for its first chunk-size line), so the rest
    // arriving in one piece is judged with the head: refused as a whole.
    let late = run_pieces(LIMITS, &[&input[..head_end], &input[head_end..]], None);
    assert_eq!(late, expected, "{:?}", String::from_utf8_lossy(input));
}

const GET: &[u8] = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
