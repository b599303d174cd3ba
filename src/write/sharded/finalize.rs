//! Gathering the shards of several finished jobs under one job's names.
//!
//! Knows nothing of records or their bytes.
//!
//! A distributed writer (one task per partition of a Spark or Ray job)
//! cannot name its shards `{stem}-{i:05}-of-{n:05}`: `n` is known only when
//! every task is done. Each task therefore writes a complete job of its own
//! with a [`ShardedWriter`](super::ShardedWriter) into a staging directory,
//! and [`finalize`] then moves all of their shards into place in one step.

use std::path::{Path, PathBuf};

use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::write::atomic::{self, AtomicFile};

use super::commit::remove_stale;
use super::manifest::{Manifest, ShardInfo};
use super::names::shard_name_for;
use super::options::{check_stem, ShardOptions, Sharding};
use super::shard::SMALL_BUFFER;
use super::writer::ShardedWriter;

/// Moves the shards of finished jobs into `dir` as the shards of one job
/// of `stem`, and returns its manifest.
///
/// `parts` are the manifest files of the staged jobs, in order: the shards
/// of `parts[0]` come first, then those of `parts[1]`, and so on. Each
/// staged shard (and its `.idx` sidecar) is found next to its manifest, is
/// checked to have the size the manifest gives, and is renamed (so the
/// staging directories must be on the same file system as `dir`) to
/// `{stem}-{i:05}-of-{n:05}` with the suffix of `compression`, which every
/// staged job must share. Then `{stem}.manifest.json` is written and shards
/// of `stem` left by an earlier job with another shard count or compression
/// are deleted, exactly as [`ShardedWriter::finish`] does; an older
/// manifest of `stem` is deleted before the first rename.
///
/// No staged shard at all still makes a job of one empty shard. If
/// `finalize` fails, every file it had already put under a final name is
/// removed again. The staged manifests and directories are left for the
/// caller to remove.
///
/// ```
/// use tfrec::write::sharded::{finalize, ShardOptions, ShardedWriter};
/// use tfrec::Compression;
///
/// let out = tempfile::tempdir()?;
/// let mut parts = Vec::new();
/// for task in 0..2u8 {
///     let staging = out.path().join(format!(".staging/task{task}"));
///     let mut w = ShardedWriter::create(&staging, "part", ShardOptions::default())?;
///     w.write_record(&[task])?;
///     w.finish()?;
///     parts.push(staging.join("part.manifest.json"));
/// }
/// let manifest = finalize(out.path(), "train", &parts, Compression::None, false)?;
/// assert_eq!(manifest.shards[1].name, "train-00001-of-00002.tfrecord");
/// assert!(out.path().join("train-00001-of-00002.tfrecord.idx").exists());
/// # Ok::<(), tfrec::Error>(())
/// ```
pub fn finalize(
    dir: impl AsRef<Path>,
    stem: &str,
    parts: &[PathBuf],
    compression: Compression,
    sync: bool,
) -> Result<Manifest> {
    let dir = dir.as_ref();
    check_stem(stem)?;
    let mut staged: Vec<(PathBuf, ShardInfo)> = Vec::new();
    for part in parts {
        let manifest = Manifest::read(part)?;
        if manifest.compression != compression {
            return Err(Error::invalid_input(format!(
                "staged shards are {}, not {compression}",
                manifest.compression
            ))
            .with_path(part));
        }
        let from = atomic::parent_dir(part);
        for shard in manifest.shards {
            let path = from.join(&shard.name);
            let len = std::fs::metadata(&path)
                .map_err(|e| Error::from(e).with_path(&path))?
                .len();
            if len != shard.bytes {
                return Err(Error::invalid_input(format!(
                    "staged shard has {len} bytes, its manifest says {}",
                    shard.bytes
                ))
                .with_path(&path));
            }
            staged.push((from.to_path_buf(), shard));
        }
    }
    if staged.is_empty() {
        let options = ShardOptions::new(Sharding::Shards(1))
            .compression(compression)
            .sync(sync);
        return ShardedWriter::create(dir, stem, options)?.finish();
    }
    let mut committed = Vec::new();
    let result = commit(dir, stem, staged, compression, sync, &mut committed);
    if result.is_err() {
        for path in committed.iter().rev() {
            let _ = std::fs::remove_file(path);
        }
    }
    let manifest = result?;
    remove_stale(dir, stem, manifest.shards.len() as u64, compression);
    Ok(manifest)
}

fn commit(
    dir: &Path,
    stem: &str,
    staged: Vec<(PathBuf, ShardInfo)>,
    compression: Compression,
    sync: bool,
    committed: &mut Vec<PathBuf>,
) -> Result<Manifest> {
    std::fs::create_dir_all(dir).map_err(|e| Error::from(e).with_path(dir))?;
    let manifest_path = dir.join(Manifest::file_name(stem));
    // A manifest exists only while all of its shards do.
    match std::fs::remove_file(&manifest_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::from(e).with_path(&manifest_path))
        }
        _ => {}
    }
    let n = staged.len() as u64;
    let mut shards = Vec::with_capacity(staged.len());
    for (i, (from, shard)) in (0u64..).zip(staged) {
        let name = shard_name_for(stem, i, n, compression);
        let index = match &shard.index {
            Some(idx) => {
                // The sidecar first: a visible shard always has its index.
                let idx_name = format!("{name}.idx");
                rename(&from.join(idx), &dir.join(&idx_name), committed)?;
                Some(idx_name)
            }
            None => None,
        };
        rename(&from.join(&shard.name), &dir.join(&name), committed)?;
        shards.push(ShardInfo {
            name,
            index,
            ..shard
        });
    }
    if sync {
        atomic::sync_dir(dir, None).map_err(|e| Error::from(e).with_path(dir))?;
    }
    let manifest = Manifest {
        stem: stem.to_string(),
        compression,
        shards,
    };
    let write = |committed: &mut Vec<PathBuf>| -> std::io::Result<()> {
        let mut file = AtomicFile::create_with(&manifest_path, SMALL_BUFFER, None)?;
        file.set_sync(sync);
        std::io::Write::write_all(&mut file, manifest.to_json().as_bytes())?;
        file.stage()?.commit(&manifest_path)?;
        committed.push(manifest_path.clone());
        if sync {
            atomic::sync_dir(dir, None)?;
        }
        Ok(())
    };
    write(committed).map_err(|e| Error::from(e).with_path(&manifest_path))?;
    Ok(manifest)
}

