//! The dataset handle: what the files hold, each epoch's order for this
//! rank, and the iterators over it.
//!
//! A thin front over the plan and the iterators: knows nothing of how the
//! dataset was built, nor of how batches are made.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::example::ParseSpec;
use crate::index::{Index, IndexedFile};

use super::examples::ExampleBatches;
use super::inner::Inner;
use super::iter::{Batches, Samples};
use super::plan::{Files, RecordId};
use super::state::IterState;

/// A multi-file dataset of tensors, ready to iterate; see the
/// [module documentation](super).
///
/// Cheap to clone (the files, indexes and thread pool are shared).
#[derive(Clone)]
pub struct Dataset {
    pub(crate) inner: Arc<Inner>,
}

impl Dataset {
    /// The files, in the order record ids refer to them.
    pub fn paths(&self) -> &[PathBuf] {
        &self.inner.plan.paths
    }

    /// The index of file `file`, for random-access datasets.
    pub fn index(&self, file: usize) -> Option<&Index> {
        match &self.inner.plan.files {
            Files::Indexed(files) => files.get(file).map(IndexedFile::index),
            Files::Streamed => None,
        }
    }

    /// True when every file is uncompressed and indexed: the shuffle is then
    /// a global permutation. False when the dataset streams.
    pub fn is_random_access(&self) -> bool {
        matches!(self.inner.plan.files, Files::Indexed(_))
    }

    /// Threads decoding records (see
    /// [`DatasetBuilder::threads`](super::DatasetBuilder::threads)).
    pub fn threads(&self) -> usize {
        self.inner.threads.current_num_threads()
    }

    /// Records in all files.
    pub fn total_records(&self) -> u64 {
        self.inner.plan.total()
    }

    /// Records this rank visits per epoch.
    pub fn len(&self) -> u64 {
        self.inner.plan.shard_len()
    }

    /// True when this rank visits no records.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Batches this rank receives per epoch.
    pub fn batches_per_epoch(&self) -> u64 {
        let n = self.inner.plan.cfg.batch_size as u64;
        if self.inner.plan.cfg.drop_last {
            self.len() / n
        } else {
            self.len().div_ceil(n)
        }
    }

    /// The records this rank visits in `epoch`, in order. Batches cover them
    /// in turn (without the last partial batch under
    /// [`drop_last`](super::DatasetBuilder::drop_last)).
    ///
    /// Computed from the record counts alone; nothing is read.
    pub fn order(&self, epoch: u64) -> Vec<RecordId> {
        self.inner.plan.order(epoch)
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
        Ok(self.inner.plan.resume(state)?.1)
    }

    /// Records in this rank's part of the epoch resumed from `state` (see
    /// [`resume_state`](Dataset::resume_state)): [`len`](Dataset::len)
    /// unless the state was saved by a different number of ranks.
    pub fn part_len(&self, state: IterState) -> Result<u64> {
        Ok(self.inner.plan.resume(state)?.0.len())
    }

    /// The batches of parsed `Example`s from a saved state on, to the end of
    /// that state's epoch: the records of [`batches`](Dataset::batches), in
    /// the same order, batches and shards, each parsed by `spec` instead of
    /// decoded as a tensor (as `tf.io.parse_example` parses a batch of
    /// serialized examples). [`ExampleBatches::state`] gives the state to
    /// save. The dataset's [`map`](super::DatasetBuilder::map),
    /// [`pad_to`](super::DatasetBuilder::pad_to) and
    /// [`ragged`](super::DatasetBuilder::ragged) apply to tensors and are
    /// not used here.
    ///
    /// Payloads of memory-mapped files are parsed where they lie in the map,
    /// after their CRCs are checked; values go straight into the batch's
    /// buffers, which return to a pool when the batch is dropped. An error
    /// (a bad spec, a damaged record, an `Example` that does not fit the
    /// spec) names the file, record index and offset.
    ///
    /// ```
    /// use tfrec::example::{DefaultValue, Example, ParseSpec};
    /// use tfrec::pipeline::{Dataset, IterState};
    /// use tfrec::{DType, Writer};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("train.tfrecord");
    /// let mut w = Writer::create(&path)?;
    /// for i in 0..10i64 {
    ///     w.write_example(&Example::default().int64("label", [i % 3]).float("x", [i as f32; 4]))?;
    /// }
    /// w.finish()?;
    ///
    /// let spec = ParseSpec::new()
    ///     .fixed("label", DType::I64, &[], None)
    ///     .fixed("x", DType::F32, &[4], None)
    ///     .fixed("weight", DType::F32, &[], Some(DefaultValue::from(1.0f32)));
    /// let ds = Dataset::builder().file(&path).shuffle(7).batch(4).build()?;
    /// let mut batches = ds.example_batches(&spec, IterState::default())?;
    /// let first = batches.next().unwrap()?;
    /// assert_eq!(first.get("x").unwrap().shape(), [4, 4]);
    /// assert_eq!(&*first.get("weight").unwrap().values::<f32>().unwrap(), [1.0; 4]);
    /// let saved = batches.state();                // epoch 0, position 4
    /// drop(first);
    /// drop(batches);
    /// let rest: usize = ds
    ///     .example_batches(&spec, saved)?
    ///     .map(|b| b.map(|b| b.len()))
    ///     .sum::<Result<usize, _>>()?;
    /// assert_eq!(rest, 6);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn example_batches(&self, spec: &ParseSpec, state: IterState) -> Result<ExampleBatches> {
        self.example_batches_split(spec, state, 0, 1)
    }

    /// Batches `part`, `part + parts`, ... of those
    /// [`example_batches`](Dataset::example_batches) yields from `state`
    /// on, as [`batches_split`](Dataset::batches_split) splits tensor
    /// batches between workers.
    pub fn example_batches_split(
        &self,
        spec: &ParseSpec,
        state: IterState,
        part: usize,
        parts: usize,
    ) -> Result<ExampleBatches> {
        let split = check_split(part, parts)?;
        ExampleBatches::new(self.inner.clone(), spec, state, split)
    }
}

/// `(part, parts)` when `part` is one of `parts`.
fn check_split(part: usize, parts: usize) -> Result<(u64, u64)> {
    if part >= parts {
        return Err(Error::invalid_input(format!(
            "part {part} is not below the number of parts {parts}"
        )));
    }
    Ok((part as u64, parts as u64))
}
