//! Walking one uncompressed file on several threads at once.
//!
//! Knows nothing of what callers do with the frames (statistics,
//! verification, index scans).
//!
//! A file is cut into segments: each after the first starts at the first
//! offset past its split point where a whole frame checks out (both CRCs).
//! Threads walk their segments independently; callers then merge the
//! results in order, trusting a segment only if the walk before it ended
//! exactly at its start (a payload may itself hold a valid frame, a false
//! boundary), and walk the rest in order otherwise. Results are therefore
//! those of one sequential walk.

use std::cell::Cell;
use std::fs::File;
use std::io;

use rayon::prelude::*;

use super::positioned::Window;
use crate::error::{Error, ErrorKind, Result};
use crate::framing::{self, Frame, FrameCheck, HEADER_LEN};

/// How far past a split point to look for the next frame boundary.
const MAX_RESYNC: u64 = 4 << 20;
/// Bytes read per positioned read while walking.
const WALK_CHUNK: usize = 256 << 10;

/// Where a walk gets its bytes.
#[derive(Clone, Copy)]
pub(crate) enum Input<'a> {
    /// Positioned reads into a page-aligned window.
    File(&'a File),
    /// The whole file in memory (a memory map).
    Mapped(&'a [u8]),
}

thread_local! {
    static WINDOW: Cell<Option<Window>> = const { Cell::new(None) };
}

/// A walk's view of its input, with this thread's window for files.
struct Reading<'a> {
    input: Input<'a>,
    len: u64,
    window: Option<Window>,
}

impl<'a> Reading<'a> {
    fn new(input: Input<'a>, len: u64) -> Reading<'a> {
        let window = match input {
            Input::File(_) => {
                // A window kept by this thread may hold another file's bytes.
                let mut window = WINDOW.take().unwrap_or_else(Window::new);
                window.clear();
                Some(window)
            }
            Input::Mapped(_) => None,
        };
        Reading { input, len, window }
    }

    /// The bytes from `pos` on: at least `need` of them unless the input
    /// ends first.
    fn at(&mut self, pos: u64, need: usize) -> io::Result<&[u8]> {
        match (self.input, &mut self.window) {
            (Input::File(file), Some(window)) => {
                let held = window.from(pos).len();
                if held < need && pos + (held as u64) < self.len {
                    window.fill(file, self.len, pos, need, WALK_CHUNK)?;
                }
                Ok(window.from(pos))
            }
            (Input::Mapped(bytes), _) => Ok(usize::try_from(pos)
                .ok()
                .and_then(|p| bytes.get(p..))
                .unwrap_or_default()),
            (Input::File(_), None) => Ok(&[]),
        }
    }
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        if let Some(window) = self.window.take() {
            WINDOW.set(Some(window));
        }
    }
}

/// Evenly spaced split points for up to four segments a thread, none
/// smaller than `min_segment`.
pub(crate) fn even_splits(len: u64, min_segment: u64) -> Vec<u64> {
    let threads = rayon::current_num_threads().max(1) as u64;
    let count = (len / min_segment.max(1)).clamp(1, threads * 4);
    (1..count).map(|k| len / count * k).collect()
}

/// Segment starts: 0, then the first sound frame at or after each split
/// point (searched in parallel), increasing. Splits with no sound frame
/// within reach are dropped.
pub(crate) fn segment_starts(
    input: Input<'_>,
    len: u64,
    splits: &[u64],
    check: FrameCheck,
) -> Vec<u64> {
    let found: Vec<Option<u64>> = splits
        .par_iter()
        .map(|&split| {
            find_boundary(input, len, split, check, MAX_RESYNC)
                .ok()
                .flatten()
        })
        .collect();
    let mut starts = vec![0u64];
    for at in found.into_iter().flatten() {
        if at > *starts.last().unwrap_or(&0) {
            starts.push(at);
        }
    }
    starts
}

