//! The sharded writer: names, roll-over, order, sidecars, manifest,
//! compression, copying and shuffling, cleanup, and injected I/O failures.

mod common;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{dir_entries, Rng};
use proptest::prelude::*;
use tfrec::write::sharded::{
    cleanup, shard_name_for, Manifest, ShardOptions, ShardedWriter, Sharding,
};
use tfrec::write::{FileOp, IoHook};
use tfrec::{Compression, DType, ErrorKind, Reader, Tensor, Writer};

/// Payloads of assorted lengths, each unique.
fn payloads(n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(seed | 1);
    (0..n)
        .map(|i| {
            let x = rng.next();
            let len = (x % 300) as usize;
            let mut p = (i as u32).to_le_bytes().to_vec();
            p.extend((0..len).map(|k| (x >> (k % 8)) as u8));
            p
        })
        .collect()
}

fn names(dir: &Path) -> Vec<String> {
    dir_entries(dir)
}

/// Files a reader of the job may see: everything not hidden.
fn visible(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .collect()
}

/// Checks everything about a finished job and returns each shard's payloads.
fn check_job(dir: &Path, manifest: &Manifest) -> Vec<Vec<Vec<u8>>> {
    assert_eq!(
        &Manifest::read(dir.join(Manifest::file_name(&manifest.stem))).unwrap(),
        manifest
    );
    manifest.check(dir).unwrap();
    let n = manifest.shards.len() as u64;
    let mut out = Vec::new();
    for (i, shard) in manifest.shards.iter().enumerate() {
        assert_eq!(
            shard.name,
            shard_name_for(&manifest.stem, i as u64, n, manifest.compression)
        );
        let path = dir.join(&shard.name);
        let mut reader = Reader::open(&path).unwrap();
        assert_eq!(reader.compression(), manifest.compression);
        let mut records = Vec::new();
        let mut index = Vec::new();
        for r in reader.records() {
            let r = r.unwrap();
            index.push((r.offset, r.payload.len() as u64 + 16));
            records.push(r.payload.into_owned());
        }
        assert_eq!(records.len() as u64, shard.records, "{}", shard.name);
        assert_eq!(index.iter().map(|(_, l)| l).sum::<u64>(), shard.frame_bytes);
        let idx_name = shard.index.clone().expect("sidecar");
        assert_eq!(idx_name, format!("{}.idx", shard.name));
        let text = std::fs::read_to_string(dir.join(idx_name)).unwrap();
        let listed: Vec<(u64, u64)> = text
            .lines()
            .map(|l| {
                let (a, b) = l.split_once(' ').unwrap();
                (a.parse().unwrap(), b.parse().unwrap())
            })
            .collect();
        assert_eq!(listed, index, "{}", shard.name);
        out.push(records);
    }
    out
}

fn options(sharding: Sharding) -> ShardOptions {
    ShardOptions::new(sharding).sync(false)
}

#[test]
fn records_per_shard_keeps_order_and_names_shards() {
    let dir = tempfile::tempdir().unwrap();
    let input = payloads(10, 1);
    let mut w =
        ShardedWriter::create(dir.path(), "train", options(Sharding::RecordsPerShard(3))).unwrap();
    w.write_batch(&input[..4]).unwrap();
    for p in &input[4..] {
        w.write_record(p).unwrap();
    }
    assert_eq!(w.records_written(), 10);
    let m = w.finish().unwrap();
    let shards = check_job(dir.path(), &m);
    assert_eq!(
        shards.iter().map(Vec::len).collect::<Vec<_>>(),
        [3, 3, 3, 1]
    );
    assert_eq!(shards.concat(), input);
    assert_eq!(
        visible(dir.path()),
        [
            "train-00000-of-00004.tfrecord",
            "train-00000-of-00004.tfrecord.idx",
            "train-00001-of-00004.tfrecord",
            "train-00001-of-00004.tfrecord.idx",
            "train-00002-of-00004.tfrecord",
            "train-00002-of-00004.tfrecord.idx",
            "train-00003-of-00004.tfrecord",
            "train-00003-of-00004.tfrecord.idx",
            "train.manifest.json",
        ]
    );
    assert_eq!(
        names(dir.path()),
        visible(dir.path()),
        "no temporaries left"
    );
}

