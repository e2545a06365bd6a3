//! [`Text`]: a string field of an access-log record, copied on the request thread without
//! touching the heap when it is short.
//!
//! Why a copy and not a reference-counted handle to the request's own bytes: hyper parses a
//! request head into slices of its connection read buffer (`Uri`, `HeaderValue` share that
//! allocation). A record waits in the queue for up to a writer poll interval; if it held such
//! a slice, hyper would find its read buffer shared when it reads the next request and would
//! allocate a new one, trading a small allocation for an 8 KiB one. Copying a few dozen
//! bytes into the record costs less than either.

use std::fmt;

/// Bytes kept inside the record: a generated request id (32), a UUID (36), any standard
/// method and most API paths fit, and [`Text`] stays at 48 bytes (the queue preallocates
/// `queueCapacity` records).
pub const INLINE_CAPACITY: usize = 40;

/// Bytes written as one JSON string.
///
/// Usually UTF-8; bytes that are not (a header value may carry obs-text) are written with
/// each invalid sequence replaced by U+FFFD, as `String::from_utf8_lossy` would.
#[derive(Clone)]
pub struct Text(Repr);

/// Two variants and a word-sized length on purpose: with a third variant and a `u8`
/// length, rustc packed the discriminant into a niche and LLVM then copied every record
/// move byte by byte, which cost more than the allocations inline text saves (measured
/// with the `access_line` benchmark).
#[derive(Clone)]
enum Repr {
    Inline {
        len: u32,
        bytes: [u8; INLINE_CAPACITY],
    },
    /// Longer than [`INLINE_CAPACITY`].
    Heap(Box<[u8]>),
}

impl Text {
    /// Copies `bytes`: inline (no allocation) up to [`INLINE_CAPACITY`] bytes, else on the heap.
    pub fn copy_from(bytes: &[u8]) -> Text {
        match u32::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= INLINE_CAPACITY => {
                let mut inline = [0u8; INLINE_CAPACITY];
                inline[..bytes.len()].copy_from_slice(bytes);
                Text(Repr::Inline { len, bytes: inline })
            }
            _ => Text(Repr::Heap(bytes.into())),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            // `len` was checked against the capacity when the text was made.
            Repr::Inline { len, bytes } => &bytes[..*len as usize],
            Repr::Heap(bytes) => bytes,
        }
    }

    /// True when the bytes live inside the value (nothing to free).
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::copy_from(b"")
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text::copy_from(text.as_bytes())
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&String::from_utf8_lossy(self.as_bytes()), formatter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_inline_and_long_ones_are_not() {
        let fits = "x".repeat(INLINE_CAPACITY);
        let text = Text::from(fits.as_str());
        assert!(text.is_inline());
        assert_eq!(text, fits.as_str());
        let long = "y".repeat(INLINE_CAPACITY + 1);
        let text = Text::from(long.as_str());
        assert!(!text.is_inline());
        assert_eq!(text, long.as_str());
        assert_eq!(Text::from("-"), "-");
        assert_eq!(Text::default(), "");
        assert!(Text::default().is_inline());
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn text_stays_small() {
        assert_eq!(std::mem::size_of::<Text>(), 48);
        assert_eq!(std::mem::size_of::<Option<Text>>(), 48);
    }

    #[test]
    fn debug_shows_the_text() {
        assert_eq!(format!("{:?}", Text::from("a\"b")), r#""a\"b""#);
        assert_eq!(format!("{:?}", Text::copy_from(b"a\xff")), "\"a\u{fffd}\"");
    }
}
