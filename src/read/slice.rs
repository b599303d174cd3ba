//! Records from bytes already in memory (a mapped file or a buffer).

use std::borrow::Cow;

use crate::error::Result;
use crate::framing::{self, FrameCheck};

use super::Record;

/// Position of a reader in a byte buffer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cursor {
    pub(crate) pos: usize,
    pub(crate) index: u64,
    pub(crate) done: bool,
}

/// The next record of `bytes` at `cursor`; stops for good after an error.
#[inline]
pub(crate) fn next_record<'a>(
    bytes: &'a [u8],
    cursor: &mut Cursor,
    check: FrameCheck,
) -> Option<Result<Record<'a>>> {
    if cursor.done {
        return None;
    }
    let offset = cursor.pos as u64;
    let rest = bytes.get(cursor.pos..).unwrap_or_default();
    match framing::parse_frame(rest, check) {
        Ok(Some(frame)) => {
            let record = Record {
                payload: Cow::Borrowed(frame.payload),
                offset,
                index: cursor.index,
            };
            cursor.pos += frame.frame_len;
            cursor.index += 1;
            Some(Ok(record))
        }
        Ok(None) => {
            cursor.done = true;
            None
        }
        Err(e) => {
            cursor.done = true;
            Some(Err(e.at_record(offset, cursor.index)))
        }
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
        }
    }

    /// Byte offset of the next frame.
    pub fn position(&self) -> u64 {
        self.cursor.pos as u64
    }
}

impl<'a> Iterator for SliceReader<'a> {
    type Item = Result<Record<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        next_record(self.bytes, &mut self.cursor, self.check)
    }
}

impl std::iter::FusedIterator for SliceReader<'_> {}
