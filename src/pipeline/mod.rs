//! The training input pipeline: many files, a global shuffle, sharding by
//! rank, batches, parallel decoding, prefetching, and exact resumption.
//!
//! ```
//! use tfrec::pipeline::{Dataset, IterState};
//! use tfrec::{DType, Tensor, Writer};
//!
//! // Three shards of 10 "images" each.
//! let dir = tempfile::tempdir()?;
//! for shard in 0..3u8 {
//!     let mut w = Writer::create(dir.path().join(format!("train-{shard}.tfrecord")))?;
//!     for i in 0..10u8 {
//!         w.write_tensor(&Tensor::from_bytes(DType::U8, &[2, 2], vec![shard * 10 + i; 4])?)?;
//!     }
//!     w.finish()?;
//! }
//!
//! let ds = Dataset::builder()
//!     .glob(format!("{}/train-*.tfrecord", dir.path().display()))
//!     .shuffle(1234)      // a new permutation of all 30 records each epoch
//!     .shard(1, 2)        // this process is rank 1 of 2: 15 records an epoch
//!     .batch(4)           // stacked into [4, 2, 2] buffers
//!     .threads(2)
//!     .prefetch(2)
//!     .build()?;
//! assert_eq!(ds.len(), 15);
//!
//! let mut saved = IterState::default();
//! let mut seen = Vec::new();
//! let mut batches = ds.epoch(0)?;
//! for batch in batches.by_ref().take(2) {
//!     let batch = batch?;
//!     assert_eq!(batch.shape(), Some(&[4, 2, 2][..]));
//!     seen.extend(batch.ids().iter().copied());
//! }
//! saved = batches.state();                 // epoch 0, position 8
//! drop(batches);
//!
//! // Later, perhaps in another process: resume exactly there.
//! let restored = IterState::from_json(&saved.to_json())?;
//! for batch in ds.batches(restored)? {
//!     seen.extend(batch?.ids().iter().copied());
//! }
//! assert_eq!(seen, ds.order(0));           // as if never interrupted
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Order
//!
//! Every record of every file has a global position: the files in the order
//! given (glob matches sorted by path), records in file order. Without a
//! shuffle, an epoch visits the positions in that order. With
//! [`shuffle(seed)`](DatasetBuilder::shuffle) it visits them in the order of
//! [`permutation`]`(total, seed, epoch)`: a Fisher–Yates shuffle driven by
//! xoshiro256** seeded from (seed, epoch) through SplitMix64, the same on
//! every platform, and a fresh one each epoch.
//!
//! [`shard(rank, world)`](DatasetBuilder::shard) then cuts that order into
//! `world` disjoint parts whose sizes differ by at most one — contiguous
//! stretches, or every `world`-th position with [`ShardMode::Strided`] —
//! and keeps part `rank`; with [`drop_remainder`](DatasetBuilder::drop_remainder)
//! every part has `total / world` records. [`Dataset::order`] lists an
//! epoch's records for the rank without reading anything.
//!
//! # Batches and memory
//!
//! [`batch(n)`](DatasetBuilder::batch) stacks `n` records into one owned,
//! contiguous buffer of shape `[n, ...]`; records of another dtype or shape
//! are an error naming the file and record. [`drop_last`](DatasetBuilder::drop_last)
//! drops a partial last batch, [`pad_to`](DatasetBuilder::pad_to) zero-pads
//! records of varying shape, [`ragged`](DatasetBuilder::ragged) yields a list
//! of tensors instead.
//!
//! Uncompressed files are memory-mapped (or, with
//! [`mmap(false)`](DatasetBuilder::mmap), read with positioned reads into
//! page-aligned per-thread buffers); each record is checked (both CRCs),
//! decoded and copied into its slot of the batch by a rayon pool of
//! [`threads(n)`](DatasetBuilder::threads) threads;
//! a [`map`](DatasetBuilder::map) function runs there too. A background
//! thread assembles up to [`prefetch(k)`](DatasetBuilder::prefetch) batches
//! ahead, so at most `k` batches are in flight besides those the caller
//! holds. A dropped [`Batch`] returns its buffer to the dataset's pool and the
//! next batch reuses it: in a steady state, stacking fixed-shape records
//! allocates nothing per batch.
//!
//! # Examples
//!
//! For files of `tf.train.Example`s, [`Dataset::example_batches`] parses
//! each batch by a [`ParseSpec`](crate::example::ParseSpec) (fixed-length,
//! variable-length and serialized-tensor features, as `tf.io.parse_example`
//! takes them) instead of stacking tensors; order, shards, batch sizes,
//! prefetching and resumption are the same. Batches of indexed files are
//! each parsed whole by one of the pool's threads, up to `prefetch` of them
//! at once ahead of the caller (rather than one at a time, spread over the
//! pool: far fewer hand-offs between threads for small records).
//!
//! # Resuming
//!
//! [`Batches::state`] is an [`IterState`] (epoch, position, and the split
//! between ranks) counting what the caller has received, not what was
//! prefetched; [`Dataset::batches`] with a saved state continues exactly
//! there, with the same batches as an uninterrupted run.
//!
//! With [strided parts](ShardMode::Strided) a state also resumes on a
//! different number of ranks (elastic resume). After `S` synchronous steps
//! (every rank one batch of `B` per step) the ranks have taken exactly the
//! first `S·B·world` positions of the epoch's order, so the state of any one
//! rank that has not finished its part (rank 0's part is never the shorter)
//! says what all took. A dataset of `world'` ranks loading it splits the
//! rest strided again: rank `r'` takes positions `consumed + r'`,
//! `consumed + r' + world'`, ...; every record of the epoch is taken exactly
//! once and the new parts differ by at most one record
//! ([`Dataset::resume_state`] and [`Dataset::part_len`] say where a rank
//! stands). States of contiguous parts resume only on the same split. In
//! asynchronous training, where ranks stand at different positions, one
//! rank's state does not describe the others'.
//!
//! # Damaged records
//!
//! By default a damaged record fails the epoch with an error naming its
//! file, offset and index. With
//! [`corruption(CorruptionPolicy::Skip)`](DatasetBuilder::corruption) it is
//! skipped and reported instead: damaged frame headers are indexed past
//! when the dataset is built (those records are not in the dataset), and a
//! record whose payload fails its CRC when read is dropped from its batch,
//! which is then one record short; the iteration state counts it all the
//! same, so resuming stays exact. [`max_skipped`](DatasetBuilder::max_skipped)
//! bounds the damage an epoch may skip.
//!
//! # Workers
//!
//! [`Dataset::batches_split`] gives every `parts`-th batch of the rank's
//! sequence, so that several workers (data-loader processes) share a rank's
//! batches, each making only its own; taking one batch from each in turn
//! restores the sequence.
//!
//! # Compressed files
//!
//! GZIP and ZLIB files have no random access. A dataset with any compressed
//! file *streams* every file instead of using indexes:
//!
//! - with a shuffle, the files are read in an order permuted per (seed,
//!   epoch), and the records pass through a seeded **shuffle buffer** of
//!   [`shuffle_buffer`](DatasetBuilder::shuffle_buffer) records (emit a
//!   random buffered record for each one read, then empty it in random
//!   order). This is not a global permutation: a record can move at most
//!   about a buffer's length earlier than its place in the stream. Records are
//!   deterministic per (seed, epoch, rank) all the same;
//! - sharding picks this rank's records from the stream before the shuffle
//!   buffer (contiguous parts skip whole files that lie outside them; strided
//!   parts read every file);
//! - building the dataset decompresses each file once to count its records,
//!   and resuming mid-epoch replays the stream up to the saved position.

// This file holds the documentation above and the re-exports below, no
// code. The files below form layers; each uses only files to its left on
// its own line or on the lines above it, so no two use each other:
//
//   options, rng -> state -> part -> plan       the plan: reads nothing,
//                                                 knows no threads or buffers
//   batch, skip -> inner -> assemble -> stream, stack -> produce -> run
//   iter, examples -> dataset -> builder        the public face
mod options;
mod part;
mod plan;
mod rng;
mod state;

mod assemble;
mod batch;
mod inner;
mod produce;
mod run;
mod skip;
mod stack;
mod stream;

mod builder;
mod dataset;
mod examples;
mod iter;

pub use batch::Batch;
pub use builder::DatasetBuilder;
pub use dataset::Dataset;
pub use examples::{ExampleBatch, ExampleBatches};
pub use iter::{Batches, Sample, Samples};
pub use options::{MapFn, ShardMode};
pub use plan::RecordId;
pub use rng::permutation;
pub use skip::SkipFn;
pub use state::{IterState, Split};
