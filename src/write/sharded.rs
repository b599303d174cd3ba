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

mod copy;
mod finalize;
mod manifest;
mod names;
mod shard;

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::compression::Compression;
use crate::crc::masked_crc32c;
use crate::error::{Error, Result};
use crate::tensor::TensorView;
use crate::write::atomic::{self, AtomicFile, IoHook, Staged};

pub use finalize::finalize;
pub use manifest::{Manifest, ShardInfo, MANIFEST_FORMAT};
pub use names::{shard_name, shard_name_for, shard_suffix};

use names::{is_temp_of, parse_shard_name};

use shard::{
    tensor_crc, Payloads, RecordSet, Selection, ShardConfig, ShardFile, StagedShard, Tensors,
    SMALL_BUFFER,
};

/// How records are spread over shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sharding {
    /// Exactly this many shards (at most [`MAX_SHARDS`]). In order, record
    /// `i` goes to shard `i % n`, the split `tf.data.Dataset.shard(n, k)`
    /// makes; shards that get no record are written empty. All `n` shards
    /// stay open files until the job finishes, so `n` is bounded by the
    /// process's limit on open files.
    Shards(u64),
    /// A new shard after this many records; the last may hold fewer.
    RecordsPerShard(u64),
    /// A new shard before a record that would take the shard's frames
    /// (uncompressed, 16 framing bytes included) past this many bytes. A
    /// record larger than that gets a shard of its own.
    BytesPerShard(u64),
}

/// Options for a [`ShardedWriter`]; a consuming builder.
#[derive(Debug, Clone)]
pub struct ShardOptions {
    sharding: Sharding,
    compression: Compression,
    sync: bool,
    ordered: bool,
    index: bool,
    hook: Option<IoHook>,
}

impl Default for ShardOptions {
    /// One shard, uncompressed, fsynced, in order, with index sidecars.
    fn default() -> Self {
        ShardOptions::new(Sharding::Shards(1))
    }
}

impl ShardOptions {
    /// Uncompressed, fsynced, in input order, with `.idx` sidecars.
    pub fn new(sharding: Sharding) -> Self {
        ShardOptions {
            sharding,
            compression: Compression::None,
            sync: true,
            ordered: true,
            index: true,
            hook: None,
        }
    }

    /// How records are spread over shards.
    pub fn sharding(mut self, sharding: Sharding) -> Self {
        self.sharding = sharding;
        self
    }

    /// Compression of every shard (default: none).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// Whether shards, sidecars, the manifest and the directory are fsynced
    /// before and after being renamed into place (default: yes). Without it,
    /// a final name still never shows an incomplete file to other
    /// processes, even after `kill -9`, but a power loss may leave one.
    pub fn sync(mut self, yes: bool) -> Self {
        self.sync = yes;
        self
    }

    /// Whether input order is kept (default: yes): reading the shards in
    /// index order (for [`Sharding::Shards`], round-robin across the shards)
    /// gives the records in the order they were written, and the layout
    /// depends only on the records. Without it, records and pieces of
    /// batches may go to whichever of several open shards balances the work,
    /// so that several shards are written at once in every mode; each
    /// record still lands whole in exactly one shard.
    pub fn ordered(mut self, yes: bool) -> Self {
        self.ordered = yes;
        self
    }

    /// Whether each shard gets an `.idx` sidecar (default: yes).
    pub fn index(mut self, yes: bool) -> Self {
        self.index = yes;
        self
    }

    /// Calls `hook` before every file-system step of the job (creating,
    /// writing, fsyncing, renaming); an error it returns fails that step.
    /// Meant for tests that inject I/O failures.
    pub fn io_hook(mut self, hook: IoHook) -> Self {
        self.hook = Some(hook);
        self
    }

    fn validate(&self) -> Result<()> {
        let ok = match self.sharding {
            Sharding::Shards(n) => (1..=MAX_SHARDS).contains(&n),
            Sharding::RecordsPerShard(n) | Sharding::BytesPerShard(n) => n >= 1,
        };
        if ok {
            Ok(())
        } else {
            Err(Error::invalid_input(format!(
                "{:?}: counts and sizes must be at least 1, shard counts at most {MAX_SHARDS}",
                self.sharding
            )))
        }
    }
}

/// The open shard of a lane, as the planner tracks it.
#[derive(Debug, Clone, Copy)]
struct Fill {
    id: u64,
    records: u64,
    bytes: u64,
}