#[test]
fn bytes_per_shard_rolls_over_before_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    // Frames of 16 + 84 = 100 bytes, and one of 1016 bytes.
    let mut input: Vec<Vec<u8>> = (0..7).map(|i| vec![i as u8; 84]).collect();
    input.insert(3, vec![9; 1000]);
    let mut w =
        ShardedWriter::create(dir.path(), "b", options(Sharding::BytesPerShard(250))).unwrap();
    w.write_batch(&input).unwrap();
    let m = w.finish().unwrap();
    let shards = check_job(dir.path(), &m);
    // 100+100+100 > 250: two per shard; the big record alone.
    assert_eq!(
        shards.iter().map(Vec::len).collect::<Vec<_>>(),
        [2, 1, 1, 2, 2]
    );
    assert_eq!(shards.concat(), input);
    assert!(m
        .shards
        .iter()
        .all(|s| s.frame_bytes <= 250 || s.records == 1));
}

#[test]
fn a_fixed_count_deals_records_round_robin() {
    for batch in [1usize, 2, 5, 64] {
        let dir = tempfile::tempdir().unwrap();
        let input = payloads(23, 2);
        let mut w = ShardedWriter::create(dir.path(), "rr", options(Sharding::Shards(4))).unwrap();
        for chunk in input.chunks(batch) {
            w.write_batch(chunk).unwrap();
        }
        let m = w.finish().unwrap();
        let shards = check_job(dir.path(), &m);
        for (k, shard) in shards.iter().enumerate() {
            let expected: Vec<Vec<u8>> = input.iter().skip(k).step_by(4).cloned().collect();
            assert_eq!(shard, &expected, "batch {batch}, shard {k}");
        }
    }
}

#[test]
fn a_fixed_count_writes_empty_shards_when_records_run_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = ShardedWriter::create(dir.path(), "few", options(Sharding::Shards(5))).unwrap();
    w.write_batch(&payloads(2, 3)).unwrap();
    let m = w.finish().unwrap();
    let shards = check_job(dir.path(), &m);
    assert_eq!(
        shards.iter().map(Vec::len).collect::<Vec<_>>(),
        [1, 1, 0, 0, 0]
    );
    let empty = dir.path().join("few-00004-of-00005.tfrecord");
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
    assert_eq!(
        std::fs::read(dir.path().join("few-00004-of-00005.tfrecord.idx")).unwrap(),
        b""
    );
}

#[test]
fn an_empty_job_still_writes_its_shards() {
    for (sharding, n) in [
        (Sharding::Shards(3), 3),
        (Sharding::RecordsPerShard(10), 1),
        (Sharding::BytesPerShard(10), 1),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let w = ShardedWriter::create(dir.path(), "none", options(sharding)).unwrap();
        let m = w.finish().unwrap();
        assert_eq!(m.shards.len(), n);
        assert_eq!(m.records(), 0);
        check_job(dir.path(), &m);
    }
}

#[test]
fn unordered_jobs_keep_every_record_exactly_once() {
    for sharding in [
        Sharding::Shards(3),
        Sharding::RecordsPerShard(7),
        Sharding::BytesPerShard(1000),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let input = payloads(200, 4);
        let mut w =
            ShardedWriter::create(dir.path(), "u", options(sharding).ordered(false)).unwrap();
        for chunk in input.chunks(37) {
            w.write_batch(chunk).unwrap();
        }
        w.write_record(b"last").unwrap();
        let m = w.finish().unwrap();
        let mut got = check_job(dir.path(), &m).concat();
        let mut want = input.clone();
        want.push(b"last".to_vec());
        got.sort();
        want.sort();
        assert_eq!(got, want, "{sharding:?}");
        if let Sharding::RecordsPerShard(n) = sharding {
            assert!(m.shards.iter().all(|s| s.records <= n));
        }
        if let Sharding::BytesPerShard(n) = sharding {
            assert!(m.shards.iter().all(|s| s.frame_bytes <= n));
        }
    }
}

