//! The plan of a dataset: its files, opened and counted, and its options;
//! from them, which record each global position is, the order in which
//! this rank visits them each epoch, and where a saved state resumes.
//!
//! Computed from the record counts alone. Knows nothing of threads,
//! buffers, decoding or batches: nothing here reads a record.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::index::IndexedFile;

use super::options::{Config, ShardMode};
use super::part::Part;
use super::rng::{self, ShuffleBuffer, Xoshiro256};
use super::state::{IterState, Split};

/// Identifies a record: the file (its position in the dataset's file list)
/// and the record's index within that file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId {
    /// Position of the file in [`Dataset::paths`](super::Dataset::paths).
    pub file: usize,
    /// Zero-based index of the record in its file.
    pub index: u64,
}

pub(crate) enum Files {
    /// Every file uncompressed and indexed: random access, global shuffle.
    Indexed(Vec<IndexedFile>),
    /// Some file compressed: every file is read as a stream.
    Streamed,
}

/// What a dataset reads and in which order.
pub(crate) struct Plan {
    pub(crate) paths: Vec<PathBuf>,
    pub(crate) files: Files,
    /// Global position of each file's first record; one more entry for the
    /// total.
    pub(crate) starts: Vec<u64>,
    pub(crate) cfg: Config,
    /// For files indexed past damage: the entry index of each sound record.
    pub(crate) live: Vec<Option<Vec<u64>>>,
    /// Damaged stretches found while indexing.
    pub(crate) index_skips: u64,
}

impl Plan {
    pub(crate) fn total(&self) -> u64 {
        self.starts.last().copied().unwrap_or(0)
    }

    pub(crate) fn shard_len(&self) -> u64 {
        self.part().len()
    }

    pub(crate) fn id_of(&self, position: u64) -> RecordId {
        let file = self
            .starts
            .partition_point(|&s| s <= position)
            .saturating_sub(1);
        let k = position - self.starts[file];
        let index = match self.live.get(file) {
            Some(Some(live)) => live.get(k as usize).copied().unwrap_or(k),
            _ => k,
        };
        RecordId { file, index }
    }

    pub(crate) fn count(&self, file: usize) -> u64 {
        self.starts[file + 1] - self.starts[file]
    }

    /// The files in the order a streamed epoch reads them.
    pub(crate) fn file_order(&self, epoch: u64) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.paths.len()).collect();
        if let Some(seed) = self.cfg.seed {
            rng::shuffle(
                &mut order,
                &mut Xoshiro256::for_key(seed, epoch, rng::STREAM_FILES),
            );
        }
        order
    }

    pub(crate) fn buffer_rng(&self, epoch: u64) -> Option<Xoshiro256> {
        self.cfg
            .seed
            .map(|seed| Xoshiro256::for_key(seed, epoch, rng::STREAM_BUFFER + self.cfg.rank))
    }

    /// The records of `part` of `epoch` as global positions (random
    /// access).
    pub(crate) fn positions(&self, part: &Part, epoch: u64) -> Vec<u64> {
        let len = part.len();
        match self.cfg.seed {
            Some(seed) => {
                let mut perm = rng::permutation(self.total(), seed, epoch);
                // In place, with no second list as long as the epoch: the
                // part's k-th position is never below k, and grows with k,
                // so each slot is read before it is written.
                let mut kept = 0;
                for k in 0..len {
                    let taken = usize::try_from(part.position(k))
                        .ok()
                        .and_then(|p| perm.get(p))
                        .copied();
                    if let (Some(taken), Some(slot)) = (taken, perm.get_mut(kept)) {
                        *slot = taken;
                        kept += 1;
                    }
                }
                perm.truncate(kept);
                perm.shrink_to_fit();
                perm
            }
            None => (0..len).map(|k| part.position(k)).collect(),
        }
    }

    pub(crate) fn order(&self, epoch: u64) -> Vec<RecordId> {
        let part = self.part();
        let len = part.len();
        match self.files {
            Files::Indexed(_) => self
                .positions(&part, epoch)
                .into_iter()
                .map(|p| self.id_of(p))
                .collect(),
            Files::Streamed => {
                let mut out = Vec::with_capacity(len as usize);
                let mut buffer = self
                    .buffer_rng(epoch)
                    .map(|rng| ShuffleBuffer::new(self.cfg.shuffle_buffer, rng));
                let mut k = 0u64;
                for file in self.file_order(epoch) {
                    for index in 0..self.count(file) {
                        if part.contains(k) {
                            let id = RecordId { file, index };
                            match &mut buffer {
                                Some(b) => out.extend(b.push(id)),
                                None => out.push(id),
                            }
                        }
                        k += 1;
                    }
                }
                if let Some(mut b) = buffer {
                    while let Some(id) = b.pop() {
                        out.push(id);
                    }
                }
                out
            }
        }
    }
}