/// One shard's part of a batch.
#[derive(Debug, Clone, Copy)]
struct Task {
    lane: usize,
    id: u64,
    selection: Selection,
    /// The lane's shard was open before this batch.
    continues: bool,
    /// The shard is full after this batch's part.
    closes: bool,
}

/// Writes records into shards; see the [module docs](self) for the files
/// it makes and the guarantees about them.
pub struct ShardedWriter {
    dir: PathBuf,
    stem: String,
    options: ShardOptions,
    /// Write buffer per shard.
    buffer: usize,
    /// The open shard of each lane: one lane per shard for
    /// [`Sharding::Shards`]; one lane, or one per thread when unordered, for
    /// the other modes.
    lanes: Vec<Option<Box<ShardFile>>>,
    /// The planner's view of `lanes`.
    fills: Vec<Option<Fill>>,
    staged: Vec<StagedShard>,
    next_id: u64,
    records: u64,
    tasks: Vec<Task>,
    failed: bool,
}

/// The most shards [`Sharding::Shards`] makes: each is an open file until
/// the job finishes.
pub const MAX_SHARDS: u64 = 1_000_000;
/// Batches at least this large get their CRCs computed in parallel even when
/// they fall into a single shard.
const PARALLEL_BYTES: usize = 1 << 20;
/// Total write buffer for all shards open at once...
const BUFFER_BUDGET: usize = 128 << 20;
/// ...within these bounds per shard. Bigger buffers mean fewer writes; on
/// the machine measured, 1 MiB beat 256 KiB by 10-20% for both small and
/// large records.
const MIN_BUFFER: usize = 16 << 10;
const MAX_BUFFER: usize = 1 << 20;

impl ShardedWriter {
    /// Starts a job writing shards of `stem` into `dir` (created if missing).
    ///
    /// `stem` must be a plain file name: not empty, no path separators, not
    /// starting with `.`.
    pub fn create(
        dir: impl AsRef<Path>,
        stem: &str,
        options: ShardOptions,
    ) -> Result<ShardedWriter> {
        let dir = dir.as_ref().to_path_buf();
        options.validate()?;
        check_stem(stem)?;
        // A key prefix in a store needs no creating.
        if !dir.is_dir() && !crate::storage::is_remote(&dir) {
            std::fs::create_dir_all(&dir).map_err(|e| Error::from(e).with_path(&dir))?;
            if options.sync {
                let parent = dir.parent().filter(|p| !p.as_os_str().is_empty());
                atomic::sync_dir(parent.unwrap_or(Path::new(".")), options.hook.as_ref())
                    .map_err(|e| Error::from(e).with_path(&dir))?;
            }
        }
        let lanes = match options.sharding {
            Sharding::Shards(n) => n as usize,
            _ if options.ordered => 1,
            _ => rayon::current_num_threads().max(1),
        };
        let buffer = (BUFFER_BUDGET / lanes).clamp(MIN_BUFFER, MAX_BUFFER);
        Ok(ShardedWriter {
            dir,
            stem: stem.to_string(),
            options,
            buffer,
            lanes: (0..lanes).map(|_| None).collect(),
            fills: vec![None; lanes],
            staged: Vec::new(),
            next_id: 0,
            records: 0,
            tasks: Vec::new(),
            failed: false,
        })
    }

    /// The output directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The shards' stem.
    pub fn stem(&self) -> &str {
        &self.stem
    }

    /// Records written so far.
    pub fn records_written(&self) -> u64 {
        self.records
    }

    /// Writes one record carrying `payload`.
    pub fn write_record(&mut self, payload: &[u8]) -> Result<()> {
        self.write_set(&Payloads {
            items: &[payload],
            crcs: None,
        })
    }

    /// Writes one record holding `tensor` serialized as
    /// `tf.io.serialize_tensor` does.
    pub fn write_tensor<'t, T: AsRef<TensorView<'t>> + ?Sized>(
        &mut self,
        tensor: &T,
    ) -> Result<()> {
        self.write_set(&Tensors {
            items: &[tensor.as_ref()],
            crcs: None,
        })
    }

    /// Writes one record per payload, in parallel: shards are filled at once
    /// on rayon's pool, and CRCs are computed there too.
    pub fn write_batch<P: AsRef<[u8]> + Sync>(&mut self, payloads: &[P]) -> Result<()> {
        self.write_payloads(payloads, None)
    }

