//! Walking the frame headers of an uncompressed file (read with positioned
//! reads, or in a memory map) to find where each record starts, in
//! segments on rayon's pool when the file is large. Knows nothing of
//! sidecars, of [`Index`](super::Index) or of object stores.

use std::fs::File;
use std::io;

use crate::error::{Error, ErrorKind, Result};
use crate::framing::{self, FrameCheck, HEADER_LEN};
use crate::read::positioned::Window;

/// Bytes read per positioned read while scanning small records.
const SCAN_CHUNK: usize = 256 << 10;
/// Frames longer than this are skipped over with a header-only read.
const SKIP_OVER: u64 = 16 << 10;

/// Walks the frame headers of a file with positioned reads. Large files
/// are walked in segments on the pool's threads when called on one (as
/// datasets index their files), like [`scan_mapped`].
pub(super) fn scan(file: &File, len: u64, max_record_len: u64) -> Result<Vec<u64>> {
    if len >= 2 * SEGMENT_SCAN_MIN
        && rayon::current_thread_index().is_some()
        && rayon::current_num_threads() > 1
    {
        let input = crate::read::segments::Input::File(file);
        if let Some(offsets) = scan_segments(input, len, max_record_len) {
            return Ok(offsets);
        }
    }
    let mut window = Window::new();
    walk_headers(len, max_record_len, |pos, last_frame_len| {
        if window.from(pos).len() < HEADER_LEN {
            let chunk = if last_frame_len > SKIP_OVER {
                0
            } else {
                SCAN_CHUNK
            };
            window.fill(file, len, pos, HEADER_LEN, chunk)?;
        }
        Ok(window.from(pos).first_chunk::<HEADER_LEN>().copied())
    })
}

/// Walks the frame headers of a mapped file: only the header bytes are
/// touched, nothing is copied. Large files are walked in segments on the
/// current rayon pool's threads when the segments chain up exactly, and
/// in one sequential walk otherwise (whose offsets and errors they equal).
pub(super) fn scan_mapped(map: &[u8], max_record_len: u64) -> Result<Vec<u64>> {
    let len = map.len() as u64;
    if len >= 2 * SEGMENT_SCAN_MIN && rayon::current_num_threads() > 1 {
        let input = crate::read::segments::Input::Mapped(map);
        if let Some(offsets) = scan_segments(input, len, max_record_len) {
            return Ok(offsets);
        }
    }
    walk_headers(map.len() as u64, max_record_len, |pos, _| {
        Ok(usize::try_from(pos)
            .ok()
            .and_then(|p| map.get(p..))
            .and_then(|rest| rest.first_chunk::<HEADER_LEN>().copied()))
    })
}

/// The smallest segment a mapped file is cut into for a parallel scan.
const SEGMENT_SCAN_MIN: u64 = 8 << 20;

/// Every frame offset of a file of `len` bytes, from segments walked in
/// parallel; `None` when a segment's walk fails or does not end exactly
/// where the next segment starts (a false boundary inside a payload).
fn scan_segments(
    input: crate::read::segments::Input<'_>,
    len: u64,
    max_record_len: u64,
) -> Option<Vec<u64>> {
    use crate::read::segments;
    use rayon::prelude::*;

    let check = FrameCheck {
        data_crc: false,
        max_record_len,
    };
    let starts = segments::segment_starts(
        input,
        len,
        &segments::even_splits(len, SEGMENT_SCAN_MIN),
        check,
    );
    let parts: Vec<Option<Vec<u64>>> = starts
        .par_iter()
        .enumerate()
        .map(|(k, &from)| {
            let to = starts.get(k + 1).copied().unwrap_or(len);
            let mut offsets = Vec::new();
            let walk = segments::walk(input, len, from, to, check, false, |_, pos, _| {
                offsets.push(pos);
                Ok(())
            });
            (walk.error.is_none() && walk.end == to).then_some(offsets)
        })
        .collect();
    let total = parts.iter().map(|p| p.as_ref().map_or(0, Vec::len)).sum();
    let mut offsets = Vec::with_capacity(total);
    for part in parts {
        offsets.extend_from_slice(&part?);
    }
    Some(offsets)
}

