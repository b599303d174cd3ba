//! TFRecord framing over byte slices; no I/O.
//!
//! A frame is
//! ```text
//! u64 length (little-endian) | u32 masked_crc32c(length bytes) | payload | u32 masked_crc32c(payload)
//! ```
//! Everything here works on `&[u8]` so the same code serves memory-mapped
//! files, buffers filled from streams, and fuzzers.
//!
//! Knows nothing of files, threads or tensors: a payload is opaque bytes.

use crate::crc::masked_crc32c;
use crate::error::{Error, ErrorKind, Result};

/// Bytes before the payload: the length and its CRC.
pub const HEADER_LEN: usize = 12;
/// Bytes after the payload: the payload's CRC.
pub const FOOTER_LEN: usize = 4;
/// Framing overhead per record.
pub const FRAME_OVERHEAD: usize = HEADER_LEN + FOOTER_LEN;

/// Parses a frame header, checking the length CRC. Returns the payload length.
///
/// ```
/// let header = tfrec::framing::encode_header(24);
/// assert_eq!(tfrec::framing::parse_header(&header)?, 24);
/// # Ok::<(), tfrec::Error>(())
/// ```
#[inline]
pub fn parse_header(header: &[u8; HEADER_LEN]) -> Result<u64> {
    let (len_bytes, crc_bytes) = header.split_at(8);
    let stored = u32::from_le_bytes([crc_bytes[0], crc_bytes[1], crc_bytes[2], crc_bytes[3]]);
    let computed = masked_crc32c(len_bytes);
    if stored != computed {
        return Err(Error::new(ErrorKind::CorruptLength { stored, computed }));
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(len_bytes);
    Ok(u64::from_le_bytes(len))
}

/// Checks a payload against the masked CRC stored in its footer.
#[inline]
pub fn check_payload(payload: &[u8], footer: &[u8; FOOTER_LEN]) -> Result<()> {
    let stored = u32::from_le_bytes(*footer);
    let computed = masked_crc32c(payload);
    if stored != computed {
        return Err(Error::new(ErrorKind::CorruptData { stored, computed }));
    }
    Ok(())
}

/// The total frame length for a payload of `payload_len` bytes, if it fits in `u64`.
#[inline]
pub fn frame_len(payload_len: u64) -> Option<u64> {
    payload_len.checked_add(FRAME_OVERHEAD as u64)
}

/// One frame found in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The record's payload, borrowed from the buffer.
    pub payload: &'a [u8],
    /// Length of the whole frame (payload plus [`FRAME_OVERHEAD`]).
    pub frame_len: usize,
    /// The stored masked CRC32C of the payload, for a later
    /// [`check_payload`] when the frame was parsed without it.
    pub footer: [u8; FOOTER_LEN],
}

/// What to check when parsing a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameCheck {
    /// Verify the payload CRC (the length CRC is always verified).
    pub data_crc: bool,
    /// Largest payload length accepted.
    pub max_record_len: u64,
}

impl Default for FrameCheck {
    fn default() -> Self {
        FrameCheck {
            data_crc: true,
            max_record_len: DEFAULT_MAX_RECORD_LEN,
        }
    }
}

/// Default ceiling on a record's payload length: 2 GiB, the most a protocol
/// buffer message (and so a TensorFlow record of a tensor) can be.
pub const DEFAULT_MAX_RECORD_LEN: u64 = 2 << 30;

/// Parses the frame at the start of `buf`.
///
/// Returns `Ok(None)` when `buf` is empty (a clean end of input). A partial
/// frame is [`ErrorKind::TruncatedRecord`]. The length is checked against
/// what remains before anything is sliced, so a hostile length cannot cause
/// an allocation or a panic.
///
/// ```
/// let mut file = Vec::new();
/// tfrec::framing::encode_frame(b"hello", &mut file);
/// let frame = tfrec::framing::parse_frame(&file, Default::default())?.unwrap();
/// assert_eq!(frame.payload, b"hello");
/// assert_eq!(frame.frame_len, file.len());
/// # Ok::<(), tfrec::Error>(())
/// ```
pub fn parse_frame(buf: &[u8], check: FrameCheck) -> Result<Option<Frame<'_>>> {
    if buf.is_empty() {
        return Ok(None);
    }
    let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
        return Err(truncated(HEADER_LEN as u64, buf.len()));
    };
    let len = parse_header(header)?;
    if len > check.max_record_len {
        return Err(Error::new(ErrorKind::RecordTooLarge {
            length: len,
            limit: check.max_record_len,
        }));
    }
    let needed = frame_len(len).unwrap_or(u64::MAX);
    if needed > buf.len() as u64 {
        return Err(truncated(needed, buf.len()));
    }
    // `needed <= buf.len()`, so these conversions and slices are in bounds.
    let frame_len = needed as usize;
    let payload = &buf[HEADER_LEN..frame_len - FOOTER_LEN];
    let footer = *buf[frame_len - FOOTER_LEN..frame_len]
        .first_chunk::<FOOTER_LEN>()
        .ok_or_else(|| truncated(needed, buf.len()))?;
    if check.data_crc {
        check_payload(payload, &footer)?;
    }
    Ok(Some(Frame {
        payload,
        frame_len,
        footer,
    }))
}

