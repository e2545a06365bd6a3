//! The chunked body state machine: hyper's decoder (`proto/h1/decode.rs`), byte for byte in
//! where a body ends, and stricter in what it accepts (control bytes in extensions, malformed
//! trailer fields and bare LF are refused at once instead of at the end or not at all).

use portcullis_error::ErrorKind;

/// hyper refuses a body whose chunk extensions add up to this many bytes.
const EXTENSIONS_LIMIT: u64 = 16 * 1024;
/// hyper refuses a trailer section of this many bytes.
const TRAILERS_LIMIT: usize = 16 * 1024;

/// What is wrong with a chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChunkError {
    /// The chunk size line does not start with a hex digit.
    SizeDigit,
    /// The chunk size does not fit 64 bits.
    SizeOverflow,
    /// A byte after the size that is not whitespace, `;` or CR.
    SizeLine,
    /// A control byte or LF inside a chunk extension.
    Extension,
    /// Chunk extensions over hyper's limit.
    ExtensionsTooLong,
    /// The size line's CR is not followed by LF.
    SizeLf,
    /// Chunk data is not followed by CRLF.
    DataCrlf,
    /// A trailer field's name is malformed.
    TrailerName,
    /// A trailer field's value holds a control byte (or a bare LF).
    TrailerValue,
    /// A trailer line's CR is not followed by LF.
    TrailerLf,
    /// More trailer fields than `maxHeaders`.
    TooManyTrailers,
    /// A trailer section over hyper's limit.
    TrailersTooLarge,
    /// The body's last CR is not followed by LF.
    EndLf,
}

impl ChunkError {
    pub fn error_kind(self) -> ErrorKind {
        ErrorKind::BadRequest
    }

    pub fn detail(self) -> &'static str {
        match self {
            ChunkError::SizeDigit => "a chunk size is not a hexadecimal number",
            ChunkError::SizeOverflow => "a chunk size is too large",
            ChunkError::SizeLine => "a chunk size line is malformed",
            ChunkError::Extension => "a chunk extension holds an invalid byte",
            ChunkError::ExtensionsTooLong => "the chunk extensions are too long",
            ChunkError::SizeLf | ChunkError::DataCrlf | ChunkError::TrailerLf => {
                "a chunk is not terminated by CRLF"
            }
            ChunkError::TrailerName | ChunkError::TrailerValue => "a trailer field is malformed",
            ChunkError::TooManyTrailers => "too many trailer fields",
            ChunkError::TrailersTooLarge => "the trailer section is too large",
            ChunkError::EndLf => "the chunked body does not end with CRLF",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// First hex digit of a size.
    Start,
    /// More hex digits, or what follows them.
    Size,
    /// Whitespace after the size.
    SizeLws,
    /// Inside extensions, up to CR.
    Extension,
    /// The size line's LF.
    SizeLf,
    /// Chunk data, `remaining` bytes left.
    Data,
    DataCr,
    DataLf,
    /// After the last chunk's size line, and after each trailer line: CR ends the body,
    /// anything else starts a trailer field.
    LineStart,
    TrailerName,
    TrailerValue,
    TrailerLf,
    EndLf,
}

/// Where a chunked body is.
#[derive(Debug, Clone)]
pub(crate) struct Chunked {
    state: State,
    /// The size being read, then the data bytes left in the chunk.
    size: u64,
    extension_bytes: u64,
    trailer_bytes: usize,
    trailers: usize,
    max_trailers: usize,
    /// Whether a whole chunk-size line has been read (the first one decides whether the
    /// head may pass: see the tracker).
    sized: bool,
}

/// How far one call got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Every byte given was valid; the body goes on.
    More,
    /// The body ended after this many bytes.
    Ended(usize),
    /// The byte at this offset is wrong.
    Failed(usize, ChunkError),
}

fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// A field value byte as httparse and `HeaderValue` take it: HTAB, SP, VCHAR, obs-text.
fn is_value_byte(byte: u8) -> bool {
    byte == b'\t' || (byte >= 0x20 && byte != 0x7f)
}

fn hex_value(byte: u8) -> Option<u64> {
    match byte {
        b'0'..=b'9' => Some(u64::from(byte - b'0')),
        b'a'..=b'f' => Some(u64::from(byte - b'a' + 10)),
        b'A'..=b'F' => Some(u64::from(byte - b'A' + 10)),
        _ => None,
    }
}

impl Chunked {
    /// `max_trailers`: hyper takes as many trailer fields as `maxHeaders`.
    pub(crate) fn new(max_trailers: usize) -> Chunked {
        Chunked {
            state: State::Start,
            size: 0,
            extension_bytes: 0,
            trailer_bytes: 0,
            trailers: 0,
            max_trailers,
            sized: false,
        }
    }

