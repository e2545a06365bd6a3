//! Incremental UTF-8 validation of a decoded byte stream, one byte at a time, so that the
//! path canonicaliser can check percent-decoded bytes without buffering them.

/// Incremental UTF-8 validation over the decoded byte stream, without buffering it
/// (RFC 3629 table: no overlong forms, no surrogates, nothing above U+10FFFF).
#[derive(Default)]
pub(crate) struct Utf8Validator {
    continuation_bytes_left: u8,
    next_low: u8,
    next_high: u8,
}

impl Utf8Validator {
    pub(crate) fn feed(&mut self, byte: u8) -> bool {
        if self.continuation_bytes_left > 0 {
            if byte < self.next_low || byte > self.next_high {
                return false;
            }
            self.continuation_bytes_left -= 1;
            self.next_low = 0x80;
            self.next_high = 0xBF;
            return true;
        }
        let (left, low, high) = match byte {
            0x00..=0x7F => return true,
            0xC2..=0xDF => (1, 0x80, 0xBF),
            0xE0 => (2, 0xA0, 0xBF),
            0xE1..=0xEC | 0xEE | 0xEF => (2, 0x80, 0xBF),
            0xED => (2, 0x80, 0x9F),
            0xF0 => (3, 0x90, 0xBF),
            0xF1..=0xF3 => (3, 0x80, 0xBF),
            0xF4 => (3, 0x80, 0x8F),
            _ => return false,
        };
        self.continuation_bytes_left = left;
        self.next_low = low;
        self.next_high = high;
        true
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.continuation_bytes_left == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_validator_agrees_with_std() {
        for first in 0u8..=255 {
            for second in [0x00u8, 0x28, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0] {
                for third in [0x80u8, 0xBF, 0x41] {
                    for fourth in [0x80u8, 0x41] {
                        let bytes = [first, second, third, fourth];
                        let mut validator = Utf8Validator::default();
                        let ours = bytes.iter().all(|&byte| validator.feed(byte))
                            && validator.is_complete();
                        assert_eq!(ours, std::str::from_utf8(&bytes).is_ok(), "{bytes:02X?}");
                    }
                }
            }
        }
    }
}
