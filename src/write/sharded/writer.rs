//! [`ShardedWriter`]: records into shards, batches planned shard by shard
//! and written on rayon's pool. Knows nothing of final names, manifests or
//! cleaning up (`commit` does that), nor of the bytes of a shard file
//! (`shard` does that).

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::crc::masked_crc32c;
use crate::error::{Error, Result};
use crate::tensor::TensorView;
use crate::write::atomic;

use super::options::{check_stem, ShardOptions, Sharding};
use super::shard::{
    tensor_crc, Payloads, RecordSet, Selection, ShardConfig, ShardFile, StagedShard, Tensors,
};

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

/// Writes records into shards; see the [module docs](super) for the files
/// it makes and the guarantees about them.
pub struct ShardedWriter {
    pub(super) dir: PathBuf,
    pub(super) stem: String,
    pub(super) options: ShardOptions,
    /// Write buffer per shard.
    buffer: usize,
    /// The open shard of each lane: one lane per shard for
    /// [`Sharding::Shards`]; one lane, or one per thread when unordered, for
    /// the other modes.
    pub(super) lanes: Vec<Option<Box<ShardFile>>>,
    /// The planner's view of `lanes`.
    fills: Vec<Option<Fill>>,
    pub(super) staged: Vec<StagedShard>,
    pub(super) next_id: u64,
    records: u64,
    tasks: Vec<Task>,
    pub(super) failed: bool,
}
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

    pub(super) fn config(&self) -> ShardConfig<'_> {
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

pub(super) fn failed_before() -> Error {
    Error::invalid_input("the sharded writer failed earlier and cannot go on")
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

#[cfg(test)]
mod tests {
    use super::*;

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
