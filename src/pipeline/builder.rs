//! Building a dataset: collecting the options, then finding the files,
//! indexing (or counting) them, and starting the decoding pool.
//!
//! Runs once, before any iteration: knows nothing of how batches are
//! made, prefetched or resumed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::index::{IndexOptions, IndexedFile};
use crate::read::{CorruptionPolicy, ReadOptions, Reader, Skipped};
use crate::tensor::{Dims, Tensor, TensorView};

use super::batch::Pool;
use super::dataset::Dataset;
use super::inner::Inner;
use super::options::{Config, MapFn, ShardMode, Stacking};
use super::plan::{Files, Plan};
use super::skip::{self, SkipPolicy};

impl Dataset {
    /// A new builder.
    pub fn builder() -> DatasetBuilder {
        DatasetBuilder::new()
    }
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
    skip: SkipPolicy,
}

impl Default for DatasetBuilder {
    fn default() -> Self {
        DatasetBuilder {
            paths: Vec::new(),
            patterns: Vec::new(),
            cfg: Config::default(),
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
    /// state resume on a different number of ranks (see [`IterState`](super::IterState)).
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
                plan: Plan {
                    paths,
                    files,
                    starts,
                    cfg,
                    live,
                    index_skips,
                },
                map,
                threads,
                slabs,
                skip,
            }),
        })
    }
}

/// The options for damaged records.
impl DatasetBuilder {
    /// What to do about damaged records (default: [`CorruptionPolicy::Strict`],
    /// fail the epoch with an error naming the file, offset and record).
    ///
    /// With [`CorruptionPolicy::Skip`] a damaged record is skipped and
    /// reported to [`on_skip`](DatasetBuilder::on_skip) instead:
    ///
    /// - a file whose frame headers are damaged is indexed past the damage
    ///   (resynchronised at the next sound frame, as the skipping
    ///   [`Reader`] does). Each damaged stretch counts as one record that
    ///   the epoch never visits: [`len`](Dataset::len), the order, the
    ///   shards and the batches are those of the sound records alone, and
    ///   the stretch is reported once, when the dataset is built;
    /// - a record whose payload fails its CRC when read (headers are
    ///   checked when indexing, payloads only when read) is dropped from its
    ///   batch, which is then one record short, and reported each time an
    ///   epoch meets it. The other batches keep their records, and the
    ///   iteration state still counts the dropped record, so that resuming
    ///   lands where an uninterrupted run would be. A batch whose records
    ///   are all dropped is not yielded.
    /// - compressed files are streamed by the skipping [`Reader`]; their
    ///   damaged records are left out of the record counts (they are read
    ///   once at build time) and reported every epoch.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use tfrec::pipeline::Dataset;
    /// use tfrec::read::CorruptionPolicy;
    /// use tfrec::{Tensor, Writer};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.tfrecord");
    /// let mut w = Writer::create(&path)?;
    /// for i in 0..4u32 {
    ///     w.write_tensor(&Tensor::from_slice(&[i; 8], &[8])?)?;
    /// }
    /// w.finish()?;
    /// // Flip a bit in the last byte of record 1's payload.
    /// let mut bytes = std::fs::read(&path)?;
    /// let frame = bytes.len() / 4;
    /// bytes[2 * frame - 5] ^= 1;
    /// std::fs::write(&path, &bytes)?;
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// let ds = Dataset::builder()
    ///     .file(&path)
    ///     .batch(4)
    ///     .corruption(CorruptionPolicy::Skip)
    ///     .on_skip(move |s| log.lock().unwrap().push((s.offset, s.error.record_index())))
    ///     .build()?;
    /// let batch = ds.epoch(0)?.next().unwrap()?;
    /// assert_eq!(batch.len(), 3);                    // record 1 dropped
    /// assert_eq!(*seen.lock().unwrap(), [(frame as u64, Some(1))]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn corruption(mut self, policy: CorruptionPolicy) -> Self {
        self.skip.skip = policy == CorruptionPolicy::Skip;
        self
    }

    /// With [`CorruptionPolicy::Skip`], the most damaged records one pass
    /// over an epoch may skip (those found while indexing count in every
    /// pass); one more is a [`TooManySkipped`](crate::ErrorKind::TooManySkipped)
    /// error (default: no limit).
    pub fn max_skipped(mut self, limit: u64) -> Self {
        self.skip.max_skipped = Some(limit);
        self
    }

    /// Called with every damaged record skipped under
    /// [`CorruptionPolicy::Skip`]: its file, offset, record index and what
    /// was wrong. It runs on whichever thread found the damage (a decoding
    /// or prefetch thread, or the one building the dataset).
    pub fn on_skip<F>(mut self, f: F) -> Self
    where
        F: Fn(&Skipped) + Send + Sync + 'static,
    {
        self.skip.on_skip = Some(Arc::new(f));
        self
    }
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