fn rename(from: &Path, to: &Path, committed: &mut Vec<PathBuf>) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| Error::from(e).with_path(from))?;
    committed.push(to.to_path_buf());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Reader;

    fn stage(root: &Path, task: usize, records: &[&[u8]], options: ShardOptions) -> PathBuf {
        let staging = root.join(format!(".staging/task{task}"));
        let mut w = ShardedWriter::create(&staging, "part", options.sync(false)).unwrap();
        for r in records {
            w.write_record(r).unwrap();
        }
        w.finish().unwrap();
        staging.join("part.manifest.json")
    }

    fn payloads(path: &Path) -> Vec<Vec<u8>> {
        let mut r = Reader::open(path).unwrap();
        let mut out = Vec::new();
        while let Some(rec) = r.next_record() {
            out.push(rec.unwrap().payload.to_vec());
        }
        out
    }

    #[test]
    fn shards_of_all_parts_in_order_replace_an_earlier_job() {
        let out = tempfile::tempdir().unwrap();
        // An earlier job of the same stem with three shards.
        let old = ShardOptions::new(Sharding::Shards(3)).sync(false);
        ShardedWriter::create(out.path(), "train", old)
            .unwrap()
            .finish()
            .unwrap();
        let two = ShardOptions::new(Sharding::RecordsPerShard(2));
        let parts = [
            stage(out.path(), 0, &[b"a", b"b", b"c"], two),
            stage(out.path(), 1, &[], ShardOptions::default()),
            stage(out.path(), 2, &[b"d"], ShardOptions::default()),
        ];
        let m = finalize(out.path(), "train", &parts, Compression::None, false).unwrap();
        let names: Vec<&str> = m.shards.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "train-00000-of-00004.tfrecord",
                "train-00001-of-00004.tfrecord",
                "train-00002-of-00004.tfrecord",
                "train-00003-of-00004.tfrecord"
            ]
        );
        let records: Vec<u64> = m.shards.iter().map(|s| s.records).collect();
        assert_eq!(records, [2, 1, 0, 1]);
        m.check(out.path()).unwrap();
        assert_eq!(
            Manifest::read(out.path().join("train.manifest.json")).unwrap(),
            m
        );
        let all: Vec<Vec<u8>> = names
            .iter()
            .flat_map(|n| payloads(&out.path().join(n)))
            .collect();
        assert_eq!(all, [b"a", b"b", b"c", b"d"]);
        let idx = std::fs::read_to_string(out.path().join("train-00000-of-00004.tfrecord.idx"));
        assert_eq!(idx.unwrap(), "0 17\n17 17\n");
        let mut left: Vec<String> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.'))
            .collect();
        left.sort();
        assert_eq!(left.len(), 9, "{left:?}"); // 4 shards, 4 sidecars, 1 manifest
        assert!(left
            .iter()
            .all(|n| n.contains("-of-00004") || n.ends_with(".json")));
    }

    #[test]
    fn no_parts_make_one_empty_shard() {
        let out = tempfile::tempdir().unwrap();
        let m = finalize(out.path(), "x", &[], Compression::Gzip, false).unwrap();
        assert_eq!(m.shards.len(), 1);
        assert_eq!(m.shards[0].name, "x-00000-of-00001.tfrecord.gz");
        assert!(payloads(&out.path().join(&m.shards[0].name)).is_empty());
    }

    #[test]
    fn mismatches_fail_and_leave_no_final_name() {
        let out = tempfile::tempdir().unwrap();
        let gz = ShardOptions::default().compression(Compression::Gzip);
        let parts = [
            stage(out.path(), 0, &[b"a"], ShardOptions::default()),
            stage(out.path(), 1, &[b"b"], gz),
        ];
        let err = finalize(out.path(), "t", &parts, Compression::None, false).unwrap_err();
        assert!(err.to_string().contains("gzip"), "{err}");
        // A staged shard cut short after its manifest was written.
        let parts = [
            stage(out.path(), 2, &[b"a"], ShardOptions::default()),
            stage(out.path(), 3, &[b"b"], ShardOptions::default()),
        ];
        let cut = out
            .path()
            .join(".staging/task3/part-00000-of-00001.tfrecord");
        std::fs::write(&cut, b"short").unwrap();
        let err = finalize(out.path(), "t", &parts, Compression::None, false).unwrap_err();
        assert!(err.to_string().contains("5 bytes"), "{err}");
        let visible = std::fs::read_dir(out.path())
            .unwrap()
            .filter(|e| {
                !e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count();
        assert_eq!(visible, 0);
        assert!(finalize(out.path(), "../t", &[], Compression::None, false).is_err());
    }
}