    /// Writes payloads whose masked CRCs are known already.
    pub(crate) fn write_payloads<P: AsRef<[u8]> + Sync>(
        &mut self,
        payloads: &[P],
        crcs: Option<&[u32]>,
    ) -> Result<()> {
        let set = Payloads {
            items: payloads,
            crcs,
        };
        self.plan(&set);
        let heavy = || payloads.iter().map(|p| p.as_ref().len()).sum::<usize>() >= PARALLEL_BYTES;
        if crcs.is_none() && self.tasks.len() == 1 && payloads.len() > 1 && heavy() {
            // One shard: CRC in parallel first, then copy in order.
            let crcs: Vec<u32> = payloads
                .par_iter()
                .map(|p| masked_crc32c(p.as_ref()))
                .collect();
            let set = Payloads {
                items: payloads,
                crcs: Some(&crcs),
            };
            return self.execute(&set);
        }
        self.execute(&set)
    }

    /// Writes one record per tensor, serialized as `tf.io.serialize_tensor`
    /// does, in parallel like [`write_batch`](Self::write_batch).
    pub fn write_tensors<'t, T: AsRef<TensorView<'t>> + Sync>(
        &mut self,
        tensors: &[T],
    ) -> Result<()> {
        let views: Vec<&TensorView<'t>> = tensors.iter().map(AsRef::as_ref).collect();
        let mut set = Tensors {
            items: &views,
            crcs: None,
        };
        self.plan(&set);
        let heavy = || (0..set.len()).map(|i| set.frame_len(i)).sum::<usize>() >= PARALLEL_BYTES;
        if self.tasks.len() == 1 && tensors.len() > 1 && heavy() {
            // One shard: CRC the serializations in parallel first (without
            // building them), then serialize in order.
            set.crcs = Some(set.items.par_iter().map(|t| tensor_crc(t)).collect());
        }
        self.execute(&set)
    }

    fn write_set(&mut self, set: &dyn RecordSet) -> Result<()> {
        self.plan(set);
        self.execute(set)
    }

    /// Decides which shard each record of `set` goes to, into `self.tasks`,
    /// and advances the planner's view of the lanes. A lane gets at most one
    /// task per shard, and only its last task may leave a shard open.
    fn plan(&mut self, set: &dyn RecordSet) {
        self.tasks.clear();
        let len = set.len();
        if len == 0 {
            return;
        }
        let lanes = self.lanes.len();
        match self.options.sharding {
            Sharding::Shards(_) if self.options.ordered => {
                // Record i of the batch is record `records + i` of the job.
                let skip = (self.records % lanes as u64) as usize;
                for first in 0..len.min(lanes) {
                    let lane = (skip + first) % lanes;
                    self.tasks.push(Task {
                        lane,
                        id: lane as u64,
                        selection: Selection::Stride {
                            first,
                            step: lanes,
                            end: len,
                        },
                        continues: self.lanes[lane].is_some(),
                        closes: false,
                    });
                }
            }
            Sharding::Shards(_) => {
                let pieces = split_by_bytes(set, rayon::current_num_threads().min(lanes));
                let mut used = vec![false; lanes];
                for (start, end) in pieces {
                    // The least filled lane not used yet in this batch.
                    let Some(lane) = (0..lanes)
                        .filter(|&l| !used[l])
                        .min_by_key(|&l| self.fills[l].map_or(0, |f| f.bytes))
                    else {
                        break;
                    };
                    used[lane] = true;
                    let bytes: u64 = (start..end).map(|i| set.frame_len(i) as u64).sum();
                    let fill = self.fills[lane].get_or_insert(Fill {
                        id: lane as u64,
                        records: 0,
                        bytes: 0,
                    });
                    fill.records += (end - start) as u64;
                    fill.bytes += bytes;
                    self.tasks.push(Task {
                        lane,
                        id: lane as u64,
                        selection: Selection::Range { start, end },
                        continues: self.lanes[lane].is_some(),
                        closes: false,
                    });
                }
            }
            Sharding::RecordsPerShard(_) | Sharding::BytesPerShard(_) => {
                let pieces = if self.options.ordered {
                    vec![(0, len)]
                } else {
                    split_by_bytes(set, lanes)
                };
                for (lane, (start, end)) in pieces.into_iter().enumerate() {
                    self.plan_rollover(set, lane, start, end);
                }
            }
        }
    }

