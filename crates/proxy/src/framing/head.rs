//! One request head: parsed by httparse with hyper's settings, then checked the way hyper's
//! server role (`proto/h1/role.rs`) checks it, plus the framing rules hyper is lenient about.

use std::mem::MaybeUninit;
use std::ops::Range;

use super::tracker::{HeadFields, Limits, Reason, Refusal};

/// Header slots on the stack; a larger `maxHeaders` falls back to the heap only for a head
/// that has more headers than this.
const STACK_HEADERS: usize = 128;
/// hyper refuses a longer request target (414).
const MAX_TARGET_LEN: usize = u16::MAX as usize - 1;
/// hyper refuses a header name of 64 KiB or more (431).
const MAX_NAME_LEN: usize = 1 << 16;
/// hyper refuses a larger `Content-Length` (`DecodedLength::MAX_LEN`).
const MAX_CONTENT_LENGTH: u64 = u64::MAX - 2;

/// How the body of a valid request is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Empty,
    Length(u64),
    Chunked,
}

/// A valid head.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    /// Bytes of the head, leading empty lines and the final empty line included.
    pub(crate) len: usize,
    pub(crate) framing: Framing,
    /// hyper's rule: `CONNECT`, or HTTP/1.1 with an `Upgrade` header.
    pub(crate) wants_upgrade: bool,
    /// `Expect: 100-continue`: the client sends its body only after an interim answer.
    pub(crate) expects_continue: bool,
    pub(crate) fields: HeadFields,
}

#[derive(Debug)]
pub(crate) enum Parsed {
    Partial,
    Complete(Head),
    Refused(Refusal),
}

fn refused(reason: Reason, fields: Option<HeadFields>) -> Parsed {
    Parsed::Refused(Refusal { reason, fields })
}

