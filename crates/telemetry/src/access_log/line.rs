//! One record as one JSON line, written by hand on the writer thread.
//!
//! The format is the one `serde_json` produced when it wrote these lines (the oracle test in
//! `tests/access_log_format.rs` compares the two byte for byte): keys in this order, no
//! spaces, absent values `null`, strings escaped as `serde_json` escapes them, `latencyMs`
//! rounded to microseconds and printed by `zmij` (serde_json's float printer). A hand
//! written writer because serde's machinery, the `time` formatter and `core::fmt` for the
//! client address cost more CPU than the rest of the log path together.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use super::text::Text;
use super::timestamp::Timestamps;
use super::AccessRecord;
use crate::random::write_hex;

/// Formats records; keeps the cached timestamp prefix and a line buffer between records.
#[derive(Debug)]
pub struct LineFormatter {
    timestamps: Timestamps,
    line: Vec<u8>,
}

impl Default for LineFormatter {
    fn default() -> LineFormatter {
        LineFormatter::new()
    }
}

impl LineFormatter {
    pub fn new() -> LineFormatter {
        LineFormatter {
            timestamps: Timestamps::new(),
            line: Vec::with_capacity(1024),
        }
    }

    /// Writes `record` as one line (trailing `\n`) to `output` in one `write_all`.
    pub fn write_line(
        &mut self,
        output: &mut impl Write,
        record: &AccessRecord,
    ) -> std::io::Result<()> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        self.format(record, &mut line);
        let written = output.write_all(&line);
        self.line = line;
        written
    }

    /// Appends `record` as one JSON line, trailing `\n` included, to `out`.
    pub fn format(&mut self, record: &AccessRecord, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"timestamp\":\"");
        self.timestamps.write(record.timestamp_ms, out);
        out.extend_from_slice(b"\",\"requestId\":");
        write_text(out, &record.request_id);
        out.extend_from_slice(b",\"traceId\":\"");
        if let Some(trace_id) = record.trace_id {
            let mut hex = [0u8; 32];
            write_hex(&trace_id.to_bytes(), &mut hex);
            out.extend_from_slice(&hex);
        }
        out.extend_from_slice(b"\",\"route\":");
        write_shared(out, record.route.as_ref());
        out.extend_from_slice(b",\"tenantId\":");
        write_optional_text(out, record.tenant_id.as_ref());
        out.extend_from_slice(b",\"principal\":");
        write_optional_text(out, record.principal.as_ref());
        out.extend_from_slice(b",\"method\":");
        write_text(out, &record.method);
        out.extend_from_slice(b",\"path\":");
        write_text(out, &record.path);
        out.extend_from_slice(b",\"status\":");
        out.extend_from_slice(itoa::Buffer::new().format(record.status).as_bytes());
        out.extend_from_slice(b",\"upstream\":");
        write_shared(out, record.upstream.as_ref());
        out.extend_from_slice(b",\"upstreamVersion\":");
        write_shared(out, record.upstream_version.as_ref());
        out.extend_from_slice(b",\"latencyMs\":");
        // Microsecond precision is plenty and keeps lines short.
        write_f64(out, (record.latency_ms * 1000.0).round() / 1000.0);
        out.extend_from_slice(if record.rate_limited {
            b",\"rateLimited\":true,\"configVersion\":"
        } else {
            b",\"rateLimited\":false,\"configVersion\":"
        });
        out.extend_from_slice(itoa::Buffer::new().format(record.config_version).as_bytes());
        out.extend_from_slice(b",\"clientAddr\":\"");
        write_socket_addr(out, &record.client_addr);
        out.extend_from_slice(b"\",\"bytesIn\":");
        out.extend_from_slice(itoa::Buffer::new().format(record.bytes_in).as_bytes());
        out.extend_from_slice(b",\"bytesOut\":");
        out.extend_from_slice(itoa::Buffer::new().format(record.bytes_out).as_bytes());
        out.extend_from_slice(b",\"error\":");
        match record.error {
            Some(code) => write_str(out, code),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b"}\n");
    }
}

