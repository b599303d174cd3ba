//! Batches of parsed `Example`s: the dataset's files, order, shards,
//! prefetching and resumption, with a [`ParseSpec`] in place of tensor
//! stacking.
//!
//! The parsing assembly step and its batches: knows nothing of orders,
//! shards or prefetching, which the run it drives takes care of.

use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::example::{Column, ParseSpec, ParsedBatch};
use crate::index::IndexedFile;

use super::assemble::{Assemble, Payloads};
use super::inner::Inner;
use super::plan::RecordId;
use super::produce::Batching;
use super::run::Run;
use super::state::IterState;

/// The reusable buffers of an example batch.
#[derive(Default)]
struct Parts {
    ids: Vec<RecordId>,
    offsets: Vec<u64>,
    parsed: ParsedBatch,
    /// Frames of records read with positioned reads, and where each lies.
    arena: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

struct PartsPool {
    free: Mutex<Vec<Parts>>,
    keep: usize,
}

impl PartsPool {
    fn take(&self) -> Parts {
        let parts = match self.free.lock() {
            Ok(mut free) => free.pop(),
            Err(_) => None,
        };
        let mut parts = parts.unwrap_or_default();
        parts.ids.clear();
        parts.offsets.clear();
        parts
    }

    fn give_back(&self, parts: Parts) {
        if let Ok(mut free) = self.free.lock() {
            if free.len() < self.keep {
                free.push(parts);
            }
        }
    }
}

/// Parses `Example`s: the assembly step of [`ExampleBatches`].
struct Parse {
    spec: ParseSpec,
    pool: Arc<PartsPool>,
}

impl Assemble for Parse {
    type Parts = Parts;
    type Output = ExampleBatch;

    fn parts(&self) -> Parts {
        self.pool.take()
    }

    fn positions(parts: &mut Parts) -> (&mut Vec<RecordId>, &mut Vec<u64>) {
        (&mut parts.ids, &mut parts.offsets)
    }

    const WHOLE_BATCHES: bool = true;

    fn assemble(
        &self,
        inner: &Inner,
        payloads: &Payloads<'_>,
        parts: &mut Parts,
        spread: bool,
    ) -> Result<ExampleBatch> {
        let Parts {
            ids,
            offsets,
            parsed,
            arena,
            spans,
        } = parts;
        let (ids, offsets) = (&ids[..], &offsets[..]);
        let n = ids.len();
        let locate = |i: usize, e: Error| match ids.get(i) {
            Some(id) => e
                .at_record(offsets.get(i).copied().unwrap_or(0), id.index)
                .with_path(&inner.plan.paths[id.file]),
            None => e,
        };
        let filled = match payloads {
            Payloads::Indexed(files) => {
                read_unmapped(files, ids, arena, spans, spread).map_err(|(i, e)| locate(i, e))?;
                let (arena, spans) = (&arena[..], &spans[..]);
                let fetch = |i: usize| {
                    let id = ids
                        .get(i)
                        .copied()
                        .unwrap_or(RecordId { file: 0, index: 0 });
                    let file = files.get(id.file).ok_or_else(|| out_of_range(i))?;
                    match file.mapped_payload(id.index as usize) {
                        Some(payload) => payload,
                        None => {
                            let frame = spans
                                .get(i)
                                .and_then(|&(start, end)| arena.get(start..end))
                                .ok_or_else(|| out_of_range(i))?;
                            file.checked_payload(id.index as usize, frame)
                        }
                    }
                };
                self.spec.fill(n, fetch, parsed, spread)
            }
            Payloads::Loaded(items) => {
                let fetch = |i: usize| {
                    items
                        .get(i)
                        .map(|item| &item.payload[..])
                        .ok_or_else(|| out_of_range(i))
                };
                self.spec.fill(n, fetch, parsed, spread)
            }
        };
        filled.map_err(|(i, e)| match i {
            Some(i) => locate(i, e),
            None => e,
        })?;
        Ok(ExampleBatch {
            parts: std::mem::take(parts),
            pool: Some(self.pool.clone()),
        })
    }

