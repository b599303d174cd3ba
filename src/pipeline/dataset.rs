//! The dataset: its files, its configuration, and the order of its records.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::index::{Index, IndexOptions, IndexedFile};
use crate::read::{ReadOptions, Reader};
use crate::tensor::{Dims, Tensor, TensorView};

use super::batch::{Pool, RecordId};
use super::iter::{Batches, Samples};
use super::part::Part;
use super::rng::{self, Xoshiro256};
use super::skip::{self, SkipPolicy};
use super::state::IterState;
use super::stream::ShuffleBuffer;

/// A function applied to every decoded tensor; see [`DatasetBuilder::map`].
pub type MapFn = dyn Fn(TensorView<'_>) -> Result<Tensor> + Send + Sync;

/// How [`DatasetBuilder::shard`] cuts an epoch's order into parts.
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

pub(crate) enum Files {
    /// Every file uncompressed and indexed: random access, global shuffle.
    Indexed(Vec<IndexedFile>),
    /// Some file compressed: every file is read as a stream.
    Streamed,
}

pub(crate) struct Inner {
    pub(crate) paths: Vec<PathBuf>,
    pub(crate) files: Files,
    /// Global position of each file's first record; one more entry for the
    /// total.
    pub(crate) starts: Vec<u64>,
    pub(crate) cfg: Config,
    pub(crate) map: Option<Arc<MapFn>>,
    pub(crate) threads: rayon::ThreadPool,
    pub(crate) slabs: Arc<Pool>,
    pub(crate) skip: SkipPolicy,
    /// For files indexed past damage: the entry index of each sound record.
    pub(crate) live: Vec<Option<Vec<u64>>>,
    /// Damaged stretches found while indexing.
    pub(crate) index_skips: u64,
}

/// Builds a [`Dataset`]; see the [module documentation](super).
#[must_use]
pub struct DatasetBuilder {
    paths: Vec<PathBuf>,
    patterns: Vec<String>,
    cfg: Config,
    threads: usize,
    index_options: IndexOptions,
    mmap: bool,
    map: Option<Arc<MapFn>>,
    pub(crate) skip: SkipPolicy,
}

impl Default for DatasetBuilder {
    fn default() -> Self {
        DatasetBuilder {
            paths: Vec::new(),
            patterns: Vec::new(),
            cfg: Config {
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
            },
            threads: 0,
            index_options: IndexOptions::default(),
            mmap: true,
            map: None,
            skip: SkipPolicy::default(),
        }
    }
}

impl DatasetBuilder {
    /// A builder with no files, no shuffle, one rank, batches of 1.
    pub fn new() -> Self {
        DatasetBuilder::default()
    }

    /// Adds one file.
    pub fn file(mut self, path: impl AsRef<Path>) -> Self {
        self.paths.push(path.as_ref().to_path_buf());
        self
    }

    /// Adds files, in the order given.
    pub fn files<P: AsRef<Path>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.paths
            .extend(paths.into_iter().map(|p| p.as_ref().to_path_buf()));
        self
    }

    /// Adds the files matching a glob pattern (`data/train-*.tfrecord`,
    /// `**` for any depth), sorted by path. A pattern that matches nothing
    /// is an error at [`build`](DatasetBuilder::build).
    pub fn glob(mut self, pattern: impl Into<String>) -> Self {
        self.patterns.push(pattern.into());
        self
    }

    /// Shuffles globally: each epoch visits every record of every file in
    /// the order of a permutation determined by (`seed`, epoch) alone.
    /// Compressed files are streamed instead; see
    /// [`shuffle_buffer`](DatasetBuilder::shuffle_buffer).
    pub fn shuffle(mut self, seed: u64) -> Self {
        self.cfg.seed = Some(seed);
        self
    }

    /// Keeps only the part of each epoch's order that belongs to `rank` of
    /// `world` ranks. The parts are disjoint, cover every record, and differ
    /// in size by at most one. Sharding follows the shuffle, so each rank
    /// sees a new random subset every epoch.
    pub fn shard(mut self, rank: usize, world: usize) -> Self {
        self.cfg.rank = rank as u64;
        self.cfg.world = world as u64;
        self
    }

    /// Contiguous (default) or strided parts. Strided parts let a saved
    /// state resume on a different number of ranks (see [`IterState`]).
    pub fn shard_mode(mut self, mode: ShardMode) -> Self {
        self.cfg.shard_mode = mode;
        self
    }

    /// Leaves out the `total % world` records that would make some parts one
    /// longer, so that every rank has the same number (default: no). With a
    /// shuffle, which records are left out changes every epoch.
    pub fn drop_remainder(mut self, yes: bool) -> Self {
        self.cfg.drop_remainder = yes;
        self
    }

    /// Batches of `n` records (default 1), stacked into one buffer `[n, ...]`
    /// unless [`pad_to`](DatasetBuilder::pad_to) or
    /// [`ragged`](DatasetBuilder::ragged) say otherwise. Stacked records must
    /// share dtype and shape; an error names the first that does not.
    pub fn batch(mut self, n: usize) -> Self {
        self.cfg.batch_size = n;
        self
    }

    /// Drops the last batch of an epoch when it is partial (default: no).
    pub fn drop_last(mut self, yes: bool) -> Self {
        self.cfg.drop_last = yes;
        self
    }

    /// Stacks records of the same dtype and rank but varying shapes by
    /// zero-padding each to `shape` (every dimension of a record must be at
    /// most the one given). [`Batch::record_shape`](super::Batch::record_shape)
    /// keeps each record's own shape.
    pub fn pad_to(mut self, shape: &[usize]) -> Self {
        self.cfg.stacking = Stacking::Pad(Dims::from_slice(shape));
        self
    }

    /// Yields each batch as a list of tensors ([`Batch::tensors`](super::Batch::tensors))
    /// rather than one stacked buffer, for data of varying dtype or shape.
    /// Each tensor is a separate allocation.
    pub fn ragged(mut self) -> Self {
        self.cfg.stacking = Stacking::Ragged;
        self
    }

    /// Threads decoding records, in a pool of the dataset's own (default:
    /// as many as the machine has cores).
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = n;
        self
    }

    /// Batches prepared ahead on a background thread (default 2). At most
    /// `k` batches are in flight (being filled or waiting to be taken),
    /// so at most `k` × the batch's bytes besides what the caller holds.
    /// `0` prepares each batch on the caller's thread when it is asked for.
    pub fn prefetch(mut self, k: usize) -> Self {
        self.cfg.prefetch = k;
        self
    }

    /// Applies `f` to every decoded tensor, on the decoding threads, before
    /// batching. Its errors end the iteration, with the record named.
    ///
    /// ```
    /// use tfrec::pipeline::Dataset;
    /// use tfrec::{Tensor, Writer};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.tfrecord");
    /// let mut w = Writer::create(&path)?;
    /// w.write_tensor(&Tensor::from_slice(&[0u8, 128, 255], &[3])?)?;
    /// w.finish()?;
    /// let ds = Dataset::builder()
    ///     .file(&path)
    ///     .map(|t| {
    ///         let scaled: Vec<f32> = t.values::<u8>()?.iter().map(|&v| v as f32 / 255.0).collect();
    ///         Tensor::from_slice(&scaled, t.shape())
    ///     })
    ///     .build()?;
    /// let batch = ds.epoch(0)?.next().unwrap()?;
    /// assert_eq!(batch.values::<f32>().unwrap()[2], 1.0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn map<F>(mut self, f: F) -> Self
    where
        F: Fn(TensorView<'_>) -> Result<Tensor> + Send + Sync + 'static,
    {
        self.map = Some(Arc::new(f));
        self
    }

    /// Records held by the shuffle buffer of streamed (compressed) datasets
    /// (default 1,024). See the [module documentation](super#compressed-files).
    pub fn shuffle_buffer(mut self, records: usize) -> Self {
        self.cfg.shuffle_buffer = records;
        self
    }

    /// Whether to check each payload's CRC (default: yes).
    pub fn verify_data_crc(mut self, yes: bool) -> Self {
        self.cfg.verify_data_crc = yes;
        self
    }

    /// Options for finding each file's index (sidecar use and checks).
    pub fn index_options(mut self, options: IndexOptions) -> Self {
        self.index_options = options;
        self
    }

    /// Whether to read uncompressed files through memory maps (default:
    /// yes) or with positioned reads into page-aligned per-thread buffers.
    ///
    /// For shuffled batches of 256 images (`uint8[128,128,3]`) maps were
    /// about twice as fast here (4.5 against 2.5 GB/s on 2 cores): a record
    /// is checked and copied into its batch straight from the page cache,
    /// and the map's page tables are built once, in the first epoch. As with
    /// [`Reader::open`], a mapped file cut short while the dataset lives
    /// gives truncated-record errors, not a crash; turn maps off for files
    /// rewritten in place.
    pub fn mmap(mut self, yes: bool) -> Self {
        self.mmap = yes;
        self
    }

    /// Finds the files, indexes each uncompressed one (sidecar or scan),
    /// counts the records of compressed ones, and starts the thread pool.
    pub fn build(self) -> Result<Dataset> {
        let DatasetBuilder {
            mut paths,
            patterns,
            cfg,
            threads,
            index_options,
            mmap,
            map,
            skip,
        } = self;
        for pattern in &patterns {
            paths.extend(expand_glob(pattern)?);
        }
        if paths.is_empty() {
            return Err(Error::invalid_input("a dataset needs at least one file"));
        }
        if cfg.world == 0 || cfg.rank >= cfg.world {
            return Err(Error::invalid_input(format!(
                "shard rank {} is not below world size {}",
                cfg.rank, cfg.world
            )));
        }
        if cfg.batch_size == 0 {
            return Err(Error::invalid_input("batch size must be at least 1"));
        }
        if cfg.seed.is_some() && cfg.shuffle_buffer == 0 {
            return Err(Error::invalid_input(
                "shuffle buffer must hold at least 1 record",
            ));
        }

        let mut compressed = false;
        for path in &paths {
            compressed |= detect(path)? != Compression::None;
        }
        // The pool first: indexing mapped files runs on it.
        let threads = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("tfrec-decode-{i}"))
            .build()
            .map_err(|e| Error::invalid_input(format!("cannot start decoding threads: {e}")))?;
        let mut counts = Vec::with_capacity(paths.len());
        let mut live = Vec::with_capacity(paths.len());
        let mut index_skips = 0u64;
        let files = if compressed {
            for path in &paths {
                let options = skip.reader_options(ReadOptions::default());
                let mut reader = skip.attach(Reader::open_with(path, options)?);
                counts.push(reader.count()?);
                live.push(None);
            }
            Files::Streamed
        } else {
            let mut files = Vec::with_capacity(paths.len());
            for path in &paths {
                let opened = if mmap {
                    threads.install(|| IndexedFile::open_mapped(path, &index_options))
                } else {
                    threads.install(|| IndexedFile::open_with(path, &index_options))
                };
                let file = match opened {
                    Ok(file) => {
                        counts.push(file.len() as u64);
                        live.push(None);
                        file
                    }
                    Err(e) if skip.skip && e.kind().is_damage() => {
                        let recovered = skip::recover(path, mmap, cfg.verify_data_crc, e)?;
                        for s in &recovered.skipped {
                            index_skips += 1;
                            skip.check_limit(index_skips, &s.error)?;
                            skip.report(s);
                        }
                        counts.push(recovered.live.len() as u64);
                        live.push(Some(recovered.live));
                        recovered.file
                    }
                    Err(e) => return Err(e),
                };
                files.push(file.verify_data_crc(cfg.verify_data_crc));
            }
            Files::Indexed(files)
        };
        let mut starts = Vec::with_capacity(counts.len() + 1);
        let mut total = 0u64;
        starts.push(0);
        for c in &counts {
            total += c;
            starts.push(total);
        }
        let slabs = Pool::new(cfg.prefetch + 2);
        Ok(Dataset {
            inner: Arc::new(Inner {
                paths,
                files,
                starts,
                cfg,
                map,
                threads,
                slabs,
                skip,
                live,
                index_skips,
            }),
        })
    }
}

