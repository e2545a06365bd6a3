//! Decoding a chunked response body (RFC 9112 §7.1) read from an upstream connection.
//!
//! Pure: fed the connection's read buffer, it takes what it can and says what it needs.
//! Chunk extensions are ignored; trailer fields are collected and returned at the end.

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};

/// Longest chunk-size or trailer line accepted; a longer one is a broken upstream.
const MAX_LINE: usize = 8 * 1024;
/// Trailer fields accepted before the body counts as malformed.
const MAX_TRAILERS: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed chunked body from the upstream: {0}")]
pub(crate) struct ChunkedError(&'static str);

/// What one decoding step produced.
#[derive(Debug, PartialEq)]
pub(crate) enum Step {
    /// Body bytes, in order.
    Data(Bytes),
    /// The buffer holds no complete next piece: read more.
    NeedMore,
    /// The body ended; the trailer fields (often none).
    End(HeaderMap),
}

#[derive(Debug, Default)]
pub(crate) struct ChunkedDecoder {
    state: State,
    trailers: HeaderMap,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a chunk-size line.
    #[default]
    Size,
    /// Inside a chunk's data, with this many bytes left.
    Data(u64),
    /// After a chunk's data: expecting its CRLF.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailers,
    Done,
}

impl ChunkedDecoder {
    /// Take the next piece out of `buffer`.
    pub(crate) fn step(&mut self, buffer: &mut BytesMut) -> Result<Step, ChunkedError> {
        loop {
            match self.state {
                State::Size => {
                    let Some(line) = take_line(buffer)? else {
                        return Ok(Step::NeedMore);
                    };
                    let size = parse_size(&line)?;
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(left) => {
                    if buffer.is_empty() {
                        return Ok(Step::NeedMore);
                    }
                    let take =
                        usize::try_from(left).map_or(buffer.len(), |left| left.min(buffer.len()));
                    let rest = left - take as u64;
                    self.state = if rest == 0 {
                        State::DataEnd
                    } else {
                        State::Data(rest)
                    };
                    return Ok(Step::Data(buffer.split_to(take).freeze()));
                }
                State::DataEnd => {
                    if buffer.len() < 2 {
                        return Ok(Step::NeedMore);
                    }
                    if &buffer[..2] != b"\r\n" {
                        return Err(ChunkedError("chunk data is not followed by CRLF"));
                    }
                    let _ = buffer.split_to(2);
                    self.state = State::Size;
                }
                State::Trailers => {
                    let Some(line) = take_line(buffer)? else {
                        return Ok(Step::NeedMore);
                    };
                    if line.is_empty() {
                        self.state = State::Done;
                        return Ok(Step::End(std::mem::take(&mut self.trailers)));
                    }
                    self.add_trailer(&line)?;
                }
                State::Done => return Ok(Step::End(HeaderMap::new())),
            }
        }
    }

    /// True once the last chunk and the trailers have been read.
    #[cfg(test)]
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn add_trailer(&mut self, line: &[u8]) -> Result<(), ChunkedError> {
        if self.trailers.len() >= MAX_TRAILERS {
            return Err(ChunkedError("too many trailer fields"));
        }
        let colon = line
            .iter()
            .position(|&byte| byte == b':')
            .ok_or(ChunkedError("trailer field without a colon"))?;
        let name = HeaderName::from_bytes(&line[..colon])
            .map_err(|_| ChunkedError("invalid trailer field name"))?;
        let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii())
            .map_err(|_| ChunkedError("invalid trailer field value"))?;
        self.trailers.append(name, value);
        Ok(())
    }
}

/// One line without its line ending (CRLF, or a bare LF), or `None` when incomplete.
fn take_line(buffer: &mut BytesMut) -> Result<Option<BytesMut>, ChunkedError> {
    let Some(end) = buffer.iter().position(|&byte| byte == b'\n') else {
        if buffer.len() > MAX_LINE {
            return Err(ChunkedError("line too long"));
        }
        return Ok(None);
    };
    if end > MAX_LINE {
        return Err(ChunkedError("line too long"));
    }
    let mut line = buffer.split_to(end + 1);
    line.truncate(end);
    if line.last() == Some(&b'\r') {
        line.truncate(end - 1);
    }
    Ok(Some(line))
}

/// The hex size before any `;extension`, with optional spaces around it.
fn parse_size(line: &[u8]) -> Result<u64, ChunkedError> {
    let digits = line
        .split(|&byte| byte == b';')
        .next()
        .unwrap_or_default()
        .trim_ascii();
    if digits.is_empty() {
        return Err(ChunkedError("empty chunk size"));
    }
    let mut size: u64 = 0;
    for &digit in digits {
        let value = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            b'A'..=b'F' => digit - b'A' + 10,
            _ => return Err(ChunkedError("chunk size is not hexadecimal")),
        };
        size = size
            .checked_mul(16)
            .and_then(|size| size.checked_add(u64::from(value)))
            .ok_or(ChunkedError("chunk size overflows"))?;
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decode `input` fed in pieces of `piece` bytes; the data and trailers, or the error.
    fn decode(input: &[u8], piece: usize) -> Result<(Vec<u8>, HeaderMap), ChunkedError> {
        let mut decoder = ChunkedDecoder::default();
        let mut buffer = BytesMut::new();
        let mut body = Vec::new();
        let mut fed = 0;
        loop {
            match decoder.step(&mut buffer)? {
                Step::Data(data) => body.extend_from_slice(&data),
                Step::End(trailers) => return Ok((body, trailers)),
                Step::NeedMore => {
                    if fed == input.len() {
                        return Err(ChunkedError("input ended"));
                    }
                    let next = (fed + piece).min(input.len());
                    buffer.extend_from_slice(&input[fed..next]);
                    fed = next;
                }
            }
        }
    }

    #[test]
    fn decodes_chunks_in_every_piece_size() {
        let input = b"5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nx-sum: 42\r\n\r\n";
        for piece in 1..=input.len() {
            let (body, trailers) = decode(input, piece).expect("valid body");
            assert_eq!(body, b"hello 0123456789", "piece size {piece}");
            assert_eq!(
                trailers.get("x-sum").map(HeaderValue::as_bytes),
                Some(&b"42"[..])
            );
        }
    }

    #[test]
    fn accepts_bare_line_feeds_and_upper_case_hex() {
        let (body, trailers) = decode(b"B\n0123456789a\r\n0\n\n", 3).expect("valid body");
        assert_eq!(body, b"0123456789a");
        assert!(trailers.is_empty());
    }

    #[test]
    fn refuses_malformed_bodies() {
        for bad in [
            &b"zz\r\nhello\r\n0\r\n\r\n"[..],
            b"\r\nhello\r\n",
            b"5\r\nhelloXX0\r\n\r\n",
            b"10000000000000000\r\n",
            b"5\r\nhello\r\n0\r\nno colon here\r\n\r\n",
        ] {
            assert!(
                decode(bad, bad.len()).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn refuses_an_endless_size_line() {
        let line = vec![b'1'; MAX_LINE + 10];
        assert_eq!(
            decode(&line, line.len()),
            Err(ChunkedError("line too long"))
        );
    }

    #[test]
    fn leaves_bytes_after_the_body_in_the_buffer() {
        let mut decoder = ChunkedDecoder::default();
        let mut buffer = BytesMut::from(&b"0\r\n\r\nHTTP/1.1"[..]);
        assert_eq!(decoder.step(&mut buffer), Ok(Step::End(HeaderMap::new())));
        assert!(decoder.is_done());
        assert_eq!(&buffer[..], b"HTTP/1.1");
    }
}