/// Walks the frame headers of `len` bytes, each read by `header_at(offset,
/// length of the frame before)`, which gives `None` when fewer than a
/// header's bytes remain.
pub(super) fn walk_headers(
    len: u64,
    max_record_len: u64,
    mut header_at: impl FnMut(u64, u64) -> io::Result<Option<[u8; HEADER_LEN]>>,
) -> Result<Vec<u64>> {
    let mut offsets = Vec::new();
    let mut pos = 0u64;
    let mut frame_len = 0u64;
    while pos < len {
        let index = offsets.len() as u64;
        let header = header_at(pos, frame_len).map_err(|e| Error::from(e).at_record(pos, index))?;
        let Some(header) = header else {
            return Err(Error::new(ErrorKind::TruncatedRecord {
                needed: HEADER_LEN as u64,
                available: len - pos,
            })
            .at_record(pos, index));
        };
        let payload_len = framing::parse_header(&header).map_err(|e| e.at_record(pos, index))?;
        if payload_len > max_record_len {
            return Err(Error::new(ErrorKind::RecordTooLarge {
                length: payload_len,
                limit: max_record_len,
            })
            .at_record(pos, index));
        }
        frame_len = framing::frame_len(payload_len).unwrap_or(u64::MAX);
        if frame_len > len - pos {
            return Err(Error::new(ErrorKind::TruncatedRecord {
                needed: frame_len,
                available: len - pos,
            })
            .at_record(pos, index));
        }
        offsets.push(pos);
        pos += frame_len;
    }
    Ok(offsets)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::framing::DEFAULT_MAX_RECORD_LEN;

    fn sequential(bytes: &[u8]) -> Result<Vec<u64>> {
        walk_headers(bytes.len() as u64, DEFAULT_MAX_RECORD_LEN, |pos, _| {
            Ok(bytes
                .get(pos as usize..)
                .and_then(|r| r.first_chunk::<HEADER_LEN>().copied()))
        })
    }

    /// A file of 3-byte to 64 KiB records over 2 × 8 MiB, some of whose
    /// payloads are whole frames themselves: boundaries a segment search can
    /// mistake for real ones.
    pub(in crate::index) fn tricky_file() -> Vec<u8> {
        let mut out = Vec::new();
        let mut x = 7u64;
        let mut i = 0u64;
        while out.len() < (2 * SEGMENT_SCAN_MIN + (3 << 20)) as usize {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let payload = if i % 3 == 0 {
                // A payload that is itself a run of frames.
                let mut inner = Vec::new();
                for k in 0..(x >> 60) + 1 {
                    framing::encode_frame(&vec![k as u8; (x >> 40) as usize % 3000], &mut inner);
                }
                inner
            } else {
                vec![i as u8; 3 + (x >> 33) as usize % (64 << 10)]
            };
            framing::encode_frame(&payload, &mut out);
            i += 1;
        }
        out
    }

    #[test]
    fn segmented_scans_equal_the_sequential_walk() {
        let bytes = tricky_file();
        let want = sequential(&bytes).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let got = pool
            .install(|| scan_mapped(&bytes, DEFAULT_MAX_RECORD_LEN))
            .unwrap();
        assert_eq!(got, want);
        let input = crate::read::segments::Input::Mapped(&bytes);
        let segmented =
            pool.install(|| scan_segments(input, bytes.len() as u64, DEFAULT_MAX_RECORD_LEN));
        assert_eq!(segmented.as_deref(), Some(&want[..]));
        // A damaged header late in the file: the segments do not chain, and
        // the error is the sequential walk's.
        let mut bad = bytes.clone();
        let at = want[want.len() * 3 / 4] as usize;
        bad[at] ^= 1;
        let seq = sequential(&bad).unwrap_err();
        let got = pool
            .install(|| scan_mapped(&bad, DEFAULT_MAX_RECORD_LEN))
            .unwrap_err();
        assert_eq!(got.kind(), seq.kind());
        assert_eq!(
            (got.offset(), got.record_index()),
            (seq.offset(), seq.record_index())
        );
        // Cut short inside the last frame.
        let cut = &bytes[..bytes.len() - 5];
        let seq = sequential(cut).unwrap_err();
        let got = pool
            .install(|| scan_mapped(cut, DEFAULT_MAX_RECORD_LEN))
            .unwrap_err();
        assert_eq!((got.kind(), got.offset()), (seq.kind(), seq.offset()));
    }
}