/// `(part, parts)` when `part` is one of `parts`.
pub(crate) fn check_split(part: usize, parts: usize) -> Result<(u64, u64)> {
    if part >= parts {
        return Err(Error::invalid_input(format!(
            "part {part} is not below the number of parts {parts}"
        )));
    }
    Ok((part as u64, parts as u64))
}

fn detect(path: &Path) -> Result<Compression> {
    if let Some(url) = crate::storage::remote(path) {
        // A small ranged read rather than a stream's read-ahead.
        let object = crate::storage::RemoteObject::open(&url)?;
        let prefix = object.read_range(0..object.len().min(Compression::DETECT_LEN as u64))?;
        return Ok(Compression::detect(&prefix));
    }
    let reader = Reader::open_with(path, ReadOptions::default().mmap(false))?;
    Ok(reader.compression())
}

fn expand_glob(pattern: &str) -> Result<Vec<PathBuf>> {
    let bad =
        |e: &dyn std::fmt::Display| Error::invalid_input(format!("glob pattern {pattern:?}: {e}"));
    let mut found = Vec::new();
    if let Some(url) = crate::storage::ObjectUrl::parse(pattern) {
        found = crate::storage::glob(&url)?
            .iter()
            .map(crate::storage::ObjectUrl::to_path_buf)
            .collect();
        if found.is_empty() {
            return Err(bad(&"matches no object"));
        }
        return Ok(found);
    }
    for entry in glob::glob(pattern).map_err(|e| bad(&e))? {
        let path = entry.map_err(|e| bad(&e))?;
        if path.is_file() {
            found.push(path);
        }
    }
    if found.is_empty() {
        return Err(bad(&"matches no file"));
    }
    found.sort();
    Ok(found)
}