#[test]
fn compressed_shards_index_the_decompressed_stream() {
    for c in [Compression::Gzip, Compression::Zlib] {
        let dir = tempfile::tempdir().unwrap();
        let input = payloads(50, 5);
        let mut w = ShardedWriter::create(
            dir.path(),
            "z",
            options(Sharding::RecordsPerShard(20)).compression(c),
        )
        .unwrap();
        w.write_batch(&input).unwrap();
        let m = w.finish().unwrap();
        assert_eq!(m.compression, c);
        let shards = check_job(dir.path(), &m);
        assert_eq!(shards.concat(), input);
        for s in &m.shards {
            assert_ne!(s.bytes, s.frame_bytes, "{c}: stored compressed");
        }
    }
}

#[test]
fn shard_names_tell_the_compression_and_a_new_job_replaces_another_compressions() {
    let dir = tempfile::tempdir().unwrap();
    let input = payloads(12, 3);
    for (c, suffix) in [
        (Compression::Gzip, ".tfrecord.gz"),
        (Compression::Zlib, ".tfrecord.deflate"),
        (Compression::None, ".tfrecord"),
        (Compression::Gzip, ".tfrecord.gz"),
    ] {
        let mut w =
            ShardedWriter::create(dir.path(), "n", options(Sharding::Shards(2)).compression(c))
                .unwrap();
        w.write_batch(&input).unwrap();
        let m = w.finish().unwrap();
        let want: Vec<String> = vec![
            format!("n-00000-of-00002{suffix}"),
            format!("n-00000-of-00002{suffix}.idx"),
            format!("n-00001-of-00002{suffix}"),
            format!("n-00001-of-00002{suffix}.idx"),
            "n.manifest.json".to_string(),
        ];
        // Only this job's shards are left: the same count in another
        // compression is another job's.
        assert_eq!(visible(dir.path()), want, "{c}");
        assert_eq!(check_job(dir.path(), &m).concat().len(), input.len());
    }
}

fn tensors() -> Vec<Tensor> {
    let mut v = vec![
        Tensor::from_slice(&[1.5f32; 16], &[16]).unwrap(),
        Tensor::from_strings(&["cat", "", "dog"], &[3]).unwrap(),
        Tensor::scalar(7i64),
        Tensor::from_slice::<u8>(&[], &[0, 3]).unwrap(),
    ];
    // Frames above the size that is streamed in pieces.
    for i in 0..6u8 {
        let bytes: Vec<u8> = (0..200_000u32).map(|k| (k as u8) ^ i).collect();
        v.push(Tensor::from_bytes(DType::U8, &[200, 1000], bytes).unwrap());
    }
    v.extend((0..300).map(|i| Tensor::from_slice(&[i as f32; 16], &[4, 4]).unwrap()));
    v
}

#[test]
fn tensor_batches_write_what_single_tensors_write() {
    let tensors = tensors();
    let expected: Vec<Vec<u8>> = tensors.iter().map(|t| t.to_proto_bytes()).collect();
    for sharding in [
        Sharding::Shards(1),
        Sharding::Shards(3),
        Sharding::RecordsPerShard(50),
        Sharding::BytesPerShard(300_000),
    ] {
        let one = tempfile::tempdir().unwrap();
        let many = tempfile::tempdir().unwrap();
        let mut a = ShardedWriter::create(one.path(), "t", options(sharding)).unwrap();
        for t in &tensors {
            a.write_tensor(t).unwrap();
        }
        let ma = a.finish().unwrap();
        let mut b = ShardedWriter::create(many.path(), "t", options(sharding)).unwrap();
        b.write_tensors(&tensors[..5]).unwrap();
        b.write_tensors(&tensors[5..]).unwrap();
        let mb = b.finish().unwrap();
        assert_eq!(ma, mb, "{sharding:?}");
        for s in &ma.shards {
            assert_eq!(
                std::fs::read(one.path().join(&s.name)).unwrap(),
                std::fs::read(many.path().join(&s.name)).unwrap()
            );
        }
        let shards = check_job(one.path(), &ma);
        let mut got = shards.concat();
        let mut want = expected.clone();
        if let Sharding::Shards(3) = sharding {
            got.sort();
            want.sort();
        }
        assert_eq!(got, want, "{sharding:?}");
    }
}

