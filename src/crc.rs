//! Masked CRC32C: the checksum TFRecord stores, masked as LevelDB masks it.
//!
//! The checksum itself comes from the `crc32c` crate, which uses the SSE4.2 /
//! ARMv8 CRC instructions when the CPU has them.
//!
//! Knows nothing of framing, files or records: it checksums bytes.

/// Added after rotating; the constant TFRecord (and LevelDB) use for masking.
const MASK_DELTA: u32 = 0xa282_ead8;

/// Plain CRC32C (Castagnoli) of `data`.
#[inline]
pub fn crc32c(data: &[u8]) -> u32 {
    crc32c::crc32c(data)
}

/// Masks a CRC the way TFRecord stores it, so that a CRC of data that itself
/// contains CRCs does not degenerate.
#[inline]
pub fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(MASK_DELTA)
}

/// Inverse of [`mask`].
#[inline]
pub fn unmask(masked: u32) -> u32 {
    masked.wrapping_sub(MASK_DELTA).rotate_left(15)
}

/// The masked CRC32C of `data`, as stored in a TFRecord frame.
#[inline]
pub fn masked_crc32c(data: &[u8]) -> u32 {
    mask(crc32c(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(masked_crc32c(&24u64.to_le_bytes()), 0x224B_7FA3);
        assert_eq!(masked_crc32c(&[0u8; 8]), 0x0798_0329);
        assert_eq!(crc32c(b""), 0);
    }

    #[test]
    fn unmask_inverts_mask() {
        for x in [0u32, 1, 0xdead_beef, u32::MAX, MASK_DELTA] {
            assert_eq!(unmask(mask(x)), x);
        }
    }
}
