//! A tiny HTTP/2 frame writer and reader (RFC 9113 §4, §6) and just enough HPACK
//! (RFC 7541) to build requests: the `h2` client refuses to misbehave, so the attacks that
//! need malformed or abusive frame sequences are written by hand over a `TcpStream`.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;
pub const CONTINUATION: u8 = 0x9;

pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;

/// Error codes (RFC 9113 §7).
pub const PROTOCOL_ERROR: u32 = 0x1;
pub const FLOW_CONTROL_ERROR: u32 = 0x3;
pub const REFUSED_STREAM: u32 = 0x7;
pub const CANCEL: u32 = 0x8;
pub const COMPRESSION_ERROR: u32 = 0x9;
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

/// SETTINGS identifiers.
pub const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
pub const SETTINGS_MAX_HEADER_LIST_SIZE: u16 = 0x6;

/// Append one frame to `out`.
pub fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    let length = u32::try_from(payload.len()).expect("frame payload fits 24 bits");
    assert!(length < 1 << 24, "frame payload fits 24 bits");
    out.extend_from_slice(&length.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
}

pub fn settings(out: &mut Vec<u8>, values: &[(u16, u32)]) {
    let mut payload = Vec::with_capacity(values.len() * 6);
    for (id, value) in values {
        payload.extend_from_slice(&id.to_be_bytes());
        payload.extend_from_slice(&value.to_be_bytes());
    }
    frame(out, SETTINGS, 0, 0, &payload);
}

pub fn rst_stream(out: &mut Vec<u8>, stream: u32, code: u32) {
    frame(out, RST_STREAM, 0, stream, &code.to_be_bytes());
}

pub fn window_update(out: &mut Vec<u8>, stream: u32, increment: u32) {
    frame(out, WINDOW_UPDATE, 0, stream, &increment.to_be_bytes());
}

pub fn ping(out: &mut Vec<u8>, payload: [u8; 8]) {
    frame(out, PING, 0, 0, &payload);
}

/// An HPACK integer with an `prefix`-bit prefix, `first` holding the pattern bits above it.
pub fn hpack_int(out: &mut Vec<u8>, first: u8, prefix: u32, mut value: usize) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

fn hpack_string(out: &mut Vec<u8>, text: &[u8]) {
    hpack_int(out, 0, 7, text.len());
    out.extend_from_slice(text);
}

/// A literal header field without indexing, the name given as a static-table index.
pub fn hpack_indexed_name(out: &mut Vec<u8>, name_index: usize, value: &[u8]) {
    hpack_int(out, 0x00, 4, name_index);
    hpack_string(out, value);
}

/// A literal header field with incremental indexing and a new name: it enters the
/// decoder's dynamic table (as index 62 while it is the newest entry).
pub fn hpack_indexed_literal(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(0x40);
    hpack_string(out, name);
    hpack_string(out, value);
}

/// A reference to table entry `index` (static 1..=61, dynamic from 62).
pub fn hpack_index(out: &mut Vec<u8>, index: usize) {
    hpack_int(out, 0x80, 7, index);
}

/// The header block of `GET <path>` for `authority` over `http`.
pub fn get_block(authority: &str, path: &str) -> Vec<u8> {
    let mut block = Vec::new();
    hpack_index(&mut block, 2); // :method GET
    hpack_index(&mut block, 6); // :scheme http
    hpack_indexed_name(&mut block, 4, path.as_bytes()); // :path
    hpack_indexed_name(&mut block, 1, authority.as_bytes()); // :authority
    block
}

/// A connection with the preface and a SETTINGS frame of `initial` written.
pub async fn open(addr: SocketAddr, initial: &[(u16, u32)]) -> TcpStream {
    let stream = TcpStream::connect(addr).await.expect("connect");
    preface(stream, initial).await
}

/// [`open`] from a socket with a tiny receive buffer: a client that does not read blocks
/// the gateway's writes after a few KiB instead of megabytes.
pub async fn open_small_receive_buffer(addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    let stream = socket.connect(addr).await.expect("connect");
    preface(stream, &[]).await
}

async fn preface(mut stream: TcpStream, initial: &[(u16, u32)]) -> TcpStream {
    let mut out = PREFACE.to_vec();
    settings(&mut out, initial);
    stream.write_all(&out).await.expect("write preface");
    stream
}

/// One frame read back from the server.
#[derive(Debug)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The error code of a GOAWAY or RST_STREAM.
    pub fn error_code(&self) -> u32 {
        let at = if self.kind == GOAWAY { 4 } else { 0 };
        u32::from_be_bytes(self.payload[at..at + 4].try_into().expect("error code"))
    }
}

/// Reads whole frames, failing the test if the server is silent for `patience`.
pub struct Reader<S = TcpStream> {
    pub stream: S,
    buffer: Vec<u8>,
}

/// How a connection under attack ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending {
    GoAway(u32),
    /// EOF or reset without a GOAWAY.
    Closed,
}

impl<S: tokio::io::AsyncRead + Unpin> Reader<S> {
    pub fn new(stream: S) -> Reader<S> {
        Reader {
            stream,
            buffer: Vec::new(),
        }
    }

    /// The next frame, `None` at EOF or reset.
    pub async fn next(&mut self, patience: Duration) -> Option<Frame> {
        self.next_or_silence(patience)
            .await
            .expect("the server answered in time")
    }

    /// [`Reader::next`], or `Err` if the server sent nothing for `patience`.
    pub async fn next_or_silence(
        &mut self,
        patience: Duration,
    ) -> Result<Option<Frame>, tokio::time::error::Elapsed> {
        loop {
            if self.buffer.len() >= 9 {
                let length = u32::from_be_bytes([0, self.buffer[0], self.buffer[1], self.buffer[2]])
                    as usize;
                if self.buffer.len() >= 9 + length {
                    let head: Vec<u8> = self.buffer.drain(..9 + length).collect();
                    return Ok(Some(Frame {
                        kind: head[3],
                        flags: head[4],
                        stream: u32::from_be_bytes(head[5..9].try_into().expect("id"))
                            & 0x7fff_ffff,
                        payload: head[9..].to_vec(),
                    }));
                }
            }
            let mut chunk = [0u8; 16 * 1024];
            let read = tokio::time::timeout(patience, self.stream.read(&mut chunk)).await?;
            match read {
                Ok(0) | Err(_) => return Ok(None),
                Ok(count) => self.buffer.extend_from_slice(&chunk[..count]),
            }
        }
    }

    /// Read frames until GOAWAY or the end of the connection, within `bound`. Frames seen
    /// on the way are handed to `seen`.
    pub async fn until_goaway(&mut self, bound: Duration, mut seen: impl FnMut(&Frame)) -> Ending {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            assert!(!left.is_zero(), "no GOAWAY or close within {bound:?}");
            match self.next(left).await {
                Some(frame) if frame.kind == GOAWAY => return Ending::GoAway(frame.error_code()),
                Some(frame) => seen(&frame),
                None => return Ending::Closed,
            }
        }
    }
}