#[test]
fn large_single_shard_batches_match_the_plain_writer() {
    // One shard and big batches: CRCs are computed in parallel up front.
    let tensors = tensors();
    let payloads: Vec<Vec<u8>> = tensors.iter().map(|t| t.to_proto_bytes()).collect();
    let plain = {
        let mut w = Writer::new(Vec::new());
        for p in &payloads {
            w.write_record(p).unwrap();
        }
        w.finish().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut w = ShardedWriter::create(dir.path(), "p", options(Sharding::Shards(1))).unwrap();
    w.write_batch(&payloads).unwrap();
    w.write_tensors(&tensors).unwrap();
    w.finish().unwrap();
    let mut twice = plain.clone();
    twice.extend_from_slice(&plain);
    assert_eq!(
        std::fs::read(dir.path().join("p-00000-of-00001.tfrecord")).unwrap(),
        twice
    );
}

#[test]
fn shards_of_an_earlier_job_with_another_count_are_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = ShardedWriter::create(dir.path(), "j", options(Sharding::Shards(3))).unwrap();
    w.write_batch(&payloads(9, 6)).unwrap();
    w.finish().unwrap();
    // Another stem in the same directory is left alone.
    let mut other = ShardedWriter::create(dir.path(), "jj", options(Sharding::Shards(2))).unwrap();
    other.write_record(b"x").unwrap();
    other.finish().unwrap();
    let mut w = ShardedWriter::create(dir.path(), "j", options(Sharding::Shards(2))).unwrap();
    w.write_batch(&payloads(4, 7)).unwrap();
    let m = w.finish().unwrap();
    check_job(dir.path(), &m);
    let left: Vec<String> = visible(dir.path())
        .into_iter()
        .filter(|n| n.starts_with("j-") || n.starts_with("j."))
        .collect();
    assert_eq!(
        left,
        [
            "j-00000-of-00002.tfrecord",
            "j-00000-of-00002.tfrecord.idx",
            "j-00001-of-00002.tfrecord",
            "j-00001-of-00002.tfrecord.idx",
            "j.manifest.json",
        ]
    );
    assert!(dir.path().join("jj-00001-of-00002.tfrecord").exists());
}

#[test]
fn dropping_an_unfinished_writer_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = ShardedWriter::create(
        dir.path(),
        "d",
        options(Sharding::RecordsPerShard(3)).compression(Compression::Gzip),
    )
    .unwrap();
    w.write_batch(&payloads(100, 8)).unwrap();
    assert!(!names(dir.path()).is_empty(), "temporaries while writing");
    assert!(
        visible(dir.path()).is_empty(),
        "nothing visible while writing"
    );
    drop(w);
    assert_eq!(names(dir.path()), Vec::<String>::new());
}