    /// True once the first chunk-size line has been read whole (and was valid).
    pub(crate) fn first_size_read(&self) -> bool {
        self.sized
    }

    /// Follow the body through `bytes`.
    pub(crate) fn advance(&mut self, bytes: &[u8]) -> Progress {
        let mut at = 0;
        while at < bytes.len() {
            if self.state == State::Data {
                let available = (bytes.len() - at) as u64;
                let take = self.size.min(available);
                self.size -= take;
                at += take as usize;
                if self.size == 0 {
                    self.state = State::DataCr;
                }
                continue;
            }
            let byte = bytes[at];
            match self.step(byte) {
                Ok(true) => return Progress::Ended(at + 1),
                Ok(false) => at += 1,
                Err(error) => return Progress::Failed(at, error),
            }
        }
        Progress::More
    }

    /// One framing byte; `Ok(true)` when it ends the body.
    fn step(&mut self, byte: u8) -> Result<bool, ChunkError> {
        self.state = match self.state {
            State::Start => {
                self.size = hex_value(byte).ok_or(ChunkError::SizeDigit)?;
                State::Size
            }
            State::Size => match (byte, hex_value(byte)) {
                (_, Some(digit)) => {
                    self.size = self
                        .size
                        .checked_mul(16)
                        .and_then(|size| size.checked_add(digit))
                        .ok_or(ChunkError::SizeOverflow)?;
                    State::Size
                }
                (b'\t' | b' ', None) => State::SizeLws,
                (b';', None) => State::Extension,
                (b'\r', None) => State::SizeLf,
                _ => return Err(ChunkError::SizeLine),
            },
            State::SizeLws => match byte {
                b'\t' | b' ' => State::SizeLws,
                b';' => State::Extension,
                b'\r' => State::SizeLf,
                _ => return Err(ChunkError::SizeLine),
            },
            State::Extension => match byte {
                b'\r' => State::SizeLf,
                byte if is_value_byte(byte) => {
                    self.extension_bytes += 1;
                    if self.extension_bytes >= EXTENSIONS_LIMIT {
                        return Err(ChunkError::ExtensionsTooLong);
                    }
                    State::Extension
                }
                _ => return Err(ChunkError::Extension),
            },
            State::SizeLf => match byte {
                b'\n' if self.size == 0 => {
                    self.sized = true;
                    State::LineStart
                }
                b'\n' => {
                    self.sized = true;
                    State::Data
                }
                _ => return Err(ChunkError::SizeLf),
            },
            // `advance` takes data in bulk; one byte at a time is the same.
            State::Data => {
                self.size = self.size.saturating_sub(1);
                if self.size == 0 {
                    State::DataCr
                } else {
                    State::Data
                }
            }
            State::DataCr => match byte {
                b'\r' => State::DataLf,
                _ => return Err(ChunkError::DataCrlf),
            },
            State::DataLf => match byte {
                b'\n' => State::Start,
                _ => return Err(ChunkError::DataCrlf),
            },
            State::LineStart => match byte {
                b'\r' => {
                    self.count_trailer_byte()?;
                    State::EndLf
                }
                byte if is_tchar(byte) => {
                    self.count_trailer_byte()?;
                    State::TrailerName
                }
                _ => return Err(ChunkError::TrailerName),
            },
            State::TrailerName => {
                self.count_trailer_byte()?;
                match byte {
                    b':' => State::TrailerValue,
                    byte if is_tchar(byte) => State::TrailerName,
                    _ => return Err(ChunkError::TrailerName),
                }
            }
            State::TrailerValue => {
                self.count_trailer_byte()?;
                match byte {
                    b'\r' => State::TrailerLf,
                    byte if is_value_byte(byte) => State::TrailerValue,
                    _ => return Err(ChunkError::TrailerValue),
                }
            }
            State::TrailerLf => match byte {
                b'\n' => {
                    if self.trailers >= self.max_trailers {
                        return Err(ChunkError::TooManyTrailers);
                    }
                    self.trailers += 1;
                    self.count_trailer_byte()?;
                    State::LineStart
                }
                _ => return Err(ChunkError::TrailerLf),
            },
            State::EndLf => match byte {
                b'\n' => {
                    self.count_trailer_byte()?;
                    return Ok(true);
                }
                _ => return Err(ChunkError::EndLf),
            },
        };
        Ok(false)
    }

    /// hyper counts every byte from the first trailer byte to the final LF (and the final
    /// CRLF only when there are trailers); counting the final CRLF always is stricter by at
    /// most two bytes.
    fn count_trailer_byte(&mut self) -> Result<(), ChunkError> {
        self.trailer_bytes += 1;
        if self.trailer_bytes >= TRAILERS_LIMIT {
            return Err(ChunkError::TrailersTooLarge);
        }
        Ok(())
    }
}