    /// Plans records `start..end` of `set` into `lane`, closing the lane's
    /// shard and opening the next whenever it is full.
    fn plan_rollover(&mut self, set: &dyn RecordSet, lane: usize, start: usize, end: usize) {
        // This batch's task for the lane's open shard, if any yet.
        let mut current: Option<usize> = None;
        for i in start..end {
            let len = set.frame_len(i) as u64;
            if let Some(fill) = self.fills[lane] {
                let full = match self.options.sharding {
                    Sharding::BytesPerShard(limit) => {
                        fill.records > 0 && fill.bytes.saturating_add(len) > limit
                    }
                    Sharding::RecordsPerShard(limit) => fill.records >= limit,
                    Sharding::Shards(_) => false,
                };
                if full {
                    match current {
                        Some(t) => self.tasks[t].closes = true,
                        // Opened by an earlier batch: close it with no records.
                        None => self.tasks.push(Task {
                            lane,
                            id: fill.id,
                            selection: Selection::Range { start: i, end: i },
                            continues: true,
                            closes: true,
                        }),
                    }
                    self.fills[lane] = None;
                    current = None;
                }
            }
            let fill = match self.fills[lane] {
                Some(fill) => fill,
                None => {
                    let fill = Fill {
                        id: self.next_id,
                        records: 0,
                        bytes: 0,
                    };
                    self.next_id += 1;
                    self.fills[lane] = Some(fill);
                    self.tasks.push(Task {
                        lane,
                        id: fill.id,
                        selection: Selection::Range { start: i, end: i },
                        continues: false,
                        closes: false,
                    });
                    current = Some(self.tasks.len() - 1);
                    fill
                }
            };
            let t = match current {
                Some(t) => t,
                None => {
                    self.tasks.push(Task {
                        lane,
                        id: fill.id,
                        selection: Selection::Range { start: i, end: i },
                        continues: true,
                        closes: false,
                    });
                    self.tasks.len() - 1
                }
            };
            current = Some(t);
            if let Selection::Range { end, .. } = &mut self.tasks[t].selection {
                *end = i + 1;
            }
            let fill = Fill {
                records: fill.records + 1,
                bytes: fill.bytes + len,
                ..fill
            };
            self.fills[lane] = Some(fill);
            // A shard that has all its records is finished at once.
            if matches!(self.options.sharding, Sharding::RecordsPerShard(n) if fill.records >= n) {
                self.tasks[t].closes = true;
                self.fills[lane] = None;
                current = None;
            }
        }
    }

    /// Carries out `self.tasks`.
    fn execute(&mut self, set: &dyn RecordSet) -> Result<()> {
        if self.failed {
            return Err(failed_before());
        }
        let tasks = std::mem::take(&mut self.tasks);
        let result = match tasks.as_slice() {
            [] => Ok(()),
            // One shard (every single record): no rayon, no allocation.
            [task] => {
                let open = self.take_open(task);
                let done = run_task(*task, open, set, &self.config());
                self.settle(done)
            }
            _ => {
                let jobs: Vec<(Task, Option<Box<ShardFile>>)> =
                    tasks.iter().map(|t| (*t, self.take_open(t))).collect();
                let config = self.config();
                let results: Vec<Result<Done>> = jobs
                    .into_par_iter()
                    .map(|(task, open)| run_task(task, open, set, &config))
                    .collect();
                let mut first_error = Ok(());
                for done in results {
                    if let Err(e) = self.settle(done) {
                        if first_error.is_ok() {
                            first_error = Err(e);
                        }
                    }
                }
                first_error
            }
        };
        self.tasks = tasks;
        if result.is_err() {
            self.failed = true;
        } else {
            self.records += set.len() as u64;
        }
        result
    }

    /// The lane's open shard, if `task` continues it.
    fn take_open(&mut self, task: &Task) -> Option<Box<ShardFile>> {
        if task.continues {
            self.lanes[task.lane].take()
        } else {
            None
        }
    }

    /// Puts what a task left where it belongs.
    fn settle(&mut self, done: Result<Done>) -> Result<()> {
        match done? {
            Done::Open(lane, shard) => self.lanes[lane] = Some(shard),
            Done::Staged(staged) => self.staged.push(staged),
        }
        Ok(())
    }

