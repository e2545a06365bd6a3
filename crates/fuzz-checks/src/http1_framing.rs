//! Arbitrary bytes as one HTTP/1 connection through the framing tracker: it never panics,
//! never passes more than it was given, and gives the same verdict however the bytes are
//! cut up (a bad chunk that arrives after its head may break the body instead of refusing
//! the message, at the same chunk error).

use portcullis_proxy::framing::{ChunkError, Limits, Reason, Then, Tracker};

const LIMITS: Limits = Limits {
    max_header_bytes: 1024,
    max_headers: 16,
};

#[derive(Debug, PartialEq, Eq)]
enum End {
    Open,
    Refused(Reason),
    Broken(ChunkError),
    Transparent,
}

/// Feed `pieces` as the guard does; protocol switches are declined.
fn run(pieces: &[&[u8]]) -> (usize, End) {
    let mut tracker = Tracker::new(LIMITS);
    let mut held: Vec<u8> = Vec::new();
    let mut passed = 0;
    for piece in pieces {
        held.extend_from_slice(piece);
        loop {
            let step = tracker.feed(&held);
            assert!(step.pass <= held.len(), "passed more than given");
            passed += step.pass;
            held.drain(..step.pass);
            match step.then {
                Then::NeedMore => break,
                Then::Hold => {
                    assert!(tracker.upgrade_pending());
                    tracker.upgrade_resolved(false);
                }
                Then::Transparent => return (passed, End::Transparent),
                Then::Refuse(refusal) => {
                    if let Some(fields) = &refusal.fields {
                        assert!(fields.method.end <= held.len());
                        assert!(fields.target.end <= held.len());
                    }
                    return (passed, End::Refused(refusal.reason));
                }
                Then::Broken(error) => return (passed, End::Broken(error)),
            }
        }
        assert!(
            held.len() <= LIMITS.max_header_bytes,
            "held more than a head"
        );
    }
    match tracker.finish_input(&held) {
        Some(refusal) => (passed, End::Refused(refusal.reason)),
        None => (passed, End::Open),
    }
}

/// The target's contract for one input; panics on a violation.
pub fn check(data: &[u8]) {
    let Some((&cut, input)) = data.split_first() else {
        return;
    };
    let whole = run(&[input]);
    let cut = usize::from(cut).min(input.len());
    let ways: [Vec<&[u8]>; 2] = [
        vec![&input[..cut], &input[cut..]],
        input.chunks(1).collect(),
    ];
    for pieces in ways {
        let got = run(&pieces);
        if got == whole {
            continue;
        }
        match (&whole.1, &got.1) {
            (End::Refused(Reason::InvalidChunk(expected)), End::Broken(error)) => {
                assert_eq!(expected, error, "{input:?}");
                assert!(got.0 > whole.0, "{input:?}");
            }
            _ => panic!("{input:?}: whole {whole:?}, in pieces {got:?}"),
        }
    }
}
