//! Payload sizes, and the kind the records hold all together. Knows
//! nothing of files, threads, tensors or output formats.

use crate::example::{KindVote, RecordKind};

use super::features::KindCounts;

/// The sizes of record payloads (frames less their 16 bytes of framing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SizeStats {
    /// The smallest payload, in bytes (`None` without records).
    pub min: Option<u64>,
    /// The largest payload, in bytes.
    pub max: Option<u64>,
    /// All payload bytes together.
    pub total: u64,
    /// Empty payloads (counted among the `raw` records of
    /// [`KindCounts`]).
    pub empty: u64,
}

impl SizeStats {
    pub(crate) fn add(&mut self, len: u64) {
        self.min = Some(self.min.map_or(len, |m| m.min(len)));
        self.max = Some(self.max.map_or(len, |m| m.max(len)));
        self.total += len;
        self.empty += u64::from(len == 0);
    }

    pub(crate) fn merge(&mut self, other: &SizeStats) {
        self.min = match (self.min, other.min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max = self.max.max(other.max);
        self.total += other.total;
        self.empty += other.empty;
    }

    /// The mean payload size of `records` records (`None` without records).
    pub fn mean(&self, records: u64) -> Option<f64> {
        (records > 0).then(|| self.total as f64 / records as f64)
    }
}

/// What records with these kind counts hold, by [`KindVote::decide`]'s rule.
pub(crate) fn decide(kinds: &KindCounts, sizes: &SizeStats) -> RecordKind {
    KindVote {
        empty: sizes.empty,
        tensor: kinds.tensor,
        example: kinds.example,
        sequence_example: kinds.sequence_example,
        raw: kinds.raw.saturating_sub(sizes.empty),
    }
    .decide()
}
