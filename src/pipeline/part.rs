//! Which positions of an epoch's order a rank takes: a contiguous stretch
//! or every `world`-th one, from some start on.
//!
//! Arithmetic on positions only: knows nothing of files, records, shuffles
//! or how a saved state is resumed.

use super::options::ShardMode;
use super::state::Split;

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
