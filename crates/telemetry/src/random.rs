//! Random identifiers and lower-case hex, shared by request ids and trace context.
//!
//! Ids come from `rand`'s thread-local generator: a ChaCha-based CSPRNG seeded from the OS
//! and reseeded periodically. It is per thread (no shared state between cores), costs a few
//! nanoseconds per 128 bits, and its output is unpredictable, so ids from different
//! processes or hosts do not collide (128 random bits) and cannot be guessed by a client.

use rand::Rng;

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

pub(crate) fn random_u128() -> u128 {
    rand::rng().random::<u128>()
}

/// A random 128-bit value that is not zero (W3C forbids an all-zero trace id).
pub(crate) fn random_nonzero_u128() -> u128 {
    loop {
        let value = random_u128();
        if value != 0 {
            return value;
        }
    }
}

/// A random 64-bit value that is not zero (W3C forbids an all-zero parent id).
pub(crate) fn random_nonzero_u64() -> u64 {
    let mut rng = rand::rng();
    loop {
        let value = rng.random::<u64>();
        if value != 0 {
            return value;
        }
    }
}

/// Writes `bytes` as lower-case hex into `out`, which must be twice as long.
pub(crate) fn write_hex(bytes: &[u8], out: &mut [u8]) {
    debug_assert_eq!(out.len(), bytes.len() * 2);
    for (byte, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = HEX_DIGITS[usize::from(byte >> 4)];
        pair[1] = HEX_DIGITS[usize::from(byte & 0x0f)];
    }
}

/// Value of one lower-case hex digit; upper case is refused (W3C Trace Context demands
/// lower case).
pub(crate) fn lower_hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

/// Decodes lower-case hex into `out` (half as long as `hex`); `None` on any other byte.
pub(crate) fn decode_lower_hex(hex: &[u8], out: &mut [u8]) -> Option<()> {
    if hex.len() != out.len() * 2 {
        return None;
    }
    for (pair, byte) in hex.chunks_exact(2).zip(out.iter_mut()) {
        *byte = (lower_hex_value(pair[0])? << 4) | lower_hex_value(pair[1])?;
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let bytes = [0x00, 0x9f, 0xa0, 0xff];
        let mut hex = [0u8; 8];
        write_hex(&bytes, &mut hex);
        assert_eq!(&hex, b"009fa0ff");
        let mut back = [0u8; 4];
        assert_eq!(decode_lower_hex(&hex, &mut back), Some(()));
        assert_eq!(back, bytes);
    }

    #[test]
    fn upper_case_and_odd_lengths_are_refused() {
        let mut out = [0u8; 2];
        assert_eq!(decode_lower_hex(b"00AB", &mut out), None);
        assert_eq!(decode_lower_hex(b"00a", &mut out), None);
        assert_eq!(decode_lower_hex(b"0g00", &mut out), None);
    }
}
