//! A dataset's options as the builder collected them: the shuffle, the
//! split between ranks, the batch shape and the prefetch depth.
//!
//! Plain values only: knows nothing of files, threads, buffers or how the
//! options are carried out.

use crate::error::Result;
use crate::tensor::{Dims, Tensor, TensorView};

/// A function applied to every decoded tensor; see
/// [`DatasetBuilder::map`](super::DatasetBuilder::map).
pub type MapFn = dyn Fn(TensorView<'_>) -> Result<Tensor> + Send + Sync;

/// How [`DatasetBuilder::shard`](super::DatasetBuilder::shard) cuts an
/// epoch's order into parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum ShardMode {
    /// Rank `r` takes one contiguous stretch of the (shuffled) order.
    #[default]
    Contiguous,
    /// Rank `r` takes positions `r`, `r + world`, `r + 2·world`, ...: the
    /// records all ranks have taken after the same number of records each
    /// are a prefix of the order, so a state resumes on any number of ranks.
    Strided,
}

/// How records are put together into a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stacking {
    /// Same dtype, same shape: one buffer `[n, ...]`.
    Exact,
    /// Same dtype and rank, each dimension at most the given one: zero-padded
    /// into one buffer `[n, ...shape]`.
    Pad(Dims),
    /// One tensor per record.
    Ragged,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) seed: Option<u64>,
    pub(crate) rank: u64,
    pub(crate) world: u64,
    pub(crate) shard_mode: ShardMode,
    pub(crate) drop_remainder: bool,
    pub(crate) batch_size: usize,
    pub(crate) drop_last: bool,
    pub(crate) stacking: Stacking,
    pub(crate) prefetch: usize,
    pub(crate) shuffle_buffer: usize,
    pub(crate) verify_data_crc: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: None,
            rank: 0,
            world: 1,
            shard_mode: ShardMode::Contiguous,
            drop_remainder: false,
            batch_size: 1,
            drop_last: false,
            stacking: Stacking::Exact,
            prefetch: 2,
            shuffle_buffer: 1024,
            verify_data_crc: true,
        }
    }
}
