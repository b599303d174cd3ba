//! Batches of parsed `Example`s: the dataset's files, order, shards,
//! prefetching and resumption, with a [`ParseSpec`] in place of tensor
//! stacking.

use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::example::{Column, ParseSpec, ParsedBatch};
use crate::index::{FrameBuf, IndexedFile};

use super::batch::RecordId;
use super::dataset::{Dataset, Inner};
use super::iter::{Assemble, Batching, Payloads, Run};
use super::state::IterState;

impl Dataset {
    /// The batches of parsed `Example`s from a saved state on, to the end of
    /// that state's epoch: the records of [`batches`](Dataset::batches), in
    /// the same order, batches and shards, each parsed by `spec` instead of
    /// decoded as a tensor (as `tf.io.parse_example` parses a batch of
    /// serialized examples). [`ExampleBatches::state`] gives the state to
    /// save. The dataset's [`map`](super::DatasetBuilder::map),
    /// [`pad_to`](super::DatasetBuilder::pad_to) and
    /// [`ragged`](super::DatasetBuilder::ragged) apply to tensors and are
    /// not used here.
    ///
    /// Payloads of memory-mapped files are parsed where they lie in the map,
    /// after their CRCs are checked; values go straight into the batch's
    /// buffers, which return to a pool when the batch is dropped. An error
    /// (a bad spec, a damaged record, an `Example` that does not fit the
    /// spec) names the file, record index and offset.
    ///
    /// ```
    /// use tfrec::example::{DefaultValue, Example, ParseSpec};
    /// use tfrec::pipeline::{Dataset, IterState};
    /// use tfrec::{DType, Writer};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("train.tfrecord");
    /// let mut w = Writer::create(&path)?;
    /// for i in 0..10i64 {
    ///     w.write_example(&Example::default().int64("label", [i % 3]).float("x", [i as f32; 4]))?;
    /// }
    /// w.finish()?;
    ///
    /// let spec = ParseSpec::new()
    ///     .fixed("label", DType::I64, &[], None)
    ///     .fixed("x", DType::F32, &[4], None)
    ///     .fixed("weight", DType::F32, &[], Some(DefaultValue::from(1.0f32)));
    /// let ds = Dataset::builder().file(&path).shuffle(7).batch(4).build()?;
    /// let mut batches = ds.example_batches(&spec, IterState::default())?;
    /// let first = batches.next().unwrap()?;
    /// assert_eq!(first.get("x").unwrap().shape(), [4, 4]);
    /// assert_eq!(&*first.get("weight").unwrap().values::<f32>().unwrap(), [1.0; 4]);
    /// let saved = batches.state();                // epoch 0, position 4
    /// drop(first);
    /// drop(batches);
    /// let rest: usize = ds
    ///     .example_batches(&spec, saved)?
    ///     .map(|b| b.map(|b| b.len()))
    ///     .sum::<Result<usize, _>>()?;
    /// assert_eq!(rest, 6);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn example_batches(&self, spec: &ParseSpec, state: IterState) -> Result<ExampleBatches> {
        spec.check()?;
        let inner = self.inner.clone();
        let batching = Batching {
            size: inner.cfg.batch_size,
            drop_last: inner.cfg.drop_last,
        };
        let parse = Parse {
            spec: spec.clone(),
            pool: Arc::new(PartsPool {
                free: Mutex::new(Vec::new()),
                keep: inner.cfg.prefetch + 2,
            }),
        };
        Ok(ExampleBatches {
            run: Run::new(inner, state, batching, parse)?,
        })
    }
}

/// The reusable buffers of an example batch.
#[derive(Default)]
struct Parts {
    ids: Vec<RecordId>,
    offsets: Vec<u64>,
    parsed: ParsedBatch,
    /// Payloads of records read with positioned reads, one after another,
    /// and where each lies.
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

