//! Skipping damaged records instead of failing the epoch; see
//! [`DatasetBuilder::corruption`](super::DatasetBuilder::corruption).
//!
//! Damage is found in two places. Indexing scans frame headers only: a
//! file whose headers are damaged (a bad length or length CRC, a frame cut
//! short) is read once more with the skipping reader, which resyncs at the
//! next sound frame, and indexed with each damaged stretch as one dead
//! entry, so the records after it keep the indices the reader gives them.
//! Payloads are checked when read: a record whose payload CRC fails is
//! dropped from its batch. Either way each damaged record is reported once
//! per pass to the callback and counted against the limit.
//!
//! Knows nothing of orders, batch buffers, threads or the builder: it
//! indexes damaged files, checks frames, drops damaged records from a
//! batch's list, reports and counts.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::error::{Error, ErrorKind, Result};
use crate::framing::FRAME_OVERHEAD;
use crate::index::{Entry, FrameBuf, Index, IndexedFile};
use crate::read::{CorruptionPolicy, ReadOptions, Reader, Skipped};

use super::plan::RecordId;

/// A function told of every damaged record a dataset skips; see
/// [`DatasetBuilder::on_skip`](super::DatasetBuilder::on_skip).
pub type SkipFn = dyn Fn(&Skipped) + Send + Sync;

/// What a dataset does about damaged records.
#[derive(Clone, Default)]
pub(crate) struct SkipPolicy {
    pub(crate) skip: bool,
    pub(crate) max_skipped: Option<u64>,
    pub(crate) on_skip: Option<Arc<SkipFn>>,
}

impl SkipPolicy {
    pub(crate) fn report(&self, skipped: &Skipped) {
        if let Some(f) = &self.on_skip {
            f(skipped);
        }
    }

    /// Fails once more than the limit have been skipped.
    pub(crate) fn check_limit(&self, skipped: u64, error: &Error) -> Result<()> {
        match self.max_skipped {
            Some(limit) if skipped > limit => Err(too_many(limit, error)),
            _ => Ok(()),
        }
    }

    /// Read options for a streamed file: the reader skips and reports.
    pub(crate) fn reader_options(&self, options: ReadOptions) -> ReadOptions {
        if !self.skip {
            return options;
        }
        let options = options.corruption(CorruptionPolicy::Skip);
        match self.max_skipped {
            Some(limit) => options.max_skipped(limit),
            None => options,
        }
    }

    /// A streamed file's reader with this policy's callback attached.
    pub(crate) fn attach(&self, reader: Reader) -> Reader {
        match (&self.on_skip, self.skip) {
            (Some(f), true) => {
                let f = f.clone();
                reader.on_skip(move |s| f(s))
            }
            _ => reader,
        }
    }
}

/// The damaged records of one pass over an epoch (plus those found while
/// indexing), against the limit.
pub(crate) struct PassSkips {
    count: AtomicU64,
    limit: Option<u64>,
}

impl PassSkips {
    pub(crate) fn new(indexed: u64, limit: Option<u64>) -> PassSkips {
        PassSkips {
            count: AtomicU64::new(indexed),
            limit,
        }
    }

    /// Counts one skip; past the limit, the error to stop with.
    fn count(&self, error: &Error) -> Result<()> {
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        match self.limit {
            Some(limit) if n > limit => Err(too_many(limit, error)),
            _ => Ok(()),
        }
    }
}

fn too_many(limit: u64, error: &Error) -> Error {
    let mut over = Error::new(ErrorKind::TooManySkipped {
        limit,
        last: Box::new(error.kind().clone()),
    });
    if let (Some(offset), Some(index)) = (error.offset(), error.record_index()) {
        over = over.at_record(offset, index);
    }
    match error.path() {
        Some(path) => over.with_path(path),
        None => over,
    }
}

