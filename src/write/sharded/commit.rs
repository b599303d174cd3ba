//! Finishing a sharded job: closing its shards, renaming them to their
//! final names, the manifest, removing an earlier job's shards, and
//! removing the temporary files of killed jobs. Knows nothing of planning
//! batches or of the records' bytes.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::write::atomic::{self, AtomicFile, Staged};

use super::manifest::{Manifest, ShardInfo};
use super::names::{is_temp_of, parse_shard_name, shard_name_for};
use super::options::{check_stem, Sharding};
use super::shard::{ShardFile, StagedShard, SMALL_BUFFER};
use super::writer::{failed_before, ShardedWriter};

impl ShardedWriter {
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
pub(super) fn remove_stale(dir: &Path, stem: &str, n: u64, compression: Compression) {
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

fn rename(staged: Staged, to: &Path, committed: &mut Vec<PathBuf>) -> Result<()> {
    staged
        .commit(to)
        .map_err(|e| Error::from(e).with_path(to))?;
    committed.push(to.to_path_buf());
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
