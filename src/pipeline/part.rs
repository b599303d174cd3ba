//! Which positions of an epoch's order a rank takes, and how a saved state
//! maps onto this dataset's ranks (possibly fewer or more than saved it).

use crate::error::{Error, Result};

use super::dataset::{Dataset, Files, Inner, ShardMode};
use super::state::{IterState, Split};

/// One rank's part of an epoch's order: of the positions from `start` on,
/// a contiguous stretch or every `world`-th one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) start: u64,
    pub(crate) rank: u64,
    pub(crate) world: u64,
    pub(crate) mode: ShardMode,
    pub(crate) drop_remainder: bool,
    pub(crate) total: u64,
}

impl Part {
    /// Records the parts share.
    fn shared(&self) -> u64 {
        self.total.saturating_sub(self.start)
    }

    /// Records in this part.
    pub(crate) fn len(&self) -> u64 {
        let n = self.shared();
        let per = n / self.world;
        if self.drop_remainder || self.rank >= n % self.world {
            per
        } else {
            per + 1
        }
    }

    /// Position in the epoch's order of the part's `k`-th record.
    pub(crate) fn position(&self, k: u64) -> u64 {
        let offset = match self.mode {
            ShardMode::Strided => self.rank + k * self.world,
            ShardMode::Contiguous => {
                let n = self.shared();
                let per = n / self.world;
                let lead = if self.drop_remainder {
                    0
                } else {
                    self.rank.min(n % self.world)
                };
                self.rank * per + lead + k
            }
        };
        self.start + offset
    }

    /// Whether position `p` of the epoch's order is in this part.
    pub(crate) fn contains(&self, p: u64) -> bool {
        let Some(offset) = p.checked_sub(self.start) else {
            return false;
        };
        match self.mode {
            ShardMode::Strided => {
                offset % self.world == self.rank && offset / self.world < self.len()
            }
            ShardMode::Contiguous => {
                let first = self.position(0);
                p >= first && p - first < self.len()
            }
        }
    }

    /// The split a state saved in this part records.
    pub(crate) fn split(&self) -> Split {
        Split {
            world: self.world,
            mode: self.mode,
            start: self.start,
        }
    }
}

impl Dataset {
    /// `state` as this dataset resumes it: unchanged when saved on this
    /// dataset's split (or saying none); when saved by a different number of
    /// ranks in strided parts, the start (position 0) of this rank's part of
    /// the records the saving ranks had not taken (see [`IterState`]). An
    /// error when it cannot resume from `state`, as
    /// [`batches`](Dataset::batches) would give.
    ///
    /// ```
    /// use tfrec::pipeline::{Dataset, ShardMode};
    /// use tfrec::{Tensor, Writer};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.tfrecord");
    /// let mut w = Writer::create(&path)?;
    /// for i in 0..10u8 {
    ///     w.write_tensor(&Tensor::from_slice(&[i], &[1])?)?;
    /// }
    /// w.finish()?;
    /// let on = |rank, world| {
    ///     Dataset::builder().file(&path).shard(rank, world).shard_mode(ShardMode::Strided).build()
    /// };
    /// // Two ranks take two records each: positions 0..4 of the epoch.
    /// let mut batches = on(1, 2)?.epoch(0)?;
    /// batches.by_ref().take(2).count();
    /// let saved = batches.state();
    /// // Three ranks share the other six.
    /// let mut seen = Vec::new();
    /// for rank in 0..3 {
    ///     let ds = on(rank, 3)?;
    ///     assert_eq!(ds.resume_state(saved)?.position, 0);
    ///     assert_eq!(ds.part_len(saved)?, 2);
    ///     for batch in ds.batches(saved)? {
    ///         seen.push(batch?.ids()[0].index);
    ///     }
    /// }
    /// seen.sort();
    /// assert_eq!(seen, [4, 5, 6, 7, 8, 9]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resume_state(&self, state: IterState) -> Result<IterState> {
        Ok(self.inner.resume(state)?.1)
    }

    /// Records in this rank's part of the epoch resumed from `state` (see
    /// [`resume_state`](Dataset::resume_state)): [`len`](Dataset::len)
    /// unless the state was saved by a different number of ranks.
    pub fn part_len(&self, state: IterState) -> Result<u64> {
        Ok(self.inner.resume(state)?.0.len())
    }
}

impl Inner {
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
