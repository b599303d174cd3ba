//! One set of shards from the shards of several finished jobs.
//!
//! Distributed writers (a Ray or Spark job, say) run many independent
//! [`ShardedWriter`](super::ShardedWriter)s, each into its own hidden
//! staging directory, and only at the end know how many shards there are.
//! [`gather`] then gives every staged shard its final name
//! `{stem}-{i:05}-of-{n:05}`, moves its sidecar along, and writes one
//! manifest for all of them, last, as a single job's `finish` does.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::write::atomic::{self, AtomicFile};

use super::{check_stem, remove_stale, shard_name_for, Manifest, ShardInfo, SMALL_BUFFER};

/// Moves the shards listed by the staged manifests `parts` into `dir` as
/// the shards of one job named `stem`, numbered in the order of `parts`
/// and of the shards within each, then writes `{stem}.manifest.json` and
/// returns it.
///
/// Each part is the manifest a finished [`ShardedWriter`](super::ShardedWriter)
/// wrote; its shards and sidecars are in the manifest's directory, which
/// must be on the same file system as `dir` (a rename moves them). Every
/// part must use the same compression. The part manifests are removed once
/// their shards have moved; the staging directories are the caller's.
///
/// As with [`ShardedWriter::finish`](super::ShardedWriter::finish): a
/// shard's sidecar appears before the shard, the manifest appears last
/// (an older manifest of `stem` is deleted first), shards of `stem` with
/// another count or compression are deleted afterwards, and on error every
/// final-named file this call made is removed again.
///
/// ```
/// use tfrec::write::sharded::{gather, ShardOptions, ShardedWriter, Sharding};
/// use tfrec::Tensor;
///
/// let out = tempfile::tempdir()?;
/// let mut parts = Vec::new();
/// for (task, records) in [3usize, 2].into_iter().enumerate() {
///     let staging = out.path().join(format!(".staging-{task}"));
///     std::fs::create_dir(&staging)?;
///     let options = ShardOptions::new(Sharding::Shards(1));
///     let mut w = ShardedWriter::create(&staging, "task", options)?;
///     for i in 0..records {
///         w.write_tensor(&Tensor::scalar(i as i64))?;
///     }
///     w.finish()?;
///     parts.push(staging.join("task.manifest.json"));
/// }
/// let manifest = gather(out.path(), "train", &parts, true)?;
/// assert_eq!(manifest.shards[1].name, "train-00001-of-00002.tfrecord");
/// assert_eq!(manifest.records(), 5);
/// manifest.check(out.path())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn gather(
    dir: impl AsRef<Path>,
    stem: &str,
    parts: &[PathBuf],
    sync: bool,
) -> Result<Manifest> {
    let dir = dir.as_ref();
    check_stem(stem)?;
    let mut staged = Vec::with_capacity(parts.len());
    for part in parts {
        let manifest = Manifest::read(part)?;
        staged.push((atomic::parent_dir(part).to_path_buf(), manifest));
    }
    let compression = match staged.first() {
        Some((_, m)) => m.compression,
        None => crate::Compression::None,
    };
    if let Some((_, odd)) = staged.iter().find(|(_, m)| m.compression != compression) {
        return Err(Error::invalid_input(format!(
            "staged shards of stem {:?} are {}, others {compression}",
            odd.stem, odd.compression
        )));
    }
    let mut committed = Vec::new();
    let result = commit(dir, stem, &staged, compression, sync, &mut committed);
    if result.is_err() {
        for path in committed.iter().rev() {
            let _ = std::fs::remove_file(path);
        }
        return result;
    }
    for part in parts {
        let _ = std::fs::remove_file(part);
    }
    let manifest = result?;
    remove_stale(dir, stem, manifest.shards.len() as u64, compression);
    Ok(manifest)
}

fn commit(
    dir: &Path,
    stem: &str,
    staged: &[(PathBuf, Manifest)],
    compression: crate::Compression,
    sync: bool,
    committed: &mut Vec<PathBuf>,
) -> Result<Manifest> {
    let n: u64 = staged.iter().map(|(_, m)| m.shards.len() as u64).sum();
    let manifest_path = dir.join(Manifest::file_name(stem));
    // A manifest exists only while all of its shards do.
    match std::fs::remove_file(&manifest_path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::from(e).with_path(&manifest_path))
        }
        _ => {}
    }
    let mut shards = Vec::new();
    let pieces = staged
        .iter()
        .flat_map(|(from, m)| m.shards.iter().map(move |s| (from, s)));
    for (i, (from, shard)) in pieces.enumerate() {
        let name = shard_name_for(stem, i as u64, n, compression);
        let index = match &shard.index {
            Some(idx) => {
                // The sidecar first: a visible shard always has its index.
                let idx_name = format!("{name}.idx");
                move_file(&from.join(idx), &dir.join(&idx_name), committed)?;
                Some(idx_name)
            }
            None => None,
        };
        move_file(&from.join(&shard.name), &dir.join(&name), committed)?;
        shards.push(ShardInfo {
            name,
            index,
            ..shard.clone()
        });
    }
    let sync_dir = || atomic::sync_dir(dir, None).map_err(|e| Error::from(e).with_path(dir));
    if sync {
        sync_dir()?;
    }
    let manifest = Manifest {
        stem: stem.to_string(),
        compression,
        shards,
    };
    let write = || -> std::io::Result<()> {
        let mut file = AtomicFile::create_with(&manifest_path, SMALL_BUFFER, None)?;
        file.set_sync(sync);
        std::io::Write::write_all(&mut file, manifest.to_json().as_bytes())?;
        file.stage()?.commit(&manifest_path)
    };
    write().map_err(|e| Error::from(e).with_path(&manifest_path))?;
    committed.push(manifest_path);
    if sync {
        sync_dir()?;
    }
    Ok(manifest)
}