fn truncated(needed: u64, available: usize) -> Error {
    Error::new(ErrorKind::TruncatedRecord {
        needed,
        available: available as u64,
    })
}

/// What a walk over the frame headers of a buffer found; see [`scan`].
#[derive(Debug)]
pub struct Scan {
    /// Offset of every whole frame, in order.
    pub offsets: Vec<u64>,
    /// Where the walk stopped: the end of the last whole frame.
    pub end: u64,
    /// What stopped the walk before the end of the buffer, if anything.
    pub error: Option<Error>,
}

impl Scan {
    /// Offset and whole length of frame `i`.
    pub fn frame(&self, i: usize) -> Option<(u64, u64)> {
        let start = *self.offsets.get(i)?;
        let end = self.offsets.get(i + 1).copied().unwrap_or(self.end);
        Some((start, end - start))
    }
}

/// Walks the frame headers of `bytes` from its start, checking lengths and
/// their CRCs but not reading payloads.
///
/// ```
/// let mut file = Vec::new();
/// tfrec::framing::encode_frame(b"ab", &mut file);
/// tfrec::framing::encode_frame(b"", &mut file);
/// let scan = tfrec::framing::scan(&file);
/// assert_eq!(scan.offsets, [0, 18]);
/// assert_eq!(scan.frame(1), Some((18, 16)));
/// assert!(scan.error.is_none());
/// ```
pub fn scan(bytes: &[u8]) -> Scan {
    let check = FrameCheck {
        data_crc: false,
        ..FrameCheck::default()
    };
    let mut offsets = Vec::new();
    let mut pos = 0usize;
    let error = loop {
        let rest = bytes.get(pos..).unwrap_or_default();
        match parse_frame(rest, check) {
            Ok(Some(frame)) => {
                offsets.push(pos as u64);
                pos += frame.frame_len;
            }
            Ok(None) => break None,
            Err(e) => break Some(e.at_record(pos as u64, offsets.len() as u64)),
        }
    };
    Scan {
        offsets,
        end: pos as u64,
        error,
    }
}

/// What [`resync`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resync {
    /// A whole frame whose length CRC and payload CRC both check out starts
    /// at this offset.
    Found(usize),
    /// No frame starts before this offset; whether one starts here cannot be
    /// told without more input (only when the input may go on).
    NeedMore(usize),
    /// No frame starts anywhere in the rest of the buffer.
    NotFound,
}

/// Searches `buf` from offset `from` for the next place a sound frame
/// starts: a header whose length CRC checks out, a length within
/// `max_record_len`, and a payload whose CRC checks out. Both CRCs are
/// always checked, whatever `check.data_crc` says: this is how a reader finds
/// its way back after damage, and a header alone matches by chance once in
/// 2^32 offsets.
///
/// `at_end` says the input ends with `buf`; otherwise a candidate that runs
/// past the end of `buf` gives [`Resync::NeedMore`], and the caller should
/// call again with more bytes.
///
/// ```
/// use tfrec::framing::{encode_frame, resync, FrameCheck, Resync};
/// let mut file = b"garbage".to_vec();
/// encode_frame(b"hello", &mut file);
/// assert_eq!(resync(&file, 0, FrameCheck::default(), true), Resync::Found(7));
/// assert_eq!(resync(&file, 8, FrameCheck::default(), true), Resync::NotFound);
/// assert_eq!(resync(&file[..20], 0, FrameCheck::default(), false), Resync::NeedMore(7));
/// ```
pub fn resync(buf: &[u8], from: usize, check: FrameCheck, at_end: bool) -> Resync {
    let mut pos = from;
    while let Some(rest) = buf.get(pos..) {
        let Some(header) = rest.first_chunk::<HEADER_LEN>() else {
            break;
        };
        if let Ok(len) = parse_header(header) {
            if len <= check.max_record_len {
                let needed = frame_len(len).unwrap_or(u64::MAX);
                if needed <= rest.len() as u64 {
                    let frame_len = needed as usize;
                    let payload = &rest[HEADER_LEN..frame_len - FOOTER_LEN];
                    let sound = rest[frame_len - FOOTER_LEN..frame_len]
                        .first_chunk::<FOOTER_LEN>()
                        .is_some_and(|footer| check_payload(payload, footer).is_ok());
                    if sound {
                        return Resync::Found(pos);
                    }
                } else if !at_end {
                    return Resync::NeedMore(pos);
                }
            }
        }
        pos += 1;
    }
    if at_end {
        Resync::NotFound
    } else {
        Resync::NeedMore(pos)
    }
}

