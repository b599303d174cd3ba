//! `Dataset::batches_split` / `example_batches_split`: a rank's batches
//! shared between workers, each making only its own, and interleaving back
//! into the unsplit sequence.

mod common;

use std::path::{Path, PathBuf};

use common::write_part_files;
use tfrec::example::{Example, ParseSpec};
use tfrec::pipeline::{Dataset, IterState, RecordId};
use tfrec::{Compression, DType, Tensor, Writer};

fn write_files(dir: &Path, counts: &[u64], compression: Compression) -> Vec<PathBuf> {
    write_part_files(dir, counts, compression, |f, i| {
        Tensor::from_slice(&[f as u32, i as u32], &[2]).unwrap()
    })
}

/// The batches' record ids, one list per batch.
fn batches(ds: &Dataset, state: IterState, split: Option<(usize, usize)>) -> Vec<Vec<RecordId>> {
    let it = match split {
        Some((part, parts)) => ds.batches_split(state, part, parts).unwrap(),
        None => ds.batches(state).unwrap(),
    };
    it.map(|b| b.unwrap().ids().to_vec()).collect()
}

/// Takes one batch of each part in turn.
fn interleave(parts: Vec<Vec<Vec<RecordId>>>) -> Vec<Vec<RecordId>> {
    let mut out = Vec::new();
    let longest = parts.iter().map(Vec::len).max().unwrap_or(0);
    for k in 0..longest {
        for p in &parts {
            if let Some(b) = p.get(k) {
                out.push(b.clone());
            }
        }
    }
    out
}

#[test]
fn parts_interleave_into_the_unsplit_batches() {
    let dir = tempfile::tempdir().unwrap();
    for compression in [Compression::None, Compression::Gzip] {
        let sub = dir.path().join(format!("{compression}"));
        std::fs::create_dir_all(&sub).unwrap();
        let paths = write_files(&sub, &[11, 4, 9], compression);
        for (prefetch, drop_last, rank) in [(0, false, 0), (2, true, 1), (3, false, 1)] {
            let ds = Dataset::builder()
                .files(&paths)
                .shuffle(3)
                .shard(rank, 2)
                .batch(2)
                .drop_last(drop_last)
                .prefetch(prefetch)
                .threads(2)
                .build()
                .unwrap();
            for position in [0, 2, 4, 8] {
                let state = IterState {
                    epoch: 1,
                    position,
                    split: None,
                };
                let whole = batches(&ds, state, None);
                for parts in 1..=4 {
                    let split: Vec<_> = (0..parts)
                        .map(|p| batches(&ds, state, Some((p, parts))))
                        .collect();
                    assert_eq!(
                        interleave(split),
                        whole,
                        "{compression} prefetch {prefetch} position {position} parts {parts}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_part_state_counts_the_other_parts_batches_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[10], Compression::None);
    let ds = Dataset::builder().files(&paths).batch(3).build().unwrap();
    let mut part = ds.batches_split(IterState::default(), 1, 2).unwrap();
    assert_eq!(part.state().position, 3);
    part.next().unwrap().unwrap();
    assert_eq!(part.state().position, 9);
    part.next().unwrap().unwrap();
    assert!(part.next().is_none());
    let state = part.state();
    assert_eq!((state.epoch, state.position), (1, 0));
    assert!(ds.batches_split(IterState::default(), 2, 2).is_err());
}

#[test]
fn example_batches_split_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ex.tfrecord");
    let mut w = Writer::create(&path).unwrap();
    for i in 0..13i64 {
        w.write_example(&Example::default().int64("label", [i]))
            .unwrap();
    }
    w.finish().unwrap();
    let spec = ParseSpec::new().fixed("label", DType::I64, &[], None);
    let ds = Dataset::builder()
        .file(&path)
        .shuffle(1)
        .batch(2)
        .build()
        .unwrap();
    let labels = |part, parts| -> Vec<Vec<i64>> {
        ds.example_batches_split(&spec, IterState::default(), part, parts)
            .unwrap()
            .map(|b| {
                b.unwrap()
                    .get("label")
                    .unwrap()
                    .values::<i64>()
                    .unwrap()
                    .to_vec()
            })
            .collect()
    };
    let whole = labels(0, 1);
    let mut merged = Vec::new();
    let (a, b, c) = (labels(0, 3), labels(1, 3), labels(2, 3));
    for k in 0..a.len() {
        for p in [&a, &b, &c] {
            if let Some(batch) = p.get(k) {
                merged.push(batch.clone());
            }
        }
    }
    assert_eq!(merged, whole);
}