fn move_file(from: &Path, to: &Path, committed: &mut Vec<PathBuf>) -> Result<()> {
    std::fs::rename(from, to).map_err(|e| Error::from(e).with_path(from))?;
    committed.push(to.to_path_buf());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::write::sharded::{ShardOptions, ShardedWriter, Sharding};
    use crate::{Compression, Reader, Tensor};

    fn stage(out: &Path, task: usize, records: &[i64], options: ShardOptions) -> PathBuf {
        let staging = out.join(format!(".staging-{task}"));
        std::fs::create_dir_all(&staging).unwrap();
        let mut w = ShardedWriter::create(&staging, "part", options).unwrap();
        for &r in records {
            w.write_tensor(&Tensor::scalar(r)).unwrap();
        }
        w.finish().unwrap();
        staging.join("part.manifest.json")
    }

    fn values(path: &Path) -> Vec<i64> {
        let mut r = Reader::open(path).unwrap();
        let mut out = Vec::new();
        while let Some(rec) = r.next_record() {
            out.push(rec.unwrap().decode().unwrap().to_vec::<i64>().unwrap()[0]);
        }
        out
    }

    #[test]
    fn numbers_shards_in_part_order_and_keeps_them_whole() {
        let out = tempfile::tempdir().unwrap();
        let two = ShardOptions::new(Sharding::RecordsPerShard(2));
        let parts = vec![
            stage(out.path(), 0, &[0, 1, 2], two.clone()),
            stage(out.path(), 1, &[3], ShardOptions::default()),
        ];
        // A stale shard of another count goes away.
        std::fs::write(out.path().join("d-00000-of-00009.tfrecord"), b"").unwrap();
        let m = gather(out.path(), "d", &parts, false).unwrap();
        let names: Vec<_> = m.shards.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "d-00000-of-00003.tfrecord",
                "d-00001-of-00003.tfrecord",
                "d-00002-of-00003.tfrecord"
            ]
        );
        m.check(out.path()).unwrap();
        assert_eq!(values(&out.path().join(names[0])), [0, 1]);
        assert_eq!(values(&out.path().join(names[1])), [2]);
        assert_eq!(values(&out.path().join(names[2])), [3]);
        let idx =
            std::fs::read_to_string(out.path().join("d-00000-of-00003.tfrecord.idx")).unwrap();
        assert_eq!(idx.lines().count(), 2);
        assert!(!out.path().join("d-00000-of-00009.tfrecord").exists());
        assert!(!parts[0].exists());
        let read = Manifest::read(out.path().join("d.manifest.json")).unwrap();
        assert_eq!(read, m);
    }

    #[test]
    fn compression_names_and_mismatch() {
        let out = tempfile::tempdir().unwrap();
        let gz = ShardOptions::default().compression(Compression::Gzip);
        let parts = vec![stage(out.path(), 0, &[7], gz.clone())];
        let m = gather(out.path(), "z", &parts, false).unwrap();
        assert_eq!(m.shards[0].name, "z-00000-of-00001.tfrecord.gz");
        assert_eq!(
            m.shards[0].index.as_deref(),
            Some("z-00000-of-00001.tfrecord.gz.idx")
        );
        assert_eq!(values(&out.path().join(&m.shards[0].name)), [7]);

        let parts = vec![
            stage(out.path(), 1, &[1], gz),
            stage(out.path(), 2, &[2], ShardOptions::default()),
        ];
        assert!(gather(out.path(), "y", &parts, false).is_err());
        let visible: Vec<_> = std::fs::read_dir(out.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with('y'))
            .collect();
        assert!(visible.is_empty());
    }

    #[test]
    fn a_missing_shard_leaves_no_final_file() {
        let out = tempfile::tempdir().unwrap();
        let parts = vec![
            stage(out.path(), 0, &[1], ShardOptions::default()),
            stage(out.path(), 1, &[2], ShardOptions::default()),
        ];
        std::fs::remove_file(out.path().join(".staging-1/part-00000-of-00001.tfrecord")).unwrap();
        let err = gather(out.path(), "m", &parts, false).unwrap_err();
        assert!(err.path().is_some());
        let visible = std::fs::read_dir(out.path())
            .unwrap()
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .count();
        assert_eq!(visible, 0);
    }
}
