//! Iterating a dataset: assembling batches on the decoding pool, on a
//! background thread when prefetching, or, for batches that are best made
//! whole (parsed examples of indexed files), several at once on the pool's
//! threads, one batch per thread.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::error::{Error, Result};
use crate::tensor::Tensor;

use super::batch::{Batch, RecordId};
use super::dataset::{Files, Inner, Stacking};
use super::part::Part;
use super::skip::{self, PassSkips};
use super::stack::Stack;
use super::state::IterState;
use super::stream::{Item, Streamer};

/// Records per internal batch when iterating samples one by one.
const SAMPLE_CHUNK: usize = 64;

#[derive(Debug, Clone)]
pub(crate) struct BatchSpec {
    size: usize,
    drop_last: bool,
    stacking: Stacking,
    part: u64,
    parts: u64,
}

/// How an epoch's records are cut into batches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batching {
    pub(crate) size: usize,
    pub(crate) drop_last: bool,
    /// Only batches `part`, `part + parts`, ... of those from the state on.
    pub(crate) part: u64,
    pub(crate) parts: u64,
}

impl Batching {
    /// Where this part's first batch starts, from `position` on.
    fn first(&self, position: u64) -> u64 {
        position.saturating_add(self.part.saturating_mul(self.size as u64))
    }

    /// Records of the other parts' batches after each of this part's.
    fn stride(&self) -> u64 {
        self.parts
            .saturating_sub(1)
            .saturating_mul(self.size as u64)
    }
}

/// Puts the records of one batch together: stacks tensors ([`Batches`]),
/// or parses `Example`s ([`ExampleBatches`](super::ExampleBatches)). The
/// producer finds the records and their payloads; this does the rest, on
/// the dataset's pool.
pub(crate) trait Assemble: Send + Sync + 'static {
    /// A batch's reusable buffers, its record ids and offsets among them.
    type Parts: Send;
    /// A finished batch.
    type Output: Send + 'static;

    /// Buffers for the next batch, from a pool when one is free, with no
    /// ids or offsets.
    fn parts(&self) -> Self::Parts;

    /// Where the batch's record ids and frame offsets go.
    fn positions(parts: &mut Self::Parts) -> (&mut Vec<RecordId>, &mut Vec<u64>);

    /// Whether batches of indexed files are better assembled whole, one
    /// per pool thread and several at once, than one at a time, each spread
    /// over the pool.
    const WHOLE_BATCHES: bool = false;

    /// Builds the batch of the records in `parts`, reading their payloads
    /// from `payloads`, on the pool's threads when `spread` (on the current
    /// thread alone otherwise); the batch takes the buffers of `parts`.
    /// Errors name the file and record, and leave `parts` as they were,
    /// to try again without a damaged record.
    fn assemble(
        &self,
        inner: &Inner,
        payloads: &Payloads<'_>,
        parts: &mut Self::Parts,
        spread: bool,
    ) -> Result<Self::Output>;

    /// A batch of no records (all of its records were damaged and dropped),
    /// which is not yielded; its buffers go back to the pool.
    fn empty(&self, parts: Self::Parts) -> Self::Output;

    /// Records in a batch.
    fn len(output: &Self::Output) -> usize;
}

enum Source {
    /// Global positions, in this rank's order.
    Indexed { order: Vec<u64> },
    Streamed {
        streamer: Box<Streamer>,
        loaded: Vec<Item>,
    },
}

/// Makes the batches of one epoch, in order.
struct Producer<A> {
    inner: Arc<Inner>,
    size: usize,
    assembler: Arc<A>,
    source: Source,
    next: u64,
    end: u64,
    /// Records skipped after each batch: other parts' batches.
    stride: u64,
    skips: Arc<PassSkips>,
}

/// The end of the records an epoch's batches cover.
fn batch_end(len: u64, batching: Batching) -> u64 {
    if batching.drop_last {
        len - len % batching.size as u64
    } else {
        len
    }
}