    fn empty(&self, parts: Parts) -> ExampleBatch {
        ExampleBatch {
            parts,
            pool: Some(self.pool.clone()),
        }
    }

    fn len(batch: &ExampleBatch) -> usize {
        batch.len()
    }
}

fn out_of_range(i: usize) -> Error {
    Error::invalid_input(format!("internal: no payload for batch position {i}"))
}

/// Bytes of a memory page: runs are read to the same offset within a page
/// as they have in the file, which the kernel copies several times faster.
const PAGE: usize = 4096;

/// Most bytes read at once for one run of adjacent frames.
const MAX_RUN: u64 = 1 << 20;

/// One positioned read: adjacent frames of one file.
struct FrameRun<'a> {
    file: &'a IndexedFile,
    /// Offset in the file.
    offset: u64,
    /// Where the run's bytes go.
    dst: &'a mut [u8],
    /// The batch position of its first record.
    first: usize,
}

/// Reads the frames of the batch's records in files that are not mapped
/// into `arena`, each run of frames adjacent in one file (records in file
/// order, as an unshuffled epoch visits them) with one positioned read;
/// `spans[i]` is where record `i`'s frame lies (empty for mapped records).
/// Frames are checked later, when parsed.
fn read_unmapped(
    files: &[IndexedFile],
    ids: &[RecordId],
    arena: &mut Vec<u8>,
    spans: &mut Vec<(usize, usize)>,
    spread: bool,
) -> std::result::Result<(), (usize, Error)> {
    spans.clear();
    // Runs as (file, offset, length, first record), and each record's frame
    // as (run, offset in the run, length).
    let mut runs: Vec<(usize, u64, u64, usize)> = Vec::new();
    let mut frames: Vec<(usize, u64, u64)> = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let entry = match files.get(id.file) {
            Some(f) if !f.is_mapped() => f.index().get(id.index as usize),
            _ => None,
        };
        let Some(entry) = entry else {
            frames.push((usize::MAX, 0, 0));
            continue;
        };
        let last = runs.len().wrapping_sub(1);
        match runs.last_mut() {
            Some((file, offset, len, _))
                if *file == id.file && *offset + *len == entry.offset && *len < MAX_RUN =>
            {
                frames.push((last, *len, entry.len));
                *len += entry.len;
            }
            _ => {
                frames.push((runs.len(), 0, entry.len));
                runs.push((id.file, entry.offset, entry.len, i));
            }
        }
    }
    if runs.is_empty() {
        return Ok(());
    }
    let too_large = |i| (i, Error::invalid_input("batch size in bytes overflows"));
    let mut total = PAGE;
    for &(_, _, len, first) in &runs {
        let len = usize::try_from(len).map_err(|_| too_large(first))?;
        total = total
            .checked_add(len)
            .and_then(|t| t.checked_add(2 * PAGE))
            .ok_or_else(|| too_large(first))?;
    }
    arena.resize(total, 0);
    let mut cursor = (PAGE - arena.as_ptr() as usize % PAGE) % PAGE;
    let mut starts = Vec::with_capacity(runs.len());
    for &(_, offset, len, _) in &runs {
        let start = cursor + (offset % PAGE as u64) as usize;
        starts.push(start);
        cursor = (start + len as usize).div_ceil(PAGE) * PAGE;
    }
    for &(run, at, len) in &frames {
        match starts.get(run) {
            Some(&start) => spans.push((start + at as usize, start + (at + len) as usize)),
            None => spans.push((0, 0)),
        }
    }
    let mut work = Vec::with_capacity(runs.len());
    let mut rest = &mut arena[..];
    let mut taken = 0;
    for (&(file, offset, len, first), &start) in runs.iter().zip(&starts) {
        let (_, tail) = std::mem::take(&mut rest).split_at_mut(start - taken);
        let (dst, tail) = tail.split_at_mut(len as usize);
        rest = tail;
        taken = start + len as usize;
        let Some(file) = files.get(file) else {
            continue;
        };
        work.push(FrameRun {
            file,
            offset,
            dst,
            first,
        });
    }
    let read = |run: FrameRun<'_>| {
        run.file
            .read_at(run.offset, run.dst)
            .map_err(|e| (run.first, e))
    };
    if !spread || work.len() == 1 {
        return work.into_iter().try_for_each(read);
    }
    let results: Vec<std::result::Result<(), (usize, Error)>> =
        work.into_par_iter().map(read).collect();
    results.into_iter().collect()
}