fn write_optional_text(out: &mut Vec<u8>, text: Option<&Text>) {
    match text {
        Some(text) => write_text(out, text),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_shared(out: &mut Vec<u8>, text: Option<&Arc<str>>) {
    match text {
        Some(text) => write_str(out, text),
        None => out.extend_from_slice(b"null"),
    }
}

/// A JSON string of bytes that are usually UTF-8; each invalid sequence becomes U+FFFD
/// (the same replacement `String::from_utf8_lossy` makes), so the line stays valid JSON.
fn write_text(out: &mut Vec<u8>, text: &Text) {
    let bytes = text.as_bytes();
    match std::str::from_utf8(bytes) {
        Ok(valid) => write_str(out, valid),
        Err(_) => {
            out.push(b'"');
            for chunk in bytes.utf8_chunks() {
                write_escaped(out, chunk.valid().as_bytes());
                if !chunk.invalid().is_empty() {
                    out.extend_from_slice("\u{fffd}".as_bytes());
                }
            }
            out.push(b'"');
        }
    }
}

fn write_str(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    write_escaped(out, text.as_bytes());
    out.push(b'"');
}

/// How serde_json escapes a byte: 0 for none, `u` for `\u00XX`, else the letter after `\`.
const ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = b'u';
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0a] = b'n';
    table[0x0c] = b'f';
    table[0x0d] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Escapes the contents of a JSON string (RFC 8259: quote, backslash and the control
/// characters; everything else, DEL and non-ASCII included, is copied as is). `bytes` is
/// valid UTF-8, and escaping only ever replaces ASCII bytes, so the output is too.
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        let escape = ESCAPE[usize::from(byte)];
        if escape == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..index]);
        if escape == b'u' {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX_DIGITS[usize::from(byte >> 4)],
                HEX_DIGITS[usize::from(byte & 0x0f)],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', escape]);
        }
        start = index + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// As serde_json writes an `f64`: `null` unless finite, else the shortest round-trip form.
fn write_f64(out: &mut Vec<u8>, value: f64) {
    if value.is_finite() {
        out.extend_from_slice(zmij::Buffer::new().format_finite(value).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// `a.b.c.d:port` by hand (nearly every client); IPv6 through `Display`, as serde did.
fn write_socket_addr(out: &mut Vec<u8>, address: &SocketAddr) {
    match address {
        SocketAddr::V4(v4) => {
            let [a, b, c, d] = v4.ip().octets();
            write_u8(out, a);
            out.push(b'.');
            write_u8(out, b);
            out.push(b'.');
            write_u8(out, c);
            out.push(b'.');
            write_u8(out, d);
            out.push(b':');
            out.extend_from_slice(itoa::Buffer::new().format(v4.port()).as_bytes());
        }
        SocketAddr::V6(v6) => {
            // Writing to a Vec cannot fail.
            let _ = write!(out, "{v6}");
        }
    }
}

fn write_u8(out: &mut Vec<u8>, value: u8) {
    if value >= 100 {
        out.push(b'0' + value / 100);
    }
    if value >= 10 {
        out.push(b'0' + value / 10 % 10);
    }
    out.push(b'0' + value % 10);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &Text) -> String {
        let mut out = Vec::new();
        write_text(&mut out, text);
        String::from_utf8(out).expect("valid UTF-8 output")
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let text = "q\"b\\s/\u{8}\u{c}\n\r\t\u{0}\u{1f}\u{7f}é\u{2028}😀";
        assert_eq!(
            escaped(&Text::from(text)),
            serde_json::to_string(text).expect("serde_json")
        );
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        let text = Text::copy_from(b"a\xffb\xe2\x82c\xc3\"\x80");
        let line = escaped(&text);
        assert_eq!(line, "\"a\u{fffd}b\u{fffd}c\u{fffd}\\\"\u{fffd}\"");
        let parsed: String = serde_json::from_str(&line).expect("valid JSON");
        assert_eq!(parsed, String::from_utf8_lossy(text.as_bytes()));
    }

    #[test]
    fn client_addresses_render_like_display() {
        for address in [
            "0.0.0.0:0",
            "127.0.0.1:50000",
            "10.20.199.255:65535",
            "[::1]:8080",
            "[::ffff:1.2.3.4]:1",
            "[fe80::1%7]:443",
        ] {
            let parsed: SocketAddr = address.parse().expect("address");
            let mut out = Vec::new();
            write_socket_addr(&mut out, &parsed);
            assert_eq!(out, parsed.to_string().as_bytes());
        }
    }
}