#[test]
fn cleanup_removes_only_this_stems_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let keep = [
        "s-00000-of-00001.tfrecord",
        "s.manifest.json",
        ".other-00000.tfrecord.abc.tmp",
        ".s-x-00000.tfrecord.abc.tmp",
        "notes.txt",
    ];
    let remove = [
        ".s-00000.tfrecord.Ab3.tmp",
        ".s-00017.tfrecord.idx.Zz1.tmp",
        ".s.manifest.json.q.tmp",
        ".s.spool.r.tmp",
    ];
    for n in keep.iter().chain(&remove) {
        std::fs::write(d.join(n), b"x").unwrap();
    }
    let removed = cleanup(d, "s").unwrap();
    let mut expected: Vec<PathBuf> = remove.iter().map(|n| d.join(n)).collect();
    expected.sort();
    assert_eq!(removed, expected);
    let mut left = keep.map(String::from).to_vec();
    left.sort();
    assert_eq!(names(d), left);
    assert!(cleanup(d, "../s").is_err());
    assert!(cleanup(d.join("missing"), "s").is_err());
}

#[test]
fn bad_options_and_stems_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for sharding in [
        Sharding::Shards(0),
        Sharding::RecordsPerShard(0),
        Sharding::BytesPerShard(0),
    ] {
        let err = ShardedWriter::create(dir.path(), "x", options(sharding))
            .err()
            .unwrap();
        assert!(
            matches!(err.kind(), ErrorKind::InvalidInput { .. }),
            "{err}"
        );
    }
    for stem in ["", ".hidden", "a/b", ".."] {
        assert!(
            ShardedWriter::create(dir.path(), stem, options(Sharding::Shards(1))).is_err(),
            "{stem:?}"
        );
    }
    assert_eq!(names(dir.path()), Vec::<String>::new());
}

#[test]
fn the_output_directory_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a/b");
    let mut w = ShardedWriter::create(&out, "x", ShardOptions::default()).unwrap();
    w.write_record(b"r").unwrap();
    let m = w.finish().unwrap();
    assert_eq!(check_job(&out, &m), [[b"r".to_vec()]]);
}

#[test]
fn manifest_check_notices_a_changed_shard() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = ShardedWriter::create(dir.path(), "m", options(Sharding::Shards(2))).unwrap();
    w.write_batch(&payloads(10, 9)).unwrap();
    let m = w.finish().unwrap();
    m.check(dir.path()).unwrap();
    let path = dir.path().join(&m.shards[1].name);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[20] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let err = m.check(dir.path()).unwrap_err();
    assert_eq!(err.path(), Some(path.as_path()));
}

// ---------------------------------------------------------------------------
// Copying and shuffling.
// ---------------------------------------------------------------------------

fn write_file(path: &Path, records: &[Vec<u8>], c: Compression) {
    let mut w = Writer::create_with(path, c).unwrap();
    for r in records {
        w.write_record(r).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn copying_keeps_every_record_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let a = payloads(40, 10);
    let b = payloads(25, 11);
    write_file(&dir.path().join("a.tfrecord"), &a, Compression::None);
    write_file(&dir.path().join("b.tfrecord"), &b, Compression::Zlib);
    let out = dir.path().join("out");
    let mut w = ShardedWriter::create(&out, "c", options(Sharding::RecordsPerShard(16))).unwrap();
    let seen = AtomicUsize::new(0);
    let progress = |n: u64| {
        seen.fetch_add(n as usize, Ordering::Relaxed);
    };
    for name in ["a.tfrecord", "b.tfrecord"] {
        let mut r = Reader::open(dir.path().join(name)).unwrap();
        w.copy_from(&mut r, &progress).unwrap();
    }
    let m = w.finish().unwrap();
    let got = check_job(&out, &m).concat();
    assert_eq!(got, [a.clone(), b.clone()].concat());
    let frames: usize = a.iter().chain(&b).map(|p| p.len() + 16).sum();
    assert_eq!(seen.load(Ordering::Relaxed), frames);
}

#[test]
fn copying_a_corrupt_input_fails_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.tfrecord");
    write_file(&path, &payloads(10, 12), Compression::None);
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len();
    bytes[len - 30] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let out = dir.path().join("out");
    let mut w = ShardedWriter::create(&out, "c", options(Sharding::Shards(2))).unwrap();
    let err = w
        .copy_from(&mut Reader::open(&path).unwrap(), &|_| {})
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::CorruptData { .. }), "{err}");
    assert_eq!(err.path(), Some(path.as_path()));
    drop(w);
    assert_eq!(names(&out), Vec::<String>::new());
}

