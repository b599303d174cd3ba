//! Iterating a dataset: assembling batches on the decoding pool, on a
//! background thread when prefetching, or, for batches that are best made
//! whole (parsed examples of indexed files), several at once on the pool's
//! threads, one batch per thread.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use rayon::prelude::*;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::index::FrameBuf;
use crate::tensor::{num_elements, Dims, Tensor, TensorView};

use super::batch::{Batch, Data, Pool, RecordId, Slab};
use super::dataset::{Files, Inner, Stacking};
use super::state::IterState;
use super::stream::{Item, Streamer};

/// Records per internal batch when iterating samples one by one.
const SAMPLE_CHUNK: usize = 64;

#[derive(Debug, Clone)]
pub(crate) struct BatchSpec {
    size: usize,
    drop_last: bool,
    stacking: Stacking,
}

/// How an epoch's records are cut into batches.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batching {
    pub(crate) size: usize,
    pub(crate) drop_last: bool,
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
    /// thread alone otherwise). Errors name the file and record.
    fn assemble(
        &self,
        inner: &Inner,
        payloads: &Payloads<'_>,
        parts: Self::Parts,
        spread: bool,
    ) -> Result<Self::Output>;

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
    fn new(
        inner: Arc<Inner>,
        batching: Batching,
        assembler: A,
        state: IterState,
    ) -> Result<Producer<A>> {
        let len = inner.shard_len();
        if state.position > len {
            return Err(Error::invalid_input(format!(
                "cannot resume at position {} of epoch {}: this rank has {len} records an epoch",
                state.position, state.epoch
            )));
        }
        let end = batch_end(len, batching);
        let source = match inner.files {
            Files::Indexed(_) => Source::Indexed {
                order: inner.positions(state.epoch),
            },
            Files::Streamed => {
                let mut streamer = Streamer::new(inner.clone(), state.epoch);
                // No random access: replay the stream up to the position.
                for _ in 0..state.position.min(end) {
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
        Ok(Producer {
            inner,
            size: batching.size,
            assembler: Arc::new(assembler),
            source,
            next: state.position,
            end,
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
        let assembler = &self.assembler;
        let result = inner
            .threads
            .install(|| assembler.assemble(inner, &payloads, parts, true));
        self.next += n as u64;
        Some(result)
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
        self.next += n as u64;
        let (tx, rx) = mpsc::sync_channel(1);
        let (inner, assembler) = (inner.clone(), self.assembler.clone());
        self.inner.threads.spawn(move || {
            let result = match &inner.files {
                Files::Indexed(files) => {
                    let (ids, offsets) = A::positions(&mut parts);
                    match super::stream::fetch_remote(files, ids, offsets) {
                        Some(Ok(items)) => {
                            assembler.assemble(&inner, &Payloads::Loaded(&items), parts, false)
                        }
                        Some(Err(e)) => Err(e),
                        None => assembler.assemble(&inner, &Payloads::Indexed(files), parts, false),
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

/// Stacks tensors: the assembly step of [`Batches`].
struct Stack {
    stacking: Stacking,
    pool: Arc<Pool>,
}

impl Assemble for Stack {
    type Parts = Slab;
    type Output = Batch;

    fn parts(&self) -> Slab {
        self.pool.take()
    }

    fn positions(slab: &mut Slab) -> (&mut Vec<RecordId>, &mut Vec<u64>) {
        (&mut slab.ids, &mut slab.offsets)
    }

    fn assemble(
        &self,
        inner: &Inner,
        payloads: &Payloads<'_>,
        mut slab: Slab,
        _spread: bool,
    ) -> Result<Batch> {
        let data = assemble(inner, &self.stacking, payloads, &mut slab)?;
        Ok(Batch::new(slab, data, self.pool.clone()))
    }

    fn len(batch: &Batch) -> usize {
        batch.len()
    }
}

/// Where the payloads of a batch come from.
pub(crate) enum Payloads<'a> {
    Indexed(&'a [crate::index::IndexedFile]),
    Loaded(&'a [Item]),
}

/// Calls `f` with record `i` of the batch decoded (and mapped).
fn with_tensor<R>(
    inner: &Inner,
    payloads: &Payloads<'_>,
    ids: &[RecordId],
    offsets: &[u64],
    i: usize,
    f: impl FnOnce(TensorView<'_>) -> Result<R>,
) -> Result<R> {
    let id = ids[i];
    let apply = |view: TensorView<'_>| match &inner.map {
        Some(map) => {
            let mapped = map(view)?;
            f(mapped.view())
        }
        None => f(view),
    };
    let result = match payloads {
        Payloads::Indexed(files) => FrameBuf::with_thread_local(|buf| {
            files[id.file]
                .record(id.index as usize, buf)
                .and_then(|record| apply(record.decode()?))
        }),
        Payloads::Loaded(items) => TensorView::decode(&items[i].payload).and_then(apply),
    };
    result.map_err(|e| {
        e.at_record(offsets.get(i).copied().unwrap_or(0), id.index)
            .with_path(&inner.paths[id.file])
    })
}

/// What every record of a stacked batch must be.
struct Target {
    dtype: DType,
    shape: Dims,
    pad: bool,
    /// The record that set it, for error messages.
    first: RecordId,
}

impl Target {
    fn first(&self, inner: &Inner) -> String {
        describe(inner, self.first)
    }

    fn slot_bytes(&self) -> Result<usize> {
        num_elements(&self.shape)?
            .checked_mul(self.dtype.size().unwrap_or(0))
            .ok_or_else(|| Error::invalid_input("batch element size overflows"))
    }

    /// Copies `t` into its slot, padding when asked.
    fn fill(
        &self,
        inner: &Inner,
        t: &TensorView<'_>,
        slot: &mut [u8],
        own_shape: &mut Dims,
    ) -> Result<()> {
        if t.dtype() != self.dtype {
            return Err(Error::invalid_input(format!(
                "cannot stack dtype {} with the batch's {} (set by {})",
                t.dtype(),
                self.dtype,
                self.first(inner)
            )));
        }
        own_shape.clear();
        own_shape.extend_from_slice(t.shape());
        let bytes = t.bytes().unwrap_or_default();
        if !self.pad {
            if t.shape() != &self.shape[..] {
                return Err(Error::invalid_input(format!(
                    "cannot stack shape {:?} with the batch's {:?} (set by {}); \
                     pad or ragged batches take varying shapes",
                    t.shape(),
                    &self.shape[..],
                    self.first(inner)
                )));
            }
            slot.copy_from_slice(bytes);
            return Ok(());
        }
        pad_copy(
            bytes,
            t.shape(),
            &self.shape,
            self.dtype.size().unwrap_or(1),
            slot,
        )
    }
}

/// Copies a C-order tensor of `shape` into the top corner of a zeroed
/// tensor of `padded` shape.
fn pad_copy(
    src: &[u8],
    shape: &[usize],
    padded: &[usize],
    esize: usize,
    dst: &mut [u8],
) -> Result<()> {
    if shape.len() != padded.len() || shape.iter().zip(padded).any(|(s, p)| s > p) {
        return Err(Error::invalid_input(format!(
            "shape {shape:?} does not fit the padded shape {padded:?}"
        )));
    }
    dst.fill(0);
    let Some((&last, outer)) = shape.split_last() else {
        dst.copy_from_slice(src);
        return Ok(());
    };
    let row = last * esize;
    if row == 0 || outer.contains(&0) {
        return Ok(());
    }
    // Element strides of the padded shape.
    let mut strides: Dims = Dims::from_elem(1, padded.len());
    for d in (0..padded.len() - 1).rev() {
        strides[d] = strides[d + 1] * padded[d + 1];
    }
    let mut at: Dims = Dims::from_elem(0, outer.len());
    for chunk in src.chunks_exact(row) {
        let start = at.iter().zip(&strides).map(|(i, s)| i * s).sum::<usize>() * esize;
        dst[start..start + row].copy_from_slice(chunk);
        // Advance the multi-index over the outer dimensions.
        for d in (0..outer.len()).rev() {
            at[d] += 1;
            if at[d] < outer[d] {
                break;
            }
            at[d] = 0;
        }
    }
    Ok(())
}

fn describe(inner: &Inner, id: RecordId) -> String {
    format!("{} record {}", inner.paths[id.file].display(), id.index)
}

/// Decodes the records of `slab.ids` into the batch's data.
fn assemble(
    inner: &Inner,
    stacking: &Stacking,
    payloads: &Payloads<'_>,
    slab: &mut Slab,
) -> Result<Data> {
    let Slab {
        data,
        ids,
        offsets,
        shapes,
    } = slab;
    let (ids, offsets) = (&ids[..], &offsets[..]);
    let n = ids.len();
    shapes.resize(n, Dims::new());
    let pad = match stacking {
        Stacking::Ragged => {
            let tensors = (0..n)
                .into_par_iter()
                .map(|i| with_tensor(inner, payloads, ids, offsets, i, |t| Ok(t.to_owned())))
                .collect::<Result<Vec<Tensor>>>()?;
            for (shape, t) in shapes.iter_mut().zip(&tensors) {
                *shape = Dims::from_slice(t.shape());
            }
            return Ok(Data::Ragged(tensors));
        }
        Stacking::Exact => None,
        Stacking::Pad(shape) => Some(shape.clone()),
    };

    // The first record fixes the dtype (and, unpadded, the shape) and fills
    // its slot; the rest follow in parallel.
    let mut target = None;
    let first_is_string = with_tensor(inner, payloads, ids, offsets, 0, |t| {
        if t.dtype() == DType::String {
            return Ok(true);
        }
        let tg = Target {
            dtype: t.dtype(),
            shape: pad.clone().unwrap_or_else(|| Dims::from_slice(t.shape())),
            pad: pad.is_some(),
            first: ids[0],
        };
        let slot = tg.slot_bytes()?;
        let total = slot
            .checked_mul(n)
            .ok_or_else(|| Error::invalid_input("batch size in bytes overflows"))?;
        if data.len() != total {
            data.clear();
            data.resize(total, 0);
        }
        tg.fill(inner, &t, &mut data[..slot], &mut shapes[0])?;
        target = Some(tg);
        Ok(false)
    })?;
    let Some(target) = target.filter(|_| !first_is_string) else {
        return stack_strings(inner, payloads, ids, offsets, pad.is_some());
    };
    let slot = target.slot_bytes()?;
    let one = |i: usize, chunk: &mut [u8], shape: &mut Dims| {
        with_tensor(inner, payloads, ids, offsets, i, |t| {
            target.fill(inner, &t, chunk, shape)
        })
    };
    // Slices past the first record rather than `skip(1)`, which would
    // spawn (and allocate) a job to drop the skipped part.
    let parallel = if slot > 0 {
        data[slot..]
            .par_chunks_mut(slot)
            .zip(shapes[1..].par_iter_mut())
            .enumerate()
            .try_for_each(|(i, (chunk, shape))| one(i + 1, chunk, shape))
    } else {
        shapes[1..]
            .par_iter_mut()
            .enumerate()
            .try_for_each(|(i, shape)| one(i + 1, &mut [], shape))
    };
    if parallel.is_err() {
        // Report the first bad record of the batch, not whichever thread
        // failed first.
        for i in 1..n {
            let chunk = if slot > 0 {
                &mut data[i * slot..(i + 1) * slot]
            } else {
                &mut []
            };
            one(i, chunk, &mut shapes[i])?;
        }
        parallel?;
    }
    let mut shape = Dims::with_capacity(target.shape.len() + 1);
    shape.push(n);
    shape.extend_from_slice(&target.shape);
    Ok(Data::Stacked {
        dtype: target.dtype,
        shape,
    })
}

/// Stacks string tensors of one shape into one string tensor `[n, ...]`.
fn stack_strings(
    inner: &Inner,
    payloads: &Payloads<'_>,
    ids: &[RecordId],
    offsets: &[u64],
    pad: bool,
) -> Result<Data> {
    if pad {
        return Err(
            Error::invalid_input("string tensors cannot be padded; use ragged batches")
                .with_path(&inner.paths[ids[0].file]),
        );
    }
    let tensors = (0..ids.len())
        .into_par_iter()
        .map(|i| with_tensor(inner, payloads, ids, offsets, i, |t| Ok(t.to_owned())))
        .collect::<Result<Vec<Tensor>>>()?;
    let first = &tensors[0];
    let mut strings: Vec<&[u8]> = Vec::new();
    for (i, t) in tensors.iter().enumerate() {
        if t.dtype() != DType::String || t.shape() != first.shape() {
            let id = ids[i];
            return Err(Error::invalid_input(format!(
                "cannot stack {}{:?} with the batch's string{:?} (set by {})",
                t.dtype(),
                t.shape(),
                first.shape(),
                describe(inner, ids[0])
            ))
            .at_record(offsets[i], id.index)
            .with_path(&inner.paths[id.file]));
        }
        strings.extend(t.strings().into_iter().flatten());
    }
    let mut shape = vec![ids.len()];
    shape.extend_from_slice(first.shape());
    Ok(Data::Strings(Tensor::from_strings(&strings, &shape)?))
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
    len: u64,
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
        let end = batch_end(inner.shard_len(), batching);
        let prefetch = inner.cfg.prefetch;
        let whole = A::WHOLE_BATCHES && matches!(inner.files, Files::Indexed(_));
        let mut producer = Producer::new(inner, batching, assembler, state)?;
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
        Ok(Run {
            engine,
            state,
            len: end,
            done: state.position >= end,
            failed: false,
        })
    }

    /// The state to save: resuming from it yields the batch after the last
    /// one returned. After the epoch's last batch it is the start of the
    /// next epoch.
    pub(crate) fn state(&self) -> IterState {
        if self.done && !self.failed {
            IterState::epoch_start(self.state.epoch + 1)
        } else {
            self.state
        }
    }

    pub(crate) fn next(&mut self) -> Option<Result<A::Output>> {
        if self.done || self.failed {
            return None;
        }
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
        match item {
            Some(Ok(batch)) => {
                self.state.position += A::len(&batch) as u64;
                self.done = self.state.position >= self.len;
                Some(Ok(batch))
            }
            Some(Err(e)) => {
                // Stay at the failed batch: the state is not advanced.
                self.failed = true;
                Some(Err(e))
            }
            None => {
                self.done = true;
                None
            }
        }
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
    ) -> Result<Batches> {
        let spec = spec.unwrap_or_else(|| BatchSpec {
            size: inner.cfg.batch_size,
            drop_last: inner.cfg.drop_last,
            stacking: inner.cfg.stacking.clone(),
        });
        let batching = Batching {
            size: spec.size,
            drop_last: spec.drop_last,
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
    len: u64,
    failed: bool,
}

impl Samples {
    pub(crate) fn new(inner: Arc<Inner>, state: IterState) -> Result<Samples> {
        let len = inner.shard_len();
        let spec = BatchSpec {
            size: SAMPLE_CHUNK,
            drop_last: false,
            stacking: Stacking::Ragged,
        };
        Ok(Samples {
            batches: Batches::new(inner, state, Some(spec))?,
            current: Vec::new().into_iter(),
            state,
            len,
            failed: false,
        })
    }

    /// The state to save: resuming from it yields the record after the last
    /// one returned.
    pub fn state(&self) -> IterState {
        if self.state.position >= self.len && !self.failed {
            IterState::epoch_start(self.state.epoch + 1)
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