/// Removes the records of a batch whose frames are damaged, reporting each
/// and counting it against the limit; the number removed.
pub(crate) fn prune(
    files: &[IndexedFile],
    ids: &mut Vec<RecordId>,
    offsets: &mut Vec<u64>,
    policy: &SkipPolicy,
    pass: &PassSkips,
) -> Result<usize> {
    let mut keep = 0;
    let mut removed = 0;
    for i in 0..ids.len() {
        let id = ids[i];
        let Some(file) = files.get(id.file) else {
            continue;
        };
        let checked =
            FrameBuf::with_thread_local(|buf| file.record(id.index as usize, buf).map(|_| ()));
        match checked {
            Err(error) if error.kind().is_damage() => {
                pass.count(&error)?;
                let len = file.index().get(id.index as usize).map_or(0, |e| e.len);
                let offset = offsets.get(i).copied().unwrap_or(0);
                policy.report(&Skipped { offset, len, error });
                removed += 1;
            }
            _ => {
                ids[keep] = id;
                offsets[keep] = offsets[i];
                keep += 1;
            }
        }
    }
    ids.truncate(keep);
    offsets.truncate(keep);
    Ok(removed)
}

/// A file whose frame headers are damaged, indexed past the damage: the
/// file, the indices of its sound entries, and the damaged stretches.
pub(crate) struct Recovered {
    pub(crate) file: IndexedFile,
    pub(crate) live: Vec<u64>,
    pub(crate) skipped: Vec<Skipped>,
}

/// The same damage, for a second report (damage carries no I/O source).
fn copy_error(error: &Error) -> Error {
    let mut copy = Error::new(error.kind().clone());
    if let (Some(offset), Some(index)) = (error.offset(), error.record_index()) {
        copy = copy.at_record(offset, index);
    }
    match error.path() {
        Some(path) => copy.with_path(path),
        None => copy,
    }
}

/// Indexes a damaged file with the skipping reader: every sound frame is an
/// entry, and so is every damaged stretch between them (a dead one, never
/// read). A stretch shorter than a frame's 16 bytes of framing cannot be an
/// entry of its own and is merged into the entry before it (or, at the
/// start of the file, after it), which is then dropped with it. A damaged
/// file of fewer than 16 bytes cannot be indexed at all: `strict`, the
/// error indexing met, is returned for it.
pub(crate) fn recover(
    path: &Path,
    mmap: bool,
    verify_data_crc: bool,
    strict: Error,
) -> Result<Recovered> {
    let log: Arc<Mutex<Vec<Skipped>>> = Arc::default();
    let sink = log.clone();
    let options = ReadOptions::default()
        .mmap(mmap)
        .corruption(CorruptionPolicy::Skip);
    let mut reader = Reader::open_with(path, options)?.on_skip(move |s| {
        if let Ok(mut log) = sink.lock() {
            log.push(Skipped {
                offset: s.offset,
                len: s.len,
                error: copy_error(&s.error),
            });
        }
    });
    // (offset, frame length, sound)
    let mut pieces: Vec<(u64, u64, bool)> = Vec::new();
    while let Some(record) = reader.next_record() {
        let record = record?;
        let len = (record.payload.len() + FRAME_OVERHEAD) as u64;
        pieces.push((record.offset, len, true));
    }
    drop(reader);
    let skipped = log
        .lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default();
    pieces.extend(skipped.iter().map(|s| (s.offset, s.len, false)));
    pieces.sort_unstable_by_key(|p| p.0);

    let mut merged: Vec<(u64, u64, bool)> = Vec::with_capacity(pieces.len());
    let mut carry: Option<(u64, u64)> = None;
    for (offset, len, sound) in pieces {
        if let Some((c_off, c_len)) = carry.take() {
            merged.push((c_off, c_len + len, false));
            continue;
        }
        if !sound && len < FRAME_OVERHEAD as u64 {
            match merged.last_mut() {
                Some(last) => {
                    last.1 += len;
                    last.2 = false;
                }
                None => carry = Some((offset, len)),
            }
            continue;
        }
        merged.push((offset, len, sound));
    }
    if carry.is_some() {
        return Err(strict);
    }
    let file_len = std::fs::metadata(path)
        .map_err(|e| Error::from(e).with_path(path))?
        .len();
    let entries: Vec<Entry> = merged
        .iter()
        .map(|&(offset, len, _)| Entry { offset, len })
        .collect();
    let live = merged
        .iter()
        .enumerate()
        .filter(|(_, p)| p.2)
        .map(|(i, _)| i as u64)
        .collect();
    let index = Index::from_entries(&entries, file_len).map_err(|e| e.with_path(path))?;
    let file = IndexedFile::with_index(path, index)?;
    let file = if mmap { file.mapped()? } else { file };
    Ok(Recovered {
        file: file.verify_data_crc(verify_data_crc),
        live,
        skipped,
    })
}