#[test]
fn copying_files_of_any_compression_keeps_every_record() {
    let dir = tempfile::tempdir().unwrap();
    // Enough records for several batches.
    let input: Vec<Vec<u8>> = (0..70_000u32)
        .map(|i| i.to_le_bytes().repeat(i as usize % 5))
        .collect();
    for c in [Compression::None, Compression::Gzip, Compression::Zlib] {
        let path = dir.path().join(format!("in-{c}.tfrecord"));
        write_file(&path, &input, c);
        let out = dir.path().join(format!("out-{c}"));
        let mut w = ShardedWriter::create(&out, "c", options(Sharding::Shards(3))).unwrap();
        let seen = AtomicUsize::new(0);
        let progress = |n: u64| {
            seen.fetch_add(n as usize, Ordering::Relaxed);
        };
        assert_eq!(w.copy_file(&path, &progress).unwrap(), input.len() as u64);
        let m = w.finish().unwrap();
        let shards = check_job(&out, &m);
        let got: Vec<Vec<u8>> = (0..input.len())
            .map(|i| shards[i % 3][i / 3].clone())
            .collect();
        assert!(got == input, "{c}");
        let size = std::fs::metadata(&path).unwrap().len() as usize;
        assert_eq!(
            seen.load(Ordering::Relaxed),
            size,
            "{c}: progress counts the file"
        );
    }
}

#[test]
fn copying_a_damaged_file_names_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let input = payloads(50, 16);
    let path = dir.path().join("in.tfrecord");
    write_file(&path, &input, Compression::None);
    let clean = std::fs::read(&path).unwrap();
    let offset_of = |k: usize| -> usize { input[..k].iter().map(|p| p.len() + 16).sum() };
    type Case = (Vec<u8>, usize, fn(&ErrorKind) -> bool);
    let cases: Vec<Case> = vec![
        // A payload byte of record 17.
        (
            {
                let mut b = clean.clone();
                b[offset_of(17) + 13] ^= 1;
                b
            },
            17,
            |k| matches!(k, ErrorKind::CorruptData { .. }),
        ),
        // The length of record 30.
        (
            {
                let mut b = clean.clone();
                b[offset_of(30)] ^= 4;
                b
            },
            30,
            |k| matches!(k, ErrorKind::CorruptLength { .. }),
        ),
        // Cut inside record 49.
        (clean[..clean.len() - 3].to_vec(), 49, |k| {
            matches!(k, ErrorKind::TruncatedRecord { .. })
        }),
    ];
    for (bytes, record, kind) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let out = dir.path().join("out");
        let mut w = ShardedWriter::create(&out, "c", options(Sharding::Shards(2))).unwrap();
        let err = w.copy_file(&path, &|_| {}).unwrap_err();
        assert!(kind(err.kind()), "{err}");
        assert_eq!(err.record_index(), Some(record as u64), "{err}");
        assert_eq!(err.offset(), Some(offset_of(record) as u64), "{err}");
        assert_eq!(err.path(), Some(path.as_path()));
        drop(w);
        assert_eq!(names(&out), Vec::<String>::new());
    }
}