/// A multi-file dataset of tensors, ready to iterate; see the
/// [module documentation](super).
///
/// Cheap to clone (the files, indexes and thread pool are shared).
#[derive(Clone)]
pub struct Dataset {
    pub(crate) inner: Arc<Inner>,
}

impl Dataset {
    /// A new builder.
    pub fn builder() -> DatasetBuilder {
        DatasetBuilder::new()
    }

    /// The files, in the order record ids refer to them.
    pub fn paths(&self) -> &[PathBuf] {
        &self.inner.paths
    }

    /// The index of file `file`, for random-access datasets.
    pub fn index(&self, file: usize) -> Option<&Index> {
        match &self.inner.files {
            Files::Indexed(files) => files.get(file).map(IndexedFile::index),
            Files::Streamed => None,
        }
    }

    /// True when every file is uncompressed and indexed: the shuffle is then
    /// a global permutation. False when the dataset streams.
    pub fn is_random_access(&self) -> bool {
        matches!(self.inner.files, Files::Indexed(_))
    }

    /// Threads decoding records (see [`DatasetBuilder::threads`]).
    pub fn threads(&self) -> usize {
        self.inner.threads.current_num_threads()
    }

    /// Records in all files.
    pub fn total_records(&self) -> u64 {
        self.inner.total()
    }