    fn config(&self) -> ShardConfig<'_> {
        ShardConfig {
            dir: &self.dir,
            stem: &self.stem,
            compression: self.options.compression,
            sync: self.options.sync,
            index: self.options.index,
            buffer: self.buffer,
            hook: self.options.hook.as_ref(),
        }
    }

    /// Finishes the job: closes and fsyncs every shard, renames them all to
    /// their final names with the shard count now known, fsyncs the
    /// directory, writes the manifest, and returns it.
    ///
    /// A job with no records still gets its shards, empty: `n` of them for
    /// [`Sharding::Shards`]`(n)`, one otherwise. On error every final-named
    /// file of the job is removed again and the temporary files are deleted.
    pub fn finish(mut self) -> Result<Manifest> {
        if self.failed {
            return Err(failed_before());
        }
        let mut open: Vec<Box<ShardFile>> = Vec::new();
        let mut missing: Vec<u64> = Vec::new();
        let counted = matches!(self.options.sharding, Sharding::Shards(_));
        for (lane, slot) in self.lanes.iter_mut().enumerate() {
            match slot.take() {
                Some(shard) => open.push(shard),
                None if counted => missing.push(lane as u64),
                None => {}
            }
        }
        if self.next_id == 0 && !counted {
            missing.push(0);
        }
        let config = self.config();
        let closed: Vec<Result<StagedShard>> = open
            .into_par_iter()
            .map(|s| s.close(&config))
            .chain(
                missing
                    .into_par_iter()
                    .map(|id| ShardFile::create(&config, id).and_then(|s| s.close(&config))),
            )
            .collect();
        let mut staged = std::mem::take(&mut self.staged);
        for c in closed {
            staged.push(c?);
        }
        staged.sort_by_key(|s| s.id);
        if staged.iter().enumerate().any(|(i, s)| s.id != i as u64) {
            return Err(Error::invalid_input("shard numbers are not contiguous"));
        }
        let mut committed = Vec::new();
        let result = self.commit(staged, &mut committed);
        if result.is_err() {
            for path in committed.iter().rev() {
                let _ = crate::storage::remove(path);
            }
        }
        let manifest = result?;
        self.remove_stale(manifest.shards.len() as u64);
        Ok(manifest)
    }

    fn commit(&self, staged: Vec<StagedShard>, committed: &mut Vec<PathBuf>) -> Result<Manifest> {
        let n = staged.len() as u64;
        let hook = self.options.hook.as_ref();
        let manifest_path = self.dir.join(Manifest::file_name(&self.stem));
        // A manifest exists only while all of its shards do.
        crate::storage::remove(&manifest_path)
            .map_err(|e| Error::from(e).with_path(&manifest_path))?;
        let mut shards = Vec::with_capacity(staged.len());
        for s in staged {
            let name = shard_name_for(&self.stem, s.id, n, self.options.compression);
            let index = match s.index {
                Some(idx) => {
                    // The sidecar first: a visible shard always has its index.
                    let idx_name = format!("{name}.idx");
                    rename(idx, &self.dir.join(&idx_name), committed)?;
                    Some(idx_name)
                }
                None => None,
            };
            let (bytes, crc32c) = (s.data.len, s.data.crc32c.unwrap_or(0));
            rename(s.data, &self.dir.join(&name), committed)?;
            shards.push(ShardInfo {
                name,
                index,
                records: s.records,
                bytes,
                frame_bytes: s.frame_bytes,
                crc32c,
            });
        }
        if self.options.sync {
            atomic::sync_dir(&self.dir, hook).map_err(|e| Error::from(e).with_path(&self.dir))?;
        }
        let manifest = Manifest {
            stem: self.stem.clone(),
            compression: self.options.compression,
            shards,
        };
        let mut write = || -> std::io::Result<()> {
            let mut file = AtomicFile::create_with(&manifest_path, SMALL_BUFFER, hook.cloned())?;
            file.set_sync(self.options.sync);
            std::io::Write::write_all(&mut file, manifest.to_json().as_bytes())?;
            let staged = file.stage()?;
            staged.commit(&manifest_path)?;
            committed.push(manifest_path.clone());
            if self.options.sync {
                atomic::sync_dir(&self.dir, hook)?;
            }
            Ok(())
        };
        write().map_err(|e| Error::from(e).with_path(&manifest_path))?;
        Ok(manifest)
    }

    /// Deletes shards (and sidecars) of this stem with another shard count
    /// or another compression.
    fn remove_stale(&self, n: u64) {
        remove_stale(&self.dir, &self.stem, n, self.options.compression);
    }
}

/// Deletes the shards (and sidecars) of `stem` in `dir` (a directory or an
/// object-store prefix) that are not shards of an `n`-shard job with
/// `compression`: an earlier job's.
fn remove_stale(dir: &Path, stem: &str, n: u64, compression: Compression) {
    let Ok(names) = crate::storage::dir_names(dir) else {
        return;
    };
    for name in names {
        if let Some((count, found)) = parse_shard_name(&name, stem) {
            if count != n || found != compression {
                let _ = crate::storage::remove(&dir.join(&name));
            }
        }
    }
}