#[test]
fn shuffling_is_a_seeded_permutation_of_all_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let a = payloads(300, 13);
    let b = payloads(200, 14);
    write_file(&dir.path().join("a.tfrecord"), &a, Compression::None);
    write_file(&dir.path().join("b.tfrecord"), &b, Compression::Gzip);
    let run = |seed: u64, out: &str| -> Vec<Vec<u8>> {
        let out = dir.path().join(out);
        let mut readers = vec![
            Reader::open(dir.path().join("a.tfrecord")).unwrap(),
            Reader::open(dir.path().join("b.tfrecord")).unwrap(),
        ];
        let mut w = ShardedWriter::create(&out, "s", options(Sharding::Shards(3))).unwrap();
        assert_eq!(w.copy_shuffled(&mut readers, seed, &|_| {}).unwrap(), 500);
        let m = w.finish().unwrap();
        assert!(visible(&out).len() == names(&out).len(), "spool removed");
        // Round-robin back into the shuffled order.
        let shards = check_job(&out, &m);
        let mut order = Vec::new();
        for i in 0..500 {
            order.push(shards[i % 3][i / 3].clone());
        }
        order
    };
    let first = run(42, "one");
    assert_eq!(first, run(42, "two"));
    let other = run(43, "three");
    assert_ne!(first, other);
    let input = [a, b].concat();
    assert_ne!(first, input);
    let mut sorted = first.clone();
    sorted.sort();
    let mut want = input.clone();
    want.sort();
    assert_eq!(sorted, want);
}

// ---------------------------------------------------------------------------
// Injected I/O failures.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Create,
    Write,
    Sync,
    Rename,
    SyncDir,
}

fn kind(op: &FileOp<'_>) -> Option<Kind> {
    Some(match op {
        FileOp::Create { .. } => Kind::Create,
        FileOp::Write { .. } => Kind::Write,
        FileOp::Sync { .. } => Kind::Sync,
        FileOp::Rename { .. } => Kind::Rename,
        FileOp::SyncDir { .. } => Kind::SyncDir,
        _ => return None,
    })
}

/// A job big enough that every kind of step happens several times.
fn job(dir: &Path, hook: IoHook, c: Compression) -> tfrec::Result<Manifest> {
    let options = ShardOptions::new(Sharding::RecordsPerShard(40))
        .compression(c)
        .io_hook(hook);
    let mut w = ShardedWriter::create(dir, "f", options)?;
    let big: Vec<Vec<u8>> = (0..100).map(|i| vec![i as u8; 20_000]).collect();
    w.write_batch(&big)?;
    w.write_batch(&payloads(30, 15))?;
    w.finish()
}

#[test]
fn injected_failures_surface_and_leave_no_final_file() {
    for c in [Compression::None, Compression::Gzip] {
        // Count each kind of step in a clean run.
        let counts = Arc::new(Mutex::new(HashMap::<Kind, usize>::new()));
        let dir = tempfile::tempdir().unwrap();
        let c2 = Arc::clone(&counts);
        job(
            dir.path(),
            IoHook::new(move |op| {
                if let Some(k) = kind(op) {
                    *c2.lock().unwrap().entry(k).or_default() += 1;
                }
                Ok(())
            }),
            c,
        )
        .unwrap();
        let counts = counts.lock().unwrap().clone();
        for k in [
            Kind::Create,
            Kind::Write,
            Kind::Sync,
            Kind::Rename,
            Kind::SyncDir,
        ] {
            let total = counts.get(&k).copied().unwrap_or(0);
            assert!(total >= 2, "{c}: {k:?} happens {total} times");
            // Every occurrence of the rarer steps; a spread of the writes.
            let picks: Vec<usize> = if total <= 40 {
                (0..total).collect()
            } else {
                (0..40).map(|i| i * total / 40).chain([total - 1]).collect()
            };
            for nth in picks {
                let dir = tempfile::tempdir().unwrap();
                let seen = Arc::new(AtomicUsize::new(0));
                let hook = {
                    let seen = Arc::clone(&seen);
                    IoHook::new(move |op| {
                        if kind(op) == Some(k) && seen.fetch_add(1, Ordering::SeqCst) == nth {
                            return Err(io::Error::other(format!("injected {k:?} #{nth}")));
                        }
                        Ok(())
                    })
                };
                let err = job(dir.path(), hook, c).expect_err("the injected failure surfaces");
                assert_eq!(err.kind(), &ErrorKind::Io, "{c} {k:?} #{nth}: {err}");
                assert!(
                    err.to_string().contains(&format!("injected {k:?} #{nth}")),
                    "{c} {k:?} #{nth}: {err}"
                );
                assert!(err.path().is_some(), "{err}");
                assert_eq!(
                    visible(dir.path()),
                    Vec::<String>::new(),
                    "{c} {k:?} #{nth}: no final-named file"
                );
                assert_eq!(
                    names(dir.path()),
                    Vec::<String>::new(),
                    "{c} {k:?} #{nth}: temporaries deleted"
                );
            }
        }
    }
}

