//! Canary buckets (DESIGN §6): `murmur3_x86_32(key, seed 0) % 10000`.
//!
//! Written here rather than taken from a crate: the function is thirty lines, the exact
//! variant (x86, 32-bit, seed 0, unsigned) is part of the public contract (clients compute
//! their own bucket), and the published test vectors below pin it.

/// Number of canary buckets; split weights sum to this.
pub const SPLIT_BUCKETS: u32 = 10_000;

/// Canary bucket: `murmur3_x86_32(key, seed 0) % 10000` (DESIGN §6).
pub fn split_bucket(key: &[u8]) -> u32 {
    murmur3_x86_32(key, 0) % SPLIT_BUCKETS
}

/// MurmurHash3, x86 32-bit variant (Austin Appleby's reference `MurmurHash3_x86_32`).
pub fn murmur3_x86_32(key: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut hash = seed;
    let mut blocks = key.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        hash ^= k;
        hash = hash
            .rotate_left(13)
            .wrapping_mul(5)
            .wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut k = 0u32;
        for (shift, &byte) in tail.iter().enumerate() {
            k ^= u32::from(byte) << (8 * shift);
        }
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        hash ^= k;
    }
    // The reference mixes in the length as a 32-bit value.
    hash ^= key.len() as u32;
    hash ^= hash >> 16;
    hash = hash.wrapping_mul(0x85eb_ca6b);
    hash ^= hash >> 13;
    hash = hash.wrapping_mul(0xc2b2_ae35);
    hash ^= hash >> 16;
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published vectors for MurmurHash3_x86_32 (SMHasher's reference implementation).
    #[test]
    fn matches_published_vectors() {
        let vectors: &[(&[u8], u32, u32)] = &[
            (b"", 0, 0),
            (b"", 1, 0x514E_28B7),
            (b"", 0xFFFF_FFFF, 0x81F1_6F39),
            (b"\xff\xff\xff\xff", 0, 0x7629_3B50),
            (b"\x21\x43\x65\x87", 0, 0xF55B_516B),
            (b"\x21\x43\x65\x87", 0x5082_EDEE, 0x2362_F9DE),
            (b"\x21\x43\x65", 0, 0x7E4A_8634),
            (b"\x21\x43", 0, 0xA0F7_B07A),
            (b"\x21", 0, 0x7266_1CF4),
            (b"\x00\x00\x00\x00", 0, 0x2362_F9DE),
            (b"\x00", 0, 0x514E_28B7),
            (b"hello", 0, 0x248B_FA47),
            (b"test", 0, 0xBA6B_D213),
            (b"Hello, world!", 0, 0xC036_3E43),
            (b"Hello, world!", 0x9747_B28C, 0x2488_4CBA),
            (
                b"The quick brown fox jumps over the lazy dog",
                0,
                0x2E4F_F723,
            ),
            (
                b"The quick brown fox jumps over the lazy dog",
                0x9747_B28C,
                0x2FA8_26CD,
            ),
        ];
        for &(key, seed, expected) in vectors {
            assert_eq!(
                murmur3_x86_32(key, seed),
                expected,
                "key {key:?} seed {seed:#x}"
            );
        }
    }

    #[test]
    fn bucket_is_the_unsigned_hash_modulo_ten_thousand() {
        assert_eq!(split_bucket(b""), 0);
        // 0x248bfa47 = 613153351 → bucket 3351; 0x2e4ff723 = 776992547 → bucket 2547.
        assert_eq!(split_bucket(b"hello"), 3351);
        assert_eq!(
            split_bucket(b"The quick brown fox jumps over the lazy dog"),
            2547
        );
        // A hash above i32::MAX must not be read as negative: 0xF55B516B = 4116402539.
        assert_eq!(split_bucket(b"\x21\x43\x65\x87"), 2539);
    }
}