impl<A: Assemble> Producer<A> {
    /// From `state` on in `part` (as [`Inner::resume`] gives them).
    fn new(
        inner: Arc<Inner>,
        part: Part,
        batching: Batching,
        assembler: A,
        state: IterState,
    ) -> Result<Producer<A>> {
        let end = batch_end(part.len(), batching);
        let next = batching.first(state.position);
        let source = match inner.files {
            Files::Indexed(_) => Source::Indexed {
                order: inner.positions(&part, state.epoch),
            },
            Files::Streamed => {
                let mut streamer = Streamer::new(inner.clone(), part, state.epoch);
                // No random access: replay the stream up to the position.
                for _ in 0..next.min(end) {
                    match streamer.next_item() {
                        Some(Ok(item)) => streamer.recycle(item.payload),
                        Some(Err(e)) => return Err(e),
                        None => break,
                    }
                }
                Source::Streamed {
                    streamer: Box::new(streamer),
                    loaded: Vec::new(),
                }
            }
        };
        let skips = Arc::new(PassSkips::new(inner.index_skips, inner.skip.max_skipped));
        Ok(Producer {
            inner,
            size: batching.size,
            assembler: Arc::new(assembler),
            source,
            next,
            end,
            stride: batching.stride(),
            skips,
        })
    }

    fn next_batch(&mut self) -> Option<Result<A::Output>> {
        if self.next >= self.end {
            return None;
        }
        let n = (self.end - self.next).min(self.size as u64) as usize;
        let inner = &*self.inner;
        let mut parts = self.assembler.parts();
        let (ids, offsets) = A::positions(&mut parts);
        let fetched;
        let payloads = match (&mut self.source, &inner.files) {
            (Source::Indexed { order }, Files::Indexed(files)) => {
                indexed_positions(inner, files, order, self.next as usize, n, ids, offsets);
                match super::stream::fetch_remote(files, ids, offsets) {
                    Some(Ok(items)) => {
                        fetched = items;
                        Payloads::Loaded(&fetched)
                    }
                    Some(Err(e)) => return Some(Err(e)),
                    None => Payloads::Indexed(files),
                }
            }
            (Source::Streamed { streamer, loaded }, _) => {
                for item in loaded.drain(..) {
                    streamer.recycle(item.payload);
                }
                for _ in 0..n {
                    match streamer.next_item() {
                        Some(Ok(item)) => loaded.push(item),
                        Some(Err(e)) => return Some(Err(e)),
                        None => {
                            return Some(Err(Error::invalid_input(
                                "the files hold fewer records than when the dataset was built",
                            )))
                        }
                    }
                }
                ids.extend(loaded.iter().map(|it| it.id));
                offsets.extend(loaded.iter().map(|it| it.offset));
                Payloads::Loaded(loaded)
            }
            (Source::Indexed { .. }, Files::Streamed) => return None,
        };
        let assembler = &*self.assembler;
        let skips = &*self.skips;
        let result = inner
            .threads
            .install(|| assemble_skipping(assembler, inner, &payloads, parts, true, skips));
        self.next += n as u64;
        if let Err(e) = self.pass_over() {
            return Some(Err(e));
        }
        Some(result)
    }

    /// Moves past the other parts' batches after one of this part's,
    /// reading them from a stream (there is no seeking in one).
    fn pass_over(&mut self) -> Result<()> {
        let skip = self.stride.min(self.end.saturating_sub(self.next));
        if let Source::Streamed { streamer, .. } = &mut self.source {
            for _ in 0..skip {
                match streamer.next_item() {
                    Some(Ok(item)) => streamer.recycle(item.payload),
                    Some(Err(e)) => return Err(e),
                    None => break,
                }
            }
        }
        self.next += self.stride;
        Ok(())
    }