/// Writes a task's records into its shard (opened here if new), closing
/// the shard when the task says so.
fn run_task(
    task: Task,
    open: Option<Box<ShardFile>>,
    set: &dyn RecordSet,
    config: &ShardConfig<'_>,
) -> Result<Done> {
    let mut shard = match open {
        Some(s) => s,
        None => Box::new(ShardFile::create(config, task.id)?),
    };
    shard.push(set, task.selection, config)?;
    if task.closes {
        Ok(Done::Staged(shard.close(config)?))
    } else {
        Ok(Done::Open(task.lane, shard))
    }
}

enum Done {
    Open(usize, Box<ShardFile>),
    Staged(StagedShard),
}

fn failed_before() -> Error {
    Error::invalid_input("the sharded writer failed earlier and cannot go on")
}

fn rename(staged: Staged, to: &Path, committed: &mut Vec<PathBuf>) -> Result<()> {
    staged
        .commit(to)
        .map_err(|e| Error::from(e).with_path(to))?;
    committed.push(to.to_path_buf());
    Ok(())
}

/// Splits `0..set.len()` into at most `pieces` contiguous, non-empty ranges
/// of about equal frame bytes.
fn split_by_bytes(set: &dyn RecordSet, pieces: usize) -> Vec<(usize, usize)> {
    let len = set.len();
    let pieces = pieces.clamp(1, len.max(1));
    if pieces == 1 {
        return vec![(0, len)];
    }
    let total: u64 = (0..len).map(|i| set.frame_len(i) as u64).sum();
    let mut out = Vec::with_capacity(pieces);
    let (mut start, mut acc) = (0usize, 0u64);
    for i in 0..len {
        acc += set.frame_len(i) as u64;
        let cut = total * (out.len() as u64 + 1) / pieces as u64;
        if acc >= cut && out.len() + 1 < pieces {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < len {
        out.push((start, len));
    }
    out
}

fn check_stem(stem: &str) -> Result<()> {
    let bad = stem.is_empty()
        || stem.starts_with('.')
        || stem.contains(['/', '\\', '\0'])
        || stem == "..";
    if bad {
        return Err(Error::invalid_input(format!(
            "shard stem {stem:?} must be a plain, non-hidden file name"
        )));
    }
    Ok(())
}

/// Removes the temporary files that jobs writing `stem` into `dir` left
/// behind when they were killed: hidden shards and sidecars
/// (`.{stem}-NNNNN.tfrecord[.idx].*.tmp`), manifests
/// (`.{stem}.manifest.json.*.tmp`) and shuffle spools
/// (`.{stem}.spool.*.tmp`). Returns the paths removed.
///
/// Final-named shards are never touched. Call it when no job for `stem`
/// is running in `dir`.
///
/// ```
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join(".train-00003.tfrecord.a1B2c3.tmp"), b"partial")?;
/// std::fs::write(dir.path().join("train-00000-of-00001.tfrecord"), b"")?;
/// let removed = tfrec::write::sharded::cleanup(dir.path(), "train")?;
/// assert_eq!(removed.len(), 1);
/// assert!(dir.path().join("train-00000-of-00001.tfrecord").exists());
/// # Ok::<(), tfrec::Error>(())
/// ```
pub fn cleanup(dir: impl AsRef<Path>, stem: &str) -> Result<Vec<PathBuf>> {
    let dir = dir.as_ref();
    check_stem(stem)?;
    atomic::remove_temp_files(dir, |n| is_temp_of(n, stem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems() {
        for bad in ["", ".x", "a/b", "..", "a\0b"] {
            assert!(check_stem(bad).is_err(), "{bad:?}");
        }
        check_stem("train.v2-x").unwrap();
    }

    #[test]
    fn pieces_cover_everything_once() {
        let items: Vec<Vec<u8>> = (0..37).map(|i| vec![0u8; (i * 7919) % 300]).collect();
        let set = Payloads {
            items: &items,
            crcs: None,
        };
        for n in 1..10 {
            let pieces = split_by_bytes(&set, n);
            assert!(pieces.len() <= n && !pieces.is_empty());
            let mut next = 0;
            for (s, e) in pieces {
                assert_eq!(s, next);
                assert!(e > s);
                next = e;
            }
            assert_eq!(next, items.len());
        }
    }
}