#[test]
fn a_failed_writer_refuses_to_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let fail = Arc::new(AtomicUsize::new(1));
    let hook = {
        let fail = Arc::clone(&fail);
        IoHook::new(move |op| {
            if matches!(op, FileOp::Write { .. }) && fail.load(Ordering::SeqCst) == 1 {
                return Err(io::Error::other("disk full"));
            }
            Ok(())
        })
    };
    let mut w =
        ShardedWriter::create(dir.path(), "r", options(Sharding::Shards(1)).io_hook(hook)).unwrap();
    let big = vec![vec![1u8; 1 << 20]];
    assert!(w.write_batch(&big).is_err());
    fail.store(0, Ordering::SeqCst);
    assert!(w.write_record(b"more").is_err());
    assert!(w.finish().is_err());
    assert_eq!(names(dir.path()), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// Properties.
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_layout_reads_back_as_written(
        lens in prop::collection::vec(0usize..3000, 0..120),
        mode in 0u8..3,
        limit in 1u64..40,
        batch in 1usize..50,
        ordered in any::<bool>(),
        gzip in any::<bool>(),
    ) {
        let input: Vec<Vec<u8>> = lens.iter().enumerate()
            .map(|(i, &n)| (0..n).map(|k| (k * 7 + i) as u8).collect())
            .collect();
        let sharding = match mode {
            0 => Sharding::Shards(limit.min(9)),
            1 => Sharding::RecordsPerShard(limit),
            _ => Sharding::BytesPerShard(limit * 200),
        };
        let c = if gzip { Compression::Gzip } else { Compression::None };
        let dir = tempfile::tempdir().unwrap();
        let mut w = ShardedWriter::create(
            dir.path(), "p", options(sharding).ordered(ordered).compression(c),
        ).unwrap();
        for chunk in input.chunks(batch) {
            w.write_batch(chunk).unwrap();
        }
        let m = w.finish().unwrap();
        let shards = check_job(dir.path(), &m);
        prop_assert_eq!(m.records(), input.len() as u64);
        let got: Vec<Vec<u8>> = match (sharding, ordered) {
            (Sharding::Shards(n), true) => {
                let n = n as usize;
                (0..input.len()).map(|i| shards[i % n][i / n].clone()).collect()
            }
            (_, true) => shards.concat(),
            _ => {
                let mut all = shards.concat();
                all.sort();
                all
            }
        };
        let mut want = input.clone();
        if !ordered {
            want.sort();
        }
        prop_assert_eq!(got, want);
        for s in &m.shards {
            match sharding {
                Sharding::RecordsPerShard(n) => prop_assert!(s.records <= n),
                Sharding::BytesPerShard(n) => prop_assert!(s.frame_bytes <= n || s.records == 1),
                _ => {}
            }
        }
        prop_assert_eq!(visible(dir.path()).len(), names(dir.path()).len());
    }
}

#[test]
fn writers_move_between_threads_and_counts_are_bounded() {
    fn send<T: Send>() {}
    send::<ShardedWriter>();
    let dir = tempfile::tempdir().unwrap();
    let max = tfrec::write::sharded::MAX_SHARDS;
    assert!(ShardedWriter::create(dir.path(), "x", options(Sharding::Shards(max + 1))).is_err());
    let w = ShardedWriter::create(dir.path(), "x", options(Sharding::Shards(max))).unwrap();
    drop(w);
    assert_eq!(names(dir.path()), Vec::<String>::new());
}