/// The first offset at or after `from` where a whole frame checks out
/// (both CRCs), looking at most `reach` bytes ahead.
pub(crate) fn find_boundary(
    input: Input<'_>,
    len: u64,
    from: u64,
    check: FrameCheck,
    reach: u64,
) -> io::Result<Option<u64>> {
    let check = FrameCheck {
        data_crc: true,
        ..check
    };
    let mut reading = Reading::new(input, len);
    let limit = len.min(from.saturating_add(reach));
    let mut pos = from;
    while pos < limit {
        let Some(header) = reading.at(pos, HEADER_LEN)?.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        if let Ok(payload_len) = framing::parse_header(header) {
            let frame_len = framing::frame_len(payload_len).unwrap_or(u64::MAX);
            if payload_len <= check.max_record_len && pos.saturating_add(frame_len) <= len {
                let frame = reading.at(pos, frame_len as usize)?;
                if matches!(framing::parse_frame(frame, check), Ok(Some(_))) {
                    return Ok(Some(pos));
                }
            }
        }
        pos += 1;
    }
    Ok(None)
}

/// How a walk over one segment ended.
pub(crate) struct Walk {
    /// Frames walked (visited without error).
    pub(crate) records: u64,
    /// Record indices used: frames walked plus one for each damaged stretch
    /// stepped over.
    pub(crate) indices: u64,
    /// Damage stepped over (when recovering), each with its offset and its
    /// index counted from the segment's start.
    pub(crate) damage: Vec<Error>,
    /// The first offset not walked.
    pub(crate) end: u64,
    /// What stopped the walk early: a framing or I/O problem, or an error
    /// from the visitor; its record index counts from the segment's start.
    pub(crate) error: Option<Error>,
}

/// Walks the frames that start in `from..to`, parsed with `check`, calling
/// `visit(frame, offset, index)` for each (index counted from `from`). An
/// error from `visit` stops the walk. Damaged framing stops it too, unless
/// `recover` is set: then the damage is noted and the walk goes on at the
/// next sound frame, as a reader under `CorruptionPolicy::Skip` would.
pub(crate) fn walk(
    input: Input<'_>,
    len: u64,
    from: u64,
    to: u64,
    check: FrameCheck,
    recover: bool,
    mut visit: impl FnMut(Frame<'_>, u64, u64) -> Result<()>,
) -> Walk {
    let mut reading = Reading::new(input, len);
    let mut walk = Walk {
        records: 0,
        indices: 0,
        damage: Vec::new(),
        end: from,
        error: None,
    };
    let mut pos = from;
    let mut need = HEADER_LEN;
    while pos < to {
        let index = walk.indices;
        let rest = match reading.at(pos, need) {
            Ok(rest) => rest,
            Err(e) => {
                walk.error = Some(Error::from(e).at_record(pos, index));
                break;
            }
        };
        match framing::parse_frame(rest, check) {
            Ok(Some(frame)) => {
                need = HEADER_LEN;
                let frame_len = frame.frame_len as u64;
                if let Err(e) = visit(frame, pos, index) {
                    walk.error = Some(e.at_record(pos, index));
                    break;
                }
                walk.records += 1;
                walk.indices += 1;
                pos += frame_len;
            }
            Ok(None) => break,
            Err(e) => {
                if let ErrorKind::TruncatedRecord { needed, .. } = *e.kind() {
                    // Truncated only within the window: read more and retry.
                    if pos + needed <= len && (rest.len() as u64) < needed {
                        need = needed as usize;
                        continue;
                    }
                }
                if recover && e.kind().is_damage() {
                    drop(reading);
                    let next = find_boundary(input, len, pos + 1, check, u64::MAX);
                    reading = Reading::new(input, len);
                    match next {
                        Ok(next) => {
                            walk.damage.push(e.at_record(pos, index));
                            walk.indices += 1;
                            need = HEADER_LEN;
                            pos = next.unwrap_or(len);
                            continue;
                        }
                        Err(io) => {
                            walk.error = Some(Error::from(io).at_record(pos, index));
                            break;
                        }
                    }
                }
                walk.error = Some(e.at_record(pos, index));
                break;
            }
        }
    }
    walk.end = pos;
    walk
}

/// Moves an error's record index from segment-relative to file-relative.
pub(crate) fn reindex(e: Error, first_index: u64) -> Error {
    match (e.offset(), e.record_index()) {
        (Some(offset), Some(index)) => e.relocate(offset, first_index + index),
        _ => e,
    }
}