/// A batch of parsed `Example`s, in the order the dataset visits them; see
/// [`Dataset::example_batches`](super::Dataset::example_batches).
///
/// Its buffers go back to a pool when it is dropped, and the batches after
/// it reuse them.
pub struct ExampleBatch {
    parts: Parts,
    pool: Option<Arc<PartsPool>>,
}

impl ExampleBatch {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.parts.ids.len()
    }

    /// True for a batch of no records (never yielded by a dataset).
    pub fn is_empty(&self) -> bool {
        self.parts.ids.is_empty()
    }

    /// The records, in order.
    pub fn ids(&self) -> &[RecordId] {
        &self.parts.ids
    }

    /// Byte offset of each record's frame in its file (in the decompressed
    /// stream for compressed files).
    pub fn offsets(&self) -> &[u64] {
        &self.parts.offsets
    }

    /// The column of feature `name`: a stacked tensor for fixed and tensor
    /// features, values and row splits for variable-length ones.
    pub fn get(&self, name: &str) -> Option<Column<'_>> {
        self.parts.parsed.get(name)
    }

    /// Every feature's column.
    pub fn parsed(&self) -> &ParsedBatch {
        &self.parts.parsed
    }

    /// The parsed columns, owned. Their buffers leave the pool (a later
    /// batch allocates new ones).
    pub fn into_parsed(mut self) -> ParsedBatch {
        std::mem::take(&mut self.parts.parsed)
    }
}

impl Drop for ExampleBatch {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.give_back(std::mem::take(&mut self.parts));
        }
    }
}

impl std::fmt::Debug for ExampleBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExampleBatch")
            .field("len", &self.len())
            .field("columns", &self.parts.parsed.columns().collect::<Vec<_>>())
            .finish()
    }
}

/// The example batches of one epoch, from a given state on; see
/// [`Dataset::example_batches`](super::Dataset::example_batches).
///
/// Ends after the epoch's last batch, or after the first error (which names
/// the file and record). Dropping it stops the background thread.
pub struct ExampleBatches {
    run: Run<Parse>,
}

impl ExampleBatches {
    /// Batches `split.0`, `split.0 + split.1`, ... of the parsed batches
    /// from `state` on; `spec` is checked.
    pub(crate) fn new(
        inner: Arc<Inner>,
        spec: &ParseSpec,
        state: IterState,
        split: (u64, u64),
    ) -> Result<ExampleBatches> {
        spec.check()?;
        let batching = Batching {
            size: inner.plan.cfg.batch_size,
            drop_last: inner.plan.cfg.drop_last,
            part: split.0,
            parts: split.1,
        };
        let parse = Parse {
            spec: spec.clone(),
            pool: Arc::new(PartsPool {
                free: Mutex::new(Vec::new()),
                keep: inner.plan.cfg.prefetch + 2,
            }),
        };
        Ok(ExampleBatches {
            run: Run::new(inner, state, batching, parse)?,
        })
    }

    /// The state to save: resuming from it yields the batch after the last
    /// one this iterator returned. After the epoch's last batch it is the
    /// start of the next epoch.
    pub fn state(&self) -> IterState {
        self.run.state()
    }
}

impl Iterator for ExampleBatches {
    type Item = Result<ExampleBatch>;

    fn next(&mut self) -> Option<Result<ExampleBatch>> {
        self.run.next()
    }
}