    /// Starts assembling the next batch of an indexed dataset on one of the
    /// pool's threads; the receiver gets the batch.
    fn spawn_next(&mut self) -> Option<Receiver<Result<A::Output>>> {
        if self.next >= self.end {
            return None;
        }
        let n = (self.end - self.next).min(self.size as u64) as usize;
        let (Source::Indexed { order }, Files::Indexed(files)) = (&self.source, &self.inner.files)
        else {
            return None;
        };
        let inner = &self.inner;
        let mut parts = self.assembler.parts();
        let (ids, offsets) = A::positions(&mut parts);
        indexed_positions(inner, files, order, self.next as usize, n, ids, offsets);
        self.next += n as u64 + self.stride;
        let (tx, rx) = mpsc::sync_channel(1);
        let (inner, assembler) = (inner.clone(), self.assembler.clone());
        let skips = self.skips.clone();
        self.inner.threads.spawn(move || {
            let result = match &inner.files {
                Files::Indexed(files) => {
                    let (ids, offsets) = A::positions(&mut parts);
                    match super::stream::fetch_remote(files, ids, offsets) {
                        Some(Ok(items)) => assemble_skipping(
                            &*assembler,
                            &inner,
                            &Payloads::Loaded(&items),
                            parts,
                            false,
                            &skips,
                        ),
                        Some(Err(e)) => Err(e),
                        None => assemble_skipping(
                            &*assembler,
                            &inner,
                            &Payloads::Indexed(files),
                            parts,
                            false,
                            &skips,
                        ),
                    }
                }
                Files::Streamed => Err(Error::invalid_input(
                    "internal: a streamed dataset has no random access",
                )),
            };
            // The receiver is gone when the iterator was dropped.
            let _ = tx.send(result);
        });
        Some(rx)
    }
}

/// Assembles a batch; when that fails on a damaged record and the dataset
/// skips damage, drops the batch's damaged records (reporting each) and
/// assembles the rest.
fn assemble_skipping<A: Assemble>(
    assembler: &A,
    inner: &Inner,
    payloads: &Payloads<'_>,
    mut parts: A::Parts,
    spread: bool,
    skips: &PassSkips,
) -> Result<A::Output> {
    loop {
        match assembler.assemble(inner, payloads, &mut parts, spread) {
            Err(e) if inner.skip.skip && e.kind().is_damage() => {
                // Streamed records were checked by the skipping reader.
                let Payloads::Indexed(files) = payloads else {
                    return Err(e);
                };
                let (ids, offsets) = A::positions(&mut parts);
                if skip::prune(files, ids, offsets, &inner.skip, skips)? == 0 {
                    return Err(e);
                }
                if ids.is_empty() {
                    return Ok(assembler.empty(parts));
                }
            }
            result => return result,
        }
    }
}

/// Appends the ids and frame offsets of the `n` records of an indexed
/// epoch's `order` from `start` on.
fn indexed_positions(
    inner: &Inner,
    files: &[crate::index::IndexedFile],
    order: &[u64],
    start: usize,
    n: usize,
    ids: &mut Vec<RecordId>,
    offsets: &mut Vec<u64>,
) {
    let positions = order.get(start..start + n).unwrap_or_default();
    ids.extend(positions.iter().map(|&p| inner.id_of(p)));
    offsets.extend(ids.iter().map(|id| {
        files[id.file]
            .index()
            .get(id.index as usize)
            .map_or(0, |e| e.offset)
    }));
}