/// Parse the head at the start of `bytes`.
pub(crate) fn parse(bytes: &[u8], limits: &Limits) -> Parsed {
    let mut slots = [MaybeUninit::<httparse::Header<'_>>::uninit(); STACK_HEADERS];
    if limits.max_headers <= STACK_HEADERS {
        return parse_with(bytes, &mut slots[..limits.max_headers.max(1)], limits);
    }
    match parse_with(bytes, &mut slots, limits) {
        Parsed::Refused(Refusal {
            reason: Reason::TooManyHeaders,
            ..
        }) => {
            let mut heap = vec![MaybeUninit::<httparse::Header<'_>>::uninit(); limits.max_headers];
            parse_with(bytes, &mut heap, limits)
        }
        other => other,
    }
}

fn range_of(whole: &[u8], part: &[u8]) -> Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
    start..start + part.len()
}

fn parse_with<'b>(
    bytes: &'b [u8],
    slots: &mut [MaybeUninit<httparse::Header<'b>>],
    limits: &Limits,
) -> Parsed {
    let mut request = httparse::Request::new(&mut []);
    // hyper's server uses httparse's default configuration.
    let len = match httparse::ParserConfig::default().parse_request_with_uninit_headers(
        &mut request,
        bytes,
        slots,
    ) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => return refused(Reason::TooManyHeaders, None),
        Err(error) => return refused(Reason::Malformed(error), None),
    };
    let (Some(method), Some(target), Some(version)) =
        (request.method, request.path, request.version)
    else {
        return refused(Reason::Malformed(httparse::Error::Token), None);
    };
    let mut fields = HeadFields {
        method: range_of(bytes, method.as_bytes()),
        target: range_of(bytes, target.as_bytes()),
        request_id: None,
    };

    let mut content_length: Option<u64> = None;
    let mut content_length_lines = 0usize;
    let mut content_length_invalid = false;
    let mut content_length_conflict = false;
    let mut transfer_encoding_lines = 0usize;
    let mut chunked = false;
    let mut upgrade = false;
    let mut expects_continue = false;
    let mut name_too_long = false;
    for header in request.headers.iter() {
        let name = header.name.as_bytes();
        match name.len() {
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                content_length_lines += 1;
                match digits(header.value) {
                    None => content_length_invalid = true,
                    Some(value) => match content_length {
                        Some(previous) if previous != value => content_length_conflict = true,
                        _ => content_length = Some(value),
                    },
                }
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                transfer_encoding_lines += 1;
                chunked = trim(header.value).eq_ignore_ascii_case(b"chunked");
            }
            7 if name.eq_ignore_ascii_case(b"upgrade") => upgrade = true,
            6 if name.eq_ignore_ascii_case(b"expect") => {
                expects_continue |= trim(header.value).eq_ignore_ascii_case(b"100-continue");
            }
            12 if fields.request_id.is_none() && name.eq_ignore_ascii_case(b"x-request-id") => {
                fields.request_id = Some(range_of(bytes, header.value));
            }
            length if length >= MAX_NAME_LEN => name_too_long = true,
            _ => {}
        }
    }

    let reason = if len > limits.max_header_bytes || name_too_long {
        Some(Reason::HeadTooLarge)
    } else if target.len() > MAX_TARGET_LEN {
        Some(Reason::TargetTooLong)
    } else if !target_is_valid(target.as_bytes()) {
        Some(Reason::InvalidTarget)
    } else if transfer_encoding_lines > 0 && content_length_lines > 0 {
        Some(Reason::ContentLengthWithTransferEncoding)
    } else if transfer_encoding_lines > 0 && version == 0 {
        Some(Reason::TransferEncodingInHttp10)
    } else if transfer_encoding_lines > 1 || (transfer_encoding_lines == 1 && !chunked) {
        Some(Reason::UnsupportedTransferEncoding)
    } else if content_length_invalid {
        Some(Reason::InvalidContentLength)
    } else if content_length_conflict {
        Some(Reason::ConflictingContentLength)
    } else if content_length.is_some_and(|length| length > MAX_CONTENT_LENGTH) {
        Some(Reason::ContentLengthTooLarge)
    } else {
        None
    };
    if let Some(reason) = reason {
        return refused(reason, Some(fields));
    }
    let framing = match (transfer_encoding_lines, content_length) {
        (1, _) => Framing::Chunked,
        (_, Some(0) | None) => Framing::Empty,
        (_, Some(length)) => Framing::Length(length),
    };
    Parsed::Complete(Head {
        len,
        framing,
        wants_upgrade: method == "CONNECT" || (version == 1 && upgrade),
        expects_continue,
        fields,
    })
}

/// hyper's `Content-Length` rule: the whole value is ASCII digits (no sign, no list) that
/// fit 64 bits.
fn digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |total, &byte| {
        if !byte.is_ascii_digit() {
            return None;
        }
        total.checked_mul(10)?.checked_add(u64::from(byte - b'0'))
    })
}

fn trim(value: &[u8]) -> &[u8] {
    let is_space = |byte: &u8| *byte == b' ' || *byte == b'\t';
    let start = value
        .iter()
        .position(|byte| !is_space(byte))
        .unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|byte| !is_space(byte))
        .map_or(start, |end| end + 1);
    &value[start..end.max(start)]
}

/// Bytes of an origin-form target that `http::Uri` accepts in the path and in the query (a
/// unit test checks every one against it). Anything else takes the exact, allocating check.
const fn fast_target_bytes() -> [bool; 256] {
    let mut table = [false; 256];
    let extra = b"-._~!$&'()*+,;=:@/%?";
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric();
        byte += 1;
    }
    let mut index = 0;
    while index < extra.len() {
        table[extra[index] as usize] = true;
        index += 1;
    }
    table
}

pub(crate) static FAST_TARGET: [bool; 256] = fast_target_bytes();

/// hyper builds the request's `Uri` from the target and answers 400 when that fails.
fn target_is_valid(target: &[u8]) -> bool {
    if target.first() == Some(&b'/') && target.iter().all(|&byte| FAST_TARGET[byte as usize]) {
        return true;
    }
    http::Uri::try_from(target).is_ok()
}