impl Plan {
    /// This rank's part of an epoch, as configured.
    pub(crate) fn part(&self) -> Part {
        Part {
            start: 0,
            rank: self.cfg.rank,
            world: self.cfg.world,
            mode: self.cfg.shard_mode,
            drop_remainder: self.cfg.drop_remainder,
            total: self.total(),
        }
    }

    /// The start of epoch `epoch + 1`, in this rank's configured part.
    pub(crate) fn next_epoch(&self, epoch: u64) -> IterState {
        IterState {
            epoch: epoch.saturating_add(1),
            position: 0,
            split: Some(self.part().split()),
        }
    }

    /// This rank's part of the state's epoch and the state within it: the
    /// configured part, unless the state was saved on a different split,
    /// in which case the records not yet taken by the saving ranks are
    /// split strided between this dataset's ranks (position 0 of the new
    /// part). See [`IterState`].
    pub(crate) fn resume(&self, state: IterState) -> Result<(Part, IterState)> {
        let own = self.part();
        let (part, position) = match state.split {
            None => (own, state.position),
            // Nothing taken yet: any split will do.
            Some(saved) if state.position == 0 && saved.start == 0 => (own, 0),
            Some(saved) if saved == own.split() => (own, state.position),
            Some(saved) => self.elastic(state, saved, own)?,
        };
        if position > part.len() {
            return Err(Error::invalid_input(format!(
                "cannot resume at position {position} of epoch {}: this rank has {} records \
                 an epoch",
                state.epoch,
                part.len()
            )));
        }
        Ok((
            part,
            IterState {
                epoch: state.epoch,
                position,
                split: Some(part.split()),
            },
        ))
    }

    /// The part of the records left after a state saved on another split,
    /// and the position in it.
    fn elastic(&self, state: IterState, saved: Split, own: Part) -> Result<(Part, u64)> {
        if saved.mode == ShardMode::Contiguous {
            return Err(Error::invalid_input(format!(
                "a state saved by {} ranks in contiguous parts resumes only on {0} ranks in \
                 contiguous parts (this dataset: {} ranks, {:?}); strided parts resume on any \
                 number of ranks",
                saved.world, own.world, own.mode
            )));
        }
        let total = own.total;
        if saved.start > total {
            return Err(Error::invalid_input(format!(
                "cannot resume epoch {} from position {} of its order: the dataset has {total} \
                 records",
                state.epoch, saved.start
            )));
        }
        if let Files::Streamed = self.files {
            if self.cfg.seed.is_some() {
                return Err(Error::invalid_input(
                    "a shuffled dataset of compressed files resumes only on the split it was \
                     saved on: each rank's shuffle buffer reorders its own records",
                ));
            }
        }
        let left = total - saved.start;
        let strided = |start| Part {
            start,
            mode: ShardMode::Strided,
            ..own
        };
        if saved.world == own.world {
            // The same number of ranks in strided parts: go on as saved.
            return Ok((strided(saved.start), state.position));
        }
        let most = left.div_ceil(saved.world);
        if state.position > most {
            return Err(Error::invalid_input(format!(
                "cannot resume at position {} of epoch {}: {} ranks had at most {most} records \
                 each",
                state.position, state.epoch, saved.world
            )));
        }
        // Each saving rank took `position` records: together the next
        // `position · world` of the order (fewer at its end).
        let taken = state.position.saturating_mul(saved.world).min(left);
        Ok((strided(saved.start + taken), 0))
    }
}