/// The 12-byte header of a frame whose payload is `len` bytes long.
#[inline]
pub fn encode_header(len: u64) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    let len_bytes = len.to_le_bytes();
    header[..8].copy_from_slice(&len_bytes);
    header[8..].copy_from_slice(&masked_crc32c(&len_bytes).to_le_bytes());
    header
}

/// The 4-byte footer of a frame carrying `payload`.
#[inline]
pub fn encode_footer(payload: &[u8]) -> [u8; FOOTER_LEN] {
    masked_crc32c(payload).to_le_bytes()
}

/// Appends one whole frame carrying `payload` to `out`.
pub fn encode_frame(payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(payload.len() + FRAME_OVERHEAD);
    out.extend_from_slice(&encode_header(payload.len() as u64));
    out.extend_from_slice(payload);
    out.extend_from_slice(&encode_footer(payload));
}

/// True when `prefix` starts with a valid TFRecord frame header. Used to tell
/// uncompressed files from compressed ones by content.
pub fn looks_like_frame(prefix: &[u8]) -> bool {
    prefix
        .first_chunk::<HEADER_LEN>()
        .is_some_and(|h| parse_header(h).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_known_answer() {
        let h = encode_header(24);
        assert_eq!(&h[..8], &24u64.to_le_bytes());
        assert_eq!(u32::from_le_bytes([h[8], h[9], h[10], h[11]]), 0x224B_7FA3);
        let zero = encode_header(0);
        assert_eq!(
            u32::from_le_bytes([zero[8], zero[9], zero[10], zero[11]]),
            0x0798_0329
        );
    }

    #[test]
    fn round_trip_and_end() {
        let mut buf = Vec::new();
        encode_frame(b"", &mut buf);
        encode_frame(b"abc", &mut buf);
        let f0 = parse_frame(&buf, FrameCheck::default()).unwrap().unwrap();
        assert_eq!(f0.payload, b"");
        assert_eq!(f0.frame_len, 16);
        let f1 = parse_frame(&buf[16..], FrameCheck::default())
            .unwrap()
            .unwrap();
        assert_eq!(f1.payload, b"abc");
        assert!(parse_frame(&buf[16 + 19..], FrameCheck::default())
            .unwrap()
            .is_none());
    }

    #[test]
    fn huge_length_with_valid_crc_fails_fast() {
        for len in [1u64 << 63, u64::MAX, u64::MAX - 15] {
            let header = encode_header(len);
            let unlimited = FrameCheck {
                data_crc: true,
                max_record_len: u64::MAX,
            };
            let err = parse_frame(&header, unlimited).unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::TruncatedRecord { .. }),
                "{err}"
            );
            let err = parse_frame(&header, FrameCheck::default()).unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::RecordTooLarge { .. }),
                "{err}"
            );
        }
    }

    #[test]
    fn every_truncation_is_reported() {
        let mut buf = Vec::new();
        encode_frame(b"payload", &mut buf);
        for cut in 1..buf.len() {
            let err = parse_frame(&buf[..cut], FrameCheck::default()).unwrap_err();
            assert!(err.is_truncated(), "cut {cut}: {err}");
        }
    }

    #[test]
    fn corrupt_crcs_are_told_apart() {
        let mut buf = Vec::new();
        encode_frame(b"payload", &mut buf);
        let mut bad_len = buf.clone();
        bad_len[9] ^= 1;
        assert!(matches!(
            parse_frame(&bad_len, FrameCheck::default())
                .unwrap_err()
                .kind(),
            ErrorKind::CorruptLength { .. }
        ));
        let mut bad_data = buf.clone();
        bad_data[13] ^= 1;
        assert!(matches!(
            parse_frame(&bad_data, FrameCheck::default())
                .unwrap_err()
                .kind(),
            ErrorKind::CorruptData { .. }
        ));
        let skip = FrameCheck {
            data_crc: false,
            ..FrameCheck::default()
        };
        assert!(parse_frame(&bad_data, skip).unwrap().is_some());
    }
}
