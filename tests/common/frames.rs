//! TFRecord framing written out by hand (length, masked CRC32C, payload,
//! masked CRC32C), independent of the crate's own writer. Knows nothing of
//! what a payload holds.

/// Frames `payloads` as TFRecord bytes, by hand: little-endian length,
/// masked CRC32C of the length, payload, masked CRC32C of the payload.
pub fn frame_all(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in payloads {
        let len = (p.len() as u64).to_le_bytes();
        out.extend_from_slice(&len);
        out.extend_from_slice(&masked_crc(&len).to_le_bytes());
        out.extend_from_slice(p);
        out.extend_from_slice(&masked_crc(p).to_le_bytes());
    }
    out
}

/// The frame header for a payload of `len` bytes.
pub fn header(len: u64) -> Vec<u8> {
    let bytes = len.to_le_bytes();
    let mut out = bytes.to_vec();
    out.extend_from_slice(&masked_crc(&bytes).to_le_bytes());
    out
}

/// Bit-by-bit CRC32C (Castagnoli, reflected polynomial 0x82F63B78), masked
/// as TFRecord stores it. Slow and obviously correct.
pub fn masked_crc(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    let crc = !crc;
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Byte offset of each frame for payloads of the given lengths, plus the
/// total length as the last element.
pub fn frame_offsets(payload_lens: &[usize]) -> Vec<u64> {
    let mut offsets = vec![0u64];
    for &len in payload_lens {
        let last = *offsets.last().unwrap();
        offsets.push(last + len as u64 + 16);
    }
    offsets
}
