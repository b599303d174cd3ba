//! Makes the batches of one epoch in order: finds each batch's records
//! (from the epoch's order, or read from streams), fetches their payloads
//! when they lie in an object store, and has an assembler put them
//! together on the dataset's pool, one batch at a time or one whole batch
//! per pool thread.
//!
//! Knows nothing of prefetch threads, of saving the iteration state, or of
//! what a batch is made of.

use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::index::IndexedFile;

use super::assemble::{Assemble, Item, Payloads};
use super::inner::Inner;
use super::part::Part;
use super::plan::{Files, RecordId};
use super::skip::{self, PassSkips};
use super::state::IterState;
use super::stream::Streamer;

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
    pub(crate) fn first(&self, position: u64) -> u64 {
        position.saturating_add(self.part.saturating_mul(self.size as u64))
    }

    /// Records of the other parts' batches after each of this part's.
    pub(crate) fn stride(&self) -> u64 {
        self.parts
            .saturating_sub(1)
            .saturating_mul(self.size as u64)
    }
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
pub(crate) struct Producer<A> {
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
pub(crate) fn batch_end(len: u64, batching: Batching) -> u64 {
    if batching.drop_last {
        len - len % batching.size as u64
    } else {
        len
    }
}

impl<A: Assemble> Producer<A> {
    /// From `state` on in `part` (as [`Plan::resume`](super::plan::Plan::resume)
    /// gives them).
    pub(crate) fn new(
        inner: Arc<Inner>,
        part: Part,
        batching: Batching,
        assembler: A,
        state: IterState,
    ) -> Result<Producer<A>> {
        let end = batch_end(part.len(), batching);
        let next = batching.first(state.position);
        let source = match inner.plan.files {
            Files::Indexed(_) => Source::Indexed {
                order: inner.plan.positions(&part, state.epoch),
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
        let skips = Arc::new(PassSkips::new(
            inner.plan.index_skips,
            inner.skip.max_skipped,
        ));
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

    pub(crate) fn next_batch(&mut self) -> Option<Result<A::Output>> {
        if self.next >= self.end {
            return None;
        }
        let n = (self.end - self.next).min(self.size as u64) as usize;
        let inner = &*self.inner;
        let mut parts = self.assembler.parts();
        let (ids, offsets) = A::positions(&mut parts);
        let fetched;
        let payloads = match (&mut self.source, &inner.plan.files) {
            (Source::Indexed { order }, Files::Indexed(files)) => {
                indexed_positions(inner, files, order, self.next as usize, n, ids, offsets);
                fetched = match fetch_remote(files, ids, offsets) {
                    Ok(fetched) => fetched,
                    Err(e) => return Some(Err(e)),
                };
                indexed_payloads(files, fetched.as_deref())
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
    pub(crate) fn spawn_next(&mut self) -> Option<Receiver<Result<A::Output>>> {
        if self.next >= self.end {
            return None;
        }
        let n = (self.end - self.next).min(self.size as u64) as usize;
        let (Source::Indexed { order }, Files::Indexed(files)) =
            (&self.source, &self.inner.plan.files)
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
            let result = match &inner.plan.files {
                Files::Indexed(files) => {
                    let (ids, offsets) = A::positions(&mut parts);
                    fetch_remote(files, ids, offsets).and_then(|fetched| {
                        let payloads = indexed_payloads(files, fetched.as_deref());
                        assemble_skipping(&*assembler, &inner, &payloads, parts, false, &skips)
                    })
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
    files: &[IndexedFile],
    order: &[u64],
    start: usize,
    n: usize,
    ids: &mut Vec<RecordId>,
    offsets: &mut Vec<u64>,
) {
    let positions = order.get(start..start + n).unwrap_or_default();
    ids.extend(positions.iter().map(|&p| inner.plan.id_of(p)));
    offsets.extend(ids.iter().map(|id| {
        files[id.file]
            .index()
            .get(id.index as usize)
            .map_or(0, |e| e.offset)
    }));
}

/// Where the payloads of a batch of an indexed dataset are: `fetched` from
/// an object store (see [`fetch_remote`]), or else in the files.
fn indexed_payloads<'a>(files: &'a [IndexedFile], fetched: Option<&'a [Item]>) -> Payloads<'a> {
    match fetched {
        Some(items) => Payloads::Loaded(items),
        None => Payloads::Indexed(files),
    }
}

/// The payloads of a batch of an indexed dataset when some of its files are
/// objects in a store: each file's records fetched together (neighbours
/// coalesced, requests concurrent) instead of one request per record on
/// each pool thread. `Ok(None)` when every file is local.
fn fetch_remote(
    files: &[IndexedFile],
    ids: &[RecordId],
    offsets: &[u64],
) -> Result<Option<Vec<Item>>> {
    if !ids
        .iter()
        .any(|id| files.get(id.file).is_some_and(IndexedFile::is_remote))
    {
        return Ok(None);
    }
    let mut payloads: Vec<Option<Vec<u8>>> = vec![None; ids.len()];
    for (f, file) in files.iter().enumerate() {
        let slots: Vec<usize> = (0..ids.len()).filter(|&s| ids[s].file == f).collect();
        if slots.is_empty() {
            continue;
        }
        let indices: Vec<usize> = slots.iter().map(|&s| ids[s].index as usize).collect();
        let fetched = match file.fetch_payloads(&indices) {
            Some(fetched) => fetched?,
            None => {
                let mut out = Vec::with_capacity(indices.len());
                let mut buf = crate::index::FrameBuf::new();
                for &i in &indices {
                    out.push(file.record(i, &mut buf)?.payload.into_owned());
                }
                out
            }
        };
        for (slot, payload) in slots.into_iter().zip(fetched) {
            payloads[slot] = Some(payload);
        }
    }
    let items = ids
        .iter()
        .zip(offsets)
        .zip(payloads)
        .map(|((&id, &offset), payload)| {
            let payload = payload.ok_or_else(|| {
                Error::invalid_input("internal: a record of the batch was not fetched")
            })?;
            Ok(Item {
                id,
                offset,
                payload,
            })
        })
        .collect::<Result<Vec<Item>>>()?;
    Ok(Some(items))
}
