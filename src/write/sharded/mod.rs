//! Sharded, atomic, parallel writing.
//!
//! A [`ShardedWriter`] spreads records over files named as TensorFlow and
//! Beam name them, `{stem}-{i:05}-of-{n:05}.tfrecord`, in one directory;
//! GZIP shards end in `.tfrecord.gz` and ZLIB shards in `.tfrecord.deflate`
//! ([`shard_suffix`]), the suffixes Beam's `ReadFromTFRecord` and `gzip`
//! recognise.
//!
//! # What appears, and when
//! Every shard is written under a hidden temporary name
//! (`.{stem}-{i:05}.tfrecord.{random}.tmp`), since `n` is known only at the
//! end, and fsynced as soon as it is complete.
//! [`finish`](ShardedWriter::finish) then renames each to its final name,
//! fsyncs the directory, and writes `{stem}.manifest.json` the same way.
//! So:
//! - a file under a final name is complete, even if the process is killed
//!   (`kill -9`) at any moment; with fsync on (the default) this holds across
//!   power loss as well;
//! - when the manifest exists, every shard it lists is complete and matches
//!   its size and CRC32C;
//! - temporary files start with `.` and end in `.tmp`, so no glob for
//!   `*-of-*.tfrecord*` ever picks one up; a writer dropped without `finish`
//!   deletes its own, and [`cleanup`] removes those a killed process left.
//!
//! If `finish` fails, no final-named file of the job is left behind: shards
//! already renamed are removed again. Before the renames an older manifest
//! of the same stem is deleted, and after the new manifest is written,
//! shards of the same stem with another shard count or compression (an
//! earlier job's) are deleted, so a glob sees one job's shards. Two writers must not use the
//! same stem in the same directory at the same time.
//!
//! # Index sidecars
//! Next to each shard, `{shard}.idx` holds one line `offset length` per
//! record: the frame's byte offset and its whole length including the 16
//! framing bytes, as the Python `tfrecord` package and NVIDIA DALI read them.
//! It is built while the shard is written, not by a second pass. For GZIP or
//! ZLIB shards the offsets are positions in the decompressed record stream
//! (the offsets `tfrec` reports everywhere for compressed files); seeking to
//! one needs a decompressing reader (the `tfrecord` package opens
//! compressed files with `gzip.open`, whose `seek` counts decompressed
//! bytes).
//!
//! # Parallelism
//! Batches ([`write_batch`](ShardedWriter::write_batch),
//! [`write_tensors`](ShardedWriter::write_tensors)) are split by shard, and
//! the shards are framed, CRC'd and written on rayon's pool at once, each
//! shard by one thread at a time. When a batch falls into a single shard,
//! its CRCs are still computed in parallel first (for tensors, straight
//! from their values, without serializing them twice), and the bytes are
//! then written in order. With [`ShardOptions::ordered`]`(false)`
//! several shards are kept open and filled at once even in
//! records-per-shard and bytes-per-shard modes.
//!
//! ```
//! use tfrec::write::sharded::{Manifest, ShardOptions, ShardedWriter, Sharding};
//! use tfrec::{Reader, Tensor};
//!
//! let dir = tempfile::tempdir()?;
//! let options = ShardOptions::new(Sharding::RecordsPerShard(2));
//! let mut w = ShardedWriter::create(dir.path(), "train", options)?;
//! let tensors: Vec<Tensor> = (0..5).map(|i| Tensor::scalar(i as f32)).collect();
//! w.write_tensors(&tensors)?;
//! let manifest: Manifest = w.finish()?;
//!
//! assert_eq!(manifest.shards.len(), 3);
//! assert_eq!(manifest.shards[0].name, "train-00000-of-00003.tfrecord");
//! assert_eq!(manifest.records(), 5);
//! let mut r = Reader::open(dir.path().join("train-00002-of-00003.tfrecord"))?;
//! assert_eq!(r.count()?, 1);
//! let idx = std::fs::read_to_string(dir.path().join("train-00000-of-00003.tfrecord.idx"))?;
//! assert_eq!(idx, "0 26\n26 26\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! This file holds no code; it names the parts: `options` (what a job is asked for),
//! `names` (shard and temporary file names), `shard` (one shard file being
//! written), `writer` ([`ShardedWriter`] and the planning of batches),
//! `commit` (finishing a job and cleaning up), `manifest`, `finalize`
//! (gathering several jobs) and `copy` (records copied from files).

mod commit;
mod copy;
mod finalize;
mod manifest;
mod names;
mod options;
mod shard;
mod writer;

pub use commit::cleanup;
pub use finalize::finalize;
pub use manifest::{Manifest, ShardInfo, MANIFEST_FORMAT};
pub use names::{shard_name, shard_name_for, shard_suffix};
pub use options::{check_stem, ShardOptions, Sharding, MAX_SHARDS};
pub use writer::ShardedWriter;
