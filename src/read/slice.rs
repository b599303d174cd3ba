//! Records from bytes already in memory (a mapped file or a buffer).
//!
//! Knows nothing of opening files, of streams or of threads.

use std::borrow::Cow;

use crate::error::{Error, ErrorKind, Result};
use crate::framing::{self, FrameCheck, Resync, HEADER_LEN};

use super::mmap::Mmap;
use super::options::ReadOptions;
use super::record::Record;
use super::recovery::{CorruptionPolicy, OnSkip, Recovery, SkipCounts, Skipped};

/// Position of a reader in a byte buffer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cursor {
    pub(crate) pos: usize,
    pub(crate) index: u64,
    pub(crate) done: bool,
}

/// The next record of `bytes` at `cursor`; stops for good after an error.
/// Damage is skipped when `recovery`'s policy says so.
#[inline]
pub(crate) fn next_record<'a>(
    bytes: &'a [u8],
    cursor: &mut Cursor,
    check: FrameCheck,
    recovery: &mut Recovery,
) -> Option<Result<Record<'a>>> {
    next_guarded(bytes, None, cursor, check, recovery)
}

/// [`next_record`] in `bytes` that are `map`'s (when given): damage that
/// comes from the file having been cut short while mapped stops reading
/// whatever the policy, as a truncated record.
#[inline]
pub(crate) fn next_guarded<'a>(
    bytes: &'a [u8],
    map: Option<&Mmap>,
    cursor: &mut Cursor,
    check: FrameCheck,
    recovery: &mut Recovery,
) -> Option<Result<Record<'a>>> {
    loop {
        if cursor.done {
            return None;
        }
        let offset = cursor.pos as u64;
        let rest = bytes.get(cursor.pos..).unwrap_or_default();
        match framing::parse_frame(rest, check) {
            Ok(Some(frame)) => {
                if let Some(cut) = map
                    .filter(|m| m.lost(cursor.pos + frame.frame_len))
                    .and_then(|m| m.vanished(offset, cursor.index))
                {
                    cursor.done = true;
                    return Some(Err(cut));
                }
                let record = Record {
                    payload: Cow::Borrowed(frame.payload),
                    offset,
                    index: cursor.index,
                };
                cursor.pos += frame.frame_len;
                cursor.index += 1;
                return Some(Ok(record));
            }
            Ok(None) => {
                cursor.done = true;
                return None;
            }
            Err(e) => {
                if let Some(cut) = map.and_then(|m| m.vanished(offset, cursor.index)) {
                    cursor.done = true;
                    return Some(Err(cut));
                }
                if !recovery.skips(&e) {
                    cursor.done = true;
                    return Some(Err(e.at_record(offset, cursor.index)));
                }
                let resume = resume_after(bytes, cursor.pos, &e, check);
                let skipped = (resume - cursor.pos) as u64;
                if let Err(over) = recovery.skip(offset, skipped, cursor.index, e) {
                    cursor.done = true;
                    return Some(Err(over));
                }
                cursor.pos = resume;
                cursor.index += 1;
            }
        }
    }
}

/// Where reading resumes after `error` in the frame at `pos`: past the frame
/// when only its payload is bad, else at the next sound frame (or the end).
pub(crate) fn resume_after(bytes: &[u8], pos: usize, error: &Error, check: FrameCheck) -> usize {
    if let ErrorKind::CorruptData { .. } = error.kind() {
        let len = bytes
            .get(pos..)
            .and_then(|rest| rest.first_chunk::<HEADER_LEN>())
            .and_then(|h| framing::parse_header(h).ok())
            .and_then(framing::frame_len)
            .and_then(|n| usize::try_from(n).ok());
        if let Some(end) = len.and_then(|n| pos.checked_add(n)) {
            if end <= bytes.len() {
                return end;
            }
        }
    }
    match framing::resync(bytes, pos + 1, check, true) {
        Resync::Found(next) => next,
        Resync::NeedMore(_) | Resync::NotFound => bytes.len(),
    }
}

/// Iterates the records of an uncompressed TFRecord byte slice, borrowing
/// each payload. Every CRC is checked unless the options say otherwise.
///
/// ```
/// use tfrec::{SliceReader, Tensor, Writer};
/// let mut w = Writer::new(Vec::new());
/// w.write_tensor(&Tensor::scalar(3i32))?;
/// let bytes = w.finish()?;
/// let records: Vec<_> = SliceReader::new(&bytes).collect::<Result<_, _>>()?;
/// assert_eq!(records.len(), 1);
/// assert_eq!(records[0].decode()?.to_vec::<i32>()?, [3]);
/// # Ok::<(), tfrec::Error>(())
/// ```
pub struct SliceReader<'a> {
    bytes: &'a [u8],
    cursor: Cursor,
    check: FrameCheck,
    recovery: Recovery,
}

impl<'a> SliceReader<'a> {
    /// Reads `bytes` with every CRC checked.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self::with_check(bytes, FrameCheck::default())
    }

    /// Reads `bytes` with the given checks.
    pub fn with_check(bytes: &'a [u8], check: FrameCheck) -> Self {
        SliceReader {
            bytes,
            cursor: Cursor::default(),
            check,
            recovery: Recovery::new(CorruptionPolicy::Strict, None),
        }
    }

    /// Reads `bytes` with the checks and corruption policy of `options`.
    pub fn with_options(bytes: &'a [u8], options: &ReadOptions) -> Self {
        let mut reader = Self::with_check(bytes, options.frame_check());
        reader.recovery = options.recovery();
        reader
    }

    /// Sets what happens at a damaged record (default: stop with an error).
    pub fn corruption(mut self, policy: CorruptionPolicy) -> Self {
        self.recovery.policy = policy;
        self
    }

    /// Under [`CorruptionPolicy::Skip`], the most damaged stretches to skip;
    /// one more is an [`ErrorKind::TooManySkipped`] error.
    pub fn max_skipped(mut self, limit: u64) -> Self {
        self.recovery.max_skipped = Some(limit);
        self
    }

    /// Calls `f` for every stretch skipped under [`CorruptionPolicy::Skip`].
    pub fn on_skip(mut self, f: impl FnMut(&Skipped) + Send + 'static) -> Self {
        let f: Box<OnSkip> = Box::new(f);
        self.recovery.on_skip = Some(f);
        self
    }

    /// What has been skipped so far.
    pub fn skipped(&self) -> SkipCounts {
        self.recovery.counts
    }

    /// Byte offset of the next frame.
    pub fn position(&self) -> u64 {
        self.cursor.pos as u64
    }
}

impl<'a> Iterator for SliceReader<'a> {
    type Item = Result<Record<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        next_record(self.bytes, &mut self.cursor, self.check, &mut self.recovery)
    }
}

impl std::iter::FusedIterator for SliceReader<'_> {}
