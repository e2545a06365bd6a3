//! `tracestate` validation: forwarded only when it is well formed, so the gateway never
//! relays a malformed or oversized value it was asked to vouch for.
//!
//! Several `tracestate` lines are joined with commas, as the specification allows
//! (RFC 7230 list combination); that rare case allocates once.

use http::{HeaderMap, HeaderValue};

use super::TRACESTATE;

/// The specification asks vendors to propagate at least 512 characters; longer values
/// are dropped whole rather than cut (cutting needs entry-level rewriting).
pub const MAX_TRACESTATE_LEN: usize = 512;
const MAX_LIST_MEMBERS: usize = 32;

/// The `tracestate` to send upstream beside a continued trace, if any and valid.
pub(super) fn forwardable(headers: &HeaderMap) -> Option<HeaderValue> {
    let mut values = headers.get_all(TRACESTATE).into_iter();
    let first = values.next()?;
    let Some(second) = values.next() else {
        return is_valid_tracestate(first.as_bytes()).then(|| first.clone());
    };
    let mut joined = Vec::with_capacity(MAX_TRACESTATE_LEN);
    for value in [first, second].into_iter().chain(values) {
        if !joined.is_empty() {
            joined.push(b',');
        }
        joined.extend_from_slice(value.as_bytes());
        if joined.len() > MAX_TRACESTATE_LEN {
            return None;
        }
    }
    if !is_valid_tracestate(&joined) {
        return None;
    }
    HeaderValue::from_bytes(&joined).ok()
}

/// A list of at most 32 `key=value` members (empty members allowed, unique keys), at most
/// 512 bytes, per the level-1 grammar.
pub fn is_valid_tracestate(value: &[u8]) -> bool {
    if value.len() > MAX_TRACESTATE_LEN {
        return false;
    }
    let mut keys: [&[u8]; MAX_LIST_MEMBERS] = [&[]; MAX_LIST_MEMBERS];
    let mut member_count = 0;
    for member in value.split(|&byte| byte == b',') {
        let member = member.trim_ascii();
        if member.is_empty() {
            continue;
        }
        let Some(equals) = member.iter().position(|&byte| byte == b'=') else {
            return false;
        };
        let (key, value) = (&member[..equals], &member[equals + 1..]);
        if !is_valid_key(key) || !is_valid_value(value) {
            return false;
        }
        if member_count == MAX_LIST_MEMBERS || keys[..member_count].contains(&key) {
            return false;
        }
        keys[member_count] = key;
        member_count += 1;
    }
    true
}

fn is_key_char(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit() || matches!(byte, b'_' | b'-' | b'*' | b'/')
}

/// `simple-key` = lcalpha 0*255(key-char); `multi-tenant-key` = tenant-id "@" system-id,
/// tenant-id = (lcalpha / DIGIT) 0*240(key-char), system-id = lcalpha 0*13(key-char).
fn is_valid_key(key: &[u8]) -> bool {
    let rest_ok = |part: &[u8], max_rest: usize| {
        part.len() <= max_rest + 1 && part.iter().skip(1).all(|&byte| is_key_char(byte))
    };
    match key.iter().position(|&byte| byte == b'@') {
        None => key.first().is_some_and(u8::is_ascii_lowercase) && rest_ok(key, 255),
        Some(at) => {
            let (tenant, system) = (&key[..at], &key[at + 1..]);
            tenant
                .first()
                .is_some_and(|first| first.is_ascii_lowercase() || first.is_ascii_digit())
                && rest_ok(tenant, 240)
                && system.first().is_some_and(u8::is_ascii_lowercase)
                && rest_ok(system, 13)
        }
    }
}

/// 0*255(chr) nblk-chr: printable ASCII except `,` and `=`, spaces only inside.
fn is_valid_value(value: &[u8]) -> bool {
    let non_blank = |byte: u8| (0x21..=0x7e).contains(&byte) && byte != b',' && byte != b'=';
    match value.last() {
        None => false,
        Some(&last) => {
            value.len() <= 256
                && non_blank(last)
                && value.iter().all(|&byte| byte == b' ' || non_blank(byte))
        }
    }
}