    fn assemble(
        &self,
        inner: &Inner,
        payloads: &Payloads<'_>,
        mut parts: Parts,
    ) -> Result<ExampleBatch> {
        let Parts {
            ids,
            offsets,
            parsed,
            arena,
            spans,
        } = &mut parts;
        let (ids, offsets) = (&ids[..], &offsets[..]);
        let n = ids.len();
        let locate = |i: usize, e: Error| match ids.get(i) {
            Some(id) => e
                .at_record(offsets.get(i).copied().unwrap_or(0), id.index)
                .with_path(&inner.paths[id.file]),
            None => e,
        };
        let filled = match payloads {
            Payloads::Indexed(files) => {
                read_unmapped(files, ids, arena, spans).map_err(|(i, e)| locate(i, e))?;
                let (arena, spans) = (&arena[..], &spans[..]);
                let fetch = |i: usize| {
                    let id = ids
                        .get(i)
                        .copied()
                        .unwrap_or(RecordId { file: 0, index: 0 });
                    let file = files.get(id.file).ok_or_else(|| out_of_range(i))?;
                    match file.mapped_payload(id.index as usize) {
                        Some(payload) => payload,
                        None => spans
                            .get(i)
                            .and_then(|&(start, end)| arena.get(start..end))
                            .ok_or_else(|| out_of_range(i)),
                    }
                };
                self.spec.fill(n, fetch, parsed, true)
            }
            Payloads::Loaded(items) => {
                let fetch = |i: usize| {
                    items
                        .get(i)
                        .map(|item| &item.payload[..])
                        .ok_or_else(|| out_of_range(i))
                };
                self.spec.fill(n, fetch, parsed, true)
            }
        };
        filled.map_err(|(i, e)| match i {
            Some(i) => locate(i, e),
            None => e,
        })?;
        Ok(ExampleBatch {
            parts,
            pool: Some(self.pool.clone()),
        })
    }

    fn len(batch: &ExampleBatch) -> usize {
        batch.len()
    }
}

fn out_of_range(i: usize) -> Error {
    Error::invalid_input(format!("internal: no payload for batch position {i}"))
}

/// Reads the payloads of the batch's records in files that are not mapped
/// into `arena`, in parallel, CRCs checked; `spans[i]` is where record
/// `i`'s lies (empty for mapped records).
fn read_unmapped(
    files: &[IndexedFile],
    ids: &[RecordId],
    arena: &mut Vec<u8>,
    spans: &mut Vec<(usize, usize)>,
) -> std::result::Result<(), (usize, Error)> {
    spans.clear();
    let mut total = 0usize;
    for (i, id) in ids.iter().enumerate() {
        let len = match files.get(id.file) {
            Some(f) if !f.is_mapped() => f
                .index()
                .get(id.index as usize)
                .map_or(0, |e| e.payload_len()),
            _ => 0,
        };
        let len = usize::try_from(len).map_err(|_| {
            (
                i,
                Error::invalid_input("record too large for this platform"),
            )
        })?;
        let end = total
            .checked_add(len)
            .ok_or_else(|| (i, Error::invalid_input("batch size in bytes overflows")))?;
        spans.push((total, end));
        total = end;
    }
    if total == 0 {
        return Ok(());
    }
    arena.resize(total, 0);
    let mut slices = Vec::with_capacity(ids.len());
    let mut rest = &mut arena[..];
    for &(start, end) in spans.iter() {
        let (mine, tail) = std::mem::take(&mut rest).split_at_mut(end - start);
        slices.push(mine);
        rest = tail;
    }
    let results: Vec<std::result::Result<(), (usize, Error)>> = slices
        .into_par_iter()
        .enumerate()
        .filter(|(_, slot)| !slot.is_empty())
        .map(|(i, slot)| {
            let Some(&id) = ids.get(i) else {
                return Ok(());
            };
            let Some(file) = files.get(id.file) else {
                return Ok(());
            };
            FrameBuf::with_thread_local(|buf| {
                let record = file.record(id.index as usize, buf)?;
                if record.payload.len() != slot.len() {
                    return Err(Error::invalid_input(
                        "the frame's length differs from the index's",
                    ));
                }
                slot.copy_from_slice(&record.payload);
                Ok(())
            })
            .map_err(|e| (i, e))
        })
        .collect();
    results.into_iter().collect()
}

/// A batch of parsed `Example`s, in the order the dataset visits them; see
/// [`Dataset::example_batches`].
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
/// [`Dataset::example_batches`].
///
/// Ends after the epoch's last batch, or after the first error (which names
/// the file and record). Dropping it stops the background thread.
pub struct ExampleBatches {
    run: Run<Parse>,
}

impl ExampleBatches {
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
