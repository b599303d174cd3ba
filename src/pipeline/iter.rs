//! Iterating a dataset's tensors: batches, stacked (or padded, or ragged)
//! as the dataset says, and single records.
//!
//! Public iterators over a run: knows nothing of how batches are produced,
//! prefetched or stacked.

use std::sync::Arc;

use crate::error::Result;
use crate::tensor::Tensor;

use super::batch::Batch;
use super::inner::Inner;
use super::options::Stacking;
use super::plan::RecordId;
use super::produce::Batching;
use super::run::Run;
use super::stack::Stack;
use super::state::IterState;

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
            size: inner.plan.cfg.batch_size,
            drop_last: inner.plan.cfg.drop_last,
            stacking: inner.plan.cfg.stacking.clone(),
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
        let (part, state) = inner.plan.resume(state)?;
        let (len, next_epoch) = (part.len(), inner.plan.next_epoch(state.epoch));
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