/// Where the payloads of a batch come from.
pub(crate) enum Payloads<'a> {
    Indexed(&'a [crate::index::IndexedFile]),
    Loaded(&'a [Item]),
}

enum Engine<A: Assemble> {
    Inline(Box<Producer<A>>),
    /// Up to `window` batches of an indexed dataset assembled at once, each
    /// whole on one pool thread, started from the caller's thread.
    Whole {
        producer: Box<Producer<A>>,
        in_flight: VecDeque<Receiver<Result<A::Output>>>,
        window: usize,
    },
    Background {
        rx: Option<Receiver<Result<A::Output>>>,
        stop: Arc<AtomicBool>,
        handle: Option<JoinHandle<()>>,
    },
}

/// The batches of one epoch from a given state on, whatever they are made
/// of: the prefetch engine and the state to resume from.
pub(crate) struct Run<A: Assemble> {
    engine: Engine<A>,
    state: IterState,
    /// The state after the epoch's last batch.
    next_epoch: IterState,
    len: u64,
    /// Records per batch: each batch moves the state on by this many (or
    /// what is left), however many damaged records were dropped from it.
    size: u64,
    /// Records of other parts' batches after each batch.
    stride: u64,
    done: bool,
    failed: bool,
}

impl<A: Assemble> Run<A> {
    pub(crate) fn new(
        inner: Arc<Inner>,
        state: IterState,
        batching: Batching,
        assembler: A,
    ) -> Result<Run<A>> {
        let (part, state) = inner.resume(state)?;
        let next_epoch = inner.next_epoch(state.epoch);
        let end = batch_end(part.len(), batching);
        let prefetch = inner.cfg.prefetch;
        let whole = A::WHOLE_BATCHES && matches!(inner.files, Files::Indexed(_));
        let mut producer = Producer::new(inner, part, batching, assembler, state)?;
        let engine = if prefetch == 0 {
            Engine::Inline(Box::new(producer))
        } else if whole {
            Engine::Whole {
                producer: Box::new(producer),
                in_flight: VecDeque::with_capacity(prefetch + 1),
                window: prefetch,
            }
        } else {
            // A queue of k - 1 plus the batch being filled: k in flight.
            let (tx, rx) = mpsc::sync_channel(prefetch - 1);
            let stop = Arc::new(AtomicBool::new(false));
            let halt = stop.clone();
            let handle = std::thread::Builder::new()
                .name("tfrec-prefetch".into())
                .spawn(move || {
                    while !halt.load(Ordering::Relaxed) {
                        let Some(item) = producer.next_batch() else {
                            break;
                        };
                        let failed = item.is_err();
                        if tx.send(item).is_err() || failed {
                            break;
                        }
                    }
                })
                .map_err(Error::from)?;
            Engine::Background {
                rx: Some(rx),
                stop,
                handle: Some(handle),
            }
        };
        let state = IterState {
            position: batching.first(state.position).min(end),
            ..state
        };
        Ok(Run {
            engine,
            state,
            next_epoch,
            len: end,
            size: batching.size as u64,
            stride: batching.stride(),
            done: state.position >= end,
            failed: false,
        })
    }

    /// The state to save: resuming from it yields the batch after the last
    /// one returned. After the epoch's last batch it is the start of the
    /// next epoch.
    pub(crate) fn state(&self) -> IterState {
        if self.done && !self.failed {
            self.next_epoch
        } else {
            self.state
        }
    }

    pub(crate) fn next(&mut self) -> Option<Result<A::Output>> {
        loop {
            if self.done || self.failed {
                return None;
            }
            match self.next_made()? {
                Ok(batch) => {
                    let planned = (self.len - self.state.position).min(self.size);
                    self.state.position =
                        (self.state.position + planned + self.stride).min(self.len);
                    self.done = self.state.position >= self.len;
                    if A::len(&batch) > 0 {
                        return Some(Ok(batch));
                    }
                }
                Err(e) => {
                    // Stay at the failed batch: the state is not advanced.
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }

    /// The next batch the engine made; `None` (and done) at the end.
    fn next_made(&mut self) -> Option<Result<A::Output>> {
        let item = match &mut self.engine {
            Engine::Inline(p) => p.next_batch(),
            Engine::Whole {
                producer,
                in_flight,
                window,
            } => {
                let next = in_flight.pop_front().or_else(|| producer.spawn_next());
                // Keep `window` batches in the making while the caller
                // works on this one.
                while in_flight.len() < *window {
                    let Some(rx) = producer.spawn_next() else {
                        break;
                    };
                    in_flight.push_back(rx);
                }
                next.map(|rx| {
                    rx.recv().unwrap_or_else(|_| {
                        Err(Error::invalid_input(
                            "internal: a batch was dropped before it was assembled",
                        ))
                    })
                })
            }
            Engine::Background { rx, .. } => rx.as_ref().and_then(|rx| rx.recv().ok()),
        };
        if item.is_none() {
            self.done = true;
        }
        item
    }
}

impl<A: Assemble> Drop for Run<A> {
    fn drop(&mut self) {
        match &mut self.engine {
            Engine::Background { rx, stop, handle } => {
                stop.store(true, Ordering::Relaxed);
                drop(rx.take());
                if let Some(h) = handle.take() {
                    let _ = h.join();
                }
            }
            // Nothing of the iterator's goes on running once it is dropped:
            // wait for the batches still being made (at most `prefetch`).
            Engine::Whole { in_flight, .. } => {
                for rx in in_flight.drain(..) {
                    let _ = rx.recv();
                }
            }
            Engine::Inline(_) => {}
        }
    }
}

/// The batches of one epoch, from a given state on; see
/// [`Dataset::batches`](super::Dataset::batches).
///
/// Ends after the epoch's last batch, or after the first error (which names
/// the file and record). Dropping it stops the background thread.
pub struct Batches {
    run: Run<Stack>,
}

impl Batches {
    pub(crate) fn new(
        inner: Arc<Inner>,
        state: IterState,
        spec: Option<BatchSpec>,
        split: (u64, u64),
    ) -> Result<Batches> {
        let spec = spec.unwrap_or_else(|| BatchSpec {
            size: inner.cfg.batch_size,
            drop_last: inner.cfg.drop_last,
            stacking: inner.cfg.stacking.clone(),
            part: split.0,
            parts: split.1,
        });
        let batching = Batching {
            size: spec.size,
            drop_last: spec.drop_last,
            part: spec.part,
            parts: spec.parts,
        };
        let stack = Stack {
            stacking: spec.stacking,
            pool: inner.slabs.clone(),
        };
        Ok(Batches {
            run: Run::new(inner, state, batching, stack)?,
        })
    }

    /// The state to save: resuming from it yields the batch after the last
    /// one this iterator returned. After the epoch's last batch it is the
    /// start of the next epoch.
    pub fn state(&self) -> IterState {
        self.run.state()
    }
}

impl Iterator for Batches {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Result<Batch>> {
        self.run.next()
    }
}

/// One decoded (and mapped) record; see [`Dataset::samples`](super::Dataset::samples).
#[derive(Debug, Clone)]
pub struct Sample {
    /// Which record.
    pub id: RecordId,
    /// Byte offset of its frame (in the decompressed stream for compressed
    /// files).
    pub offset: u64,
    /// The tensor.
    pub tensor: Tensor,
}

/// The records of one epoch one at a time, from a given state on.
pub struct Samples {
    batches: Batches,
    current: std::vec::IntoIter<Sample>,
    state: IterState,
    next_epoch: IterState,
    len: u64,
    failed: bool,
}

impl Samples {
    pub(crate) fn new(inner: Arc<Inner>, state: IterState) -> Result<Samples> {
        let (part, state) = inner.resume(state)?;
        let (len, next_epoch) = (part.len(), inner.next_epoch(state.epoch));
        let spec = BatchSpec {
            size: SAMPLE_CHUNK,
            drop_last: false,
            stacking: Stacking::Ragged,
            part: 0,
            parts: 1,
        };
        Ok(Samples {
            batches: Batches::new(inner, state, Some(spec), (0, 1))?,
            current: Vec::new().into_iter(),
            state,
            next_epoch,
            len,
            failed: false,
        })
    }

    /// The state to save: resuming from it yields the record after the last
    /// one returned.
    pub fn state(&self) -> IterState {
        if self.state.position >= self.len && !self.failed {
            self.next_epoch
        } else {
            self.state
        }
    }
}

impl Iterator for Samples {
    type Item = Result<Sample>;

    fn next(&mut self) -> Option<Result<Sample>> {
        loop {
            if let Some(sample) = self.current.next() {
                self.state.position += 1;
                if self.current.len() == 0 {
                    // Exact even when damaged records were dropped from
                    // the chunk.
                    self.state = self.batches.state();
                }
                return Some(Ok(sample));
            }
            match self.batches.next()? {
                Ok(batch) => {
                    let (ids, offsets, tensors) = batch.into_parts();
                    let samples: Vec<Sample> = ids
                        .into_iter()
                        .zip(offsets)
                        .zip(tensors)
                        .map(|((id, offset), tensor)| Sample { id, offset, tensor })
                        .collect();
                    self.current = samples.into_iter();
                }
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
    }
}