    /// Records this rank visits per epoch.
    pub fn len(&self) -> u64 {
        self.inner.shard_len()
    }

    /// True when this rank visits no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Batches this rank receives per epoch.
    pub fn batches_per_epoch(&self) -> u64 {
        let n = self.inner.cfg.batch_size as u64;
        if self.inner.cfg.drop_last {
            self.len() / n
        } else {
            self.len().div_ceil(n)
        }
    }

    /// The records this rank visits in `epoch`, in order. Batches cover them
    /// in turn (without the last partial batch under
    /// [`drop_last`](DatasetBuilder::drop_last)).
    ///
    /// Computed from the record counts alone; nothing is read.
    pub fn order(&self, epoch: u64) -> Vec<RecordId> {
        self.inner.order(epoch)
    }

    /// The batches of `epoch`, from its start.
    pub fn epoch(&self, epoch: u64) -> Result<Batches> {
        self.batches(IterState::epoch_start(epoch))
    }

    /// The batches from a saved state on, to the end of that state's epoch.
    /// [`Batches::state`] gives the state to save.
    pub fn batches(&self, state: IterState) -> Result<Batches> {
        Batches::new(self.inner.clone(), state, None, (0, 1))
    }

    /// Batches `part`, `part + parts`, `part + 2·parts`, ... of those
    /// [`batches`](Dataset::batches) yields from `state` on: for `parts`
    /// workers sharing this rank's batches, each making only its own.
    /// Taking one batch from each part in turn gives the sequence of
    /// `batches(state)`. The [`state`](Batches::state) of the result is the
    /// position after this part's last batch yielded (with the other parts'
    /// batches before it counted as done).
    ///
    /// ```
    /// use tfrec::pipeline::{Dataset, IterState};
    /// use tfrec::{Tensor, Writer};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.tfrecord");
    /// let mut w = Writer::create(&path)?;
    /// for i in 0..10u8 {
    ///     w.write_tensor(&Tensor::from_slice(&[i], &[1])?)?;
    /// }
    /// w.finish()?;
    /// let ds = Dataset::builder().file(&path).batch(3).build()?;
    /// let firsts = |part| -> tfrec::Result<Vec<u64>> {
    ///     ds.batches_split(IterState::default(), part, 2)?
    ///         .map(|b| b.map(|b| b.ids()[0].index))
    ///         .collect()
    /// };
    /// assert_eq!(firsts(0)?, [0, 6]);
    /// assert_eq!(firsts(1)?, [3, 9]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn batches_split(&self, state: IterState, part: usize, parts: usize) -> Result<Batches> {
        let split = check_split(part, parts)?;
        Batches::new(self.inner.clone(), state, None, split)
    }

    /// The records one by one (decoded, mapped, not batched) from a saved
    /// state on, to the end of that state's epoch.
    pub fn samples(&self, state: IterState) -> Result<Samples> {
        Samples::new(self.inner.clone(), state)
    }
}

impl Inner {
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
