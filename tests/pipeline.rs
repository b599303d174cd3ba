//! The dataset pipeline: order (shuffle, shard), batches, resumption,
//! streamed (compressed) files, and `tfrec cat --shuffle/--epoch/--shard`.

mod common;

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::cli::{self, BIN};
use common::write_part_files;
use tfrec::index::IndexedFile;
use tfrec::pipeline::{
    permutation, Dataset, DatasetBuilder, IterState, RecordId, ShardMode, Split,
};
use tfrec::{Compression, DType, ErrorKind, Tensor, Writer};

/// The tensor stored as record `index` of file `file`: `uint32[3]` holding
/// (file, index, a checksum-like third value), so a record names itself.
fn record_tensor(file: usize, index: u64) -> Tensor {
    let (f, i) = (file as u32, index as u32);
    Tensor::from_slice(
        &[f, i, f.wrapping_mul(7919) ^ i.wrapping_mul(104_729)],
        &[3],
    )
    .unwrap()
}

/// Writes files with the given record counts; returns their paths.
fn write_files(dir: &Path, counts: &[u64], compression: Compression) -> Vec<PathBuf> {
    write_part_files(dir, counts, compression, record_tensor)
}

fn all_ids(counts: &[u64]) -> BTreeSet<RecordId> {
    counts
        .iter()
        .enumerate()
        .flat_map(|(file, &n)| (0..n).map(move |index| RecordId { file, index }))
        .collect()
}

fn base(paths: &[PathBuf]) -> DatasetBuilder {
    Dataset::builder().files(paths).threads(2)
}

/// Every id a tensor of `record_tensor` names.
fn id_in(t: &tfrec::TensorView<'_>) -> RecordId {
    let v = t.to_vec::<u32>().unwrap();
    assert_eq!(v[2], v[0].wrapping_mul(7919) ^ v[1].wrapping_mul(104_729));
    RecordId {
        file: v[0] as usize,
        index: u64::from(v[1]),
    }
}

#[test]
fn ranks_are_disjoint_cover_everything_and_differ_in_size_by_at_most_one() {
    let dir = tempfile::tempdir().unwrap();
    let counts = [7u64, 0, 12, 5];
    let paths = write_files(dir.path(), &counts, Compression::None);
    let everything = all_ids(&counts);
    for world in 1..=5usize {
        for mode in [ShardMode::Contiguous, ShardMode::Strided] {
            for drop_remainder in [false, true] {
                for seed in [None, Some(3u64)] {
                    for epoch in 0..2 {
                        let mut union = BTreeSet::new();
                        let mut sizes = Vec::new();
                        for rank in 0..world {
                            let mut b = base(&paths)
                                .shard(rank, world)
                                .shard_mode(mode)
                                .drop_remainder(drop_remainder);
                            if let Some(s) = seed {
                                b = b.shuffle(s);
                            }
                            let ds = b.build().unwrap();
                            let order = ds.order(epoch);
                            assert_eq!(order.len() as u64, ds.len());
                            sizes.push(order.len());
                            for id in order {
                                assert!(union.insert(id), "{id:?} on two ranks");
                            }
                        }
                        let what =
                            format!("world {world} {mode:?} drop {drop_remainder} seed {seed:?}");
                        let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                        if drop_remainder {
                            assert_eq!(lo, hi, "{what}");
                            assert_eq!(*lo, 24 / world, "{what}");
                            assert!(union.is_subset(&everything));
                        } else {
                            assert!(hi - lo <= 1, "{what}: {sizes:?}");
                            assert_eq!(union, everything, "{what}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn order_is_deterministic_per_seed_and_epoch_and_new_each_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[40, 25], Compression::None);
    let order = |seed: u64, epoch: u64| base(&paths).shuffle(seed).build().unwrap().order(epoch);
    assert_eq!(order(5, 0), order(5, 0));
    assert_eq!(order(5, 3), order(5, 3));
    assert_ne!(order(5, 0), order(5, 1));
    assert_ne!(order(5, 0), order(6, 0));
    // Global: an epoch's order is the published permutation of all records,
    // not file blocks or a buffer shuffle.
    let ds = base(&paths).shuffle(5).build().unwrap();
    let expected: Vec<RecordId> = permutation(65, 5, 2)
        .into_iter()
        .map(|p| {
            if p < 40 {
                RecordId { file: 0, index: p }
            } else {
                RecordId {
                    file: 1,
                    index: p - 40,
                }
            }
        })
        .collect();
    assert_eq!(ds.order(2), expected);
    let unshuffled = base(&paths).build().unwrap().order(9);
    assert_eq!(
        unshuffled,
        all_ids(&[40, 25]).into_iter().collect::<Vec<_>>()
    );
    // Each rank's subset is a fresh random one each epoch.
    let rank0 = base(&paths).shuffle(5).shard(0, 2).build().unwrap();
    let set = |e| rank0.order(e).into_iter().collect::<BTreeSet<_>>();
    assert_ne!(set(0), set(1));
}

/// Pearson's chi-square statistic of element-by-position counts.
fn chi_square(counts: &[Vec<u64>], trials: u64) -> f64 {
    let n = counts.len() as f64;
    let expected = trials as f64 / n;
    counts
        .iter()
        .flatten()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

/// Counts where each of `n` elements lands over permutations from `perm`.
fn position_counts(n: usize, trials: u64, perm: impl Fn(u64) -> Vec<u64>) -> Vec<Vec<u64>> {
    let mut counts = vec![vec![0u64; n]; n];
    for t in 0..trials {
        for (pos, &elem) in perm(t).iter().enumerate() {
            counts[elem as usize][pos] += 1;
        }
    }
    counts
}

/// 0.1% critical value of chi-square with (8 - 1)^2 = 49 degrees of freedom.
const CHI2_49_P001: f64 = 85.35;

/// A statistical test of the shuffle: over many (seed, epoch) keys, every
/// element must land in every position equally often. The keys are fixed,
/// so the test is deterministic; it is meaningful because a biased shuffle
/// fails the same statistic (next test).
#[test]
fn shuffle_is_uniform_over_positions() {
    let n = 8usize;
    let trials = 16_000u64;
    // Consecutive seeds (epoch 0), and consecutive epochs of one seed: both
    // ways of drawing new permutations must be uniform.
    let by_seed = position_counts(n, trials, |t| permutation(n as u64, t, 0));
    let by_epoch = position_counts(n, trials, |t| permutation(n as u64, 0xfeed, t));
    let (a, b) = (chi_square(&by_seed, trials), chi_square(&by_epoch, trials));
    assert!(a < CHI2_49_P001, "chi-square over seeds {a}");
    assert!(b < CHI2_49_P001, "chi-square over epochs {b}");
    // And not suspiciously perfect either (which a fixed rotation would be).
    assert!(a > 20.0 && b > 20.0, "{a} {b}");

    // Pairs: the element after element 0 is uniform over the other 7.
    let mut next = [0u64; 8];
    for t in 0..trials {
        let p = permutation(n as u64, t, 7);
        let at = p.iter().position(|&e| e == 0).unwrap();
        next[p[(at + 1) % n] as usize] += 1;
    }
    let expected = trials as f64 / 7.0;
    let chi: f64 = next[1..]
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum();
    assert!(chi < 24.32, "pairs chi-square {chi} (6 df, p = 0.001)"); // 6 df
    assert_eq!(next[0], 0);
}

#[test]
fn a_biased_shuffle_fails_the_uniformity_statistic() {
    // The classic mistake: swap each position with any position, not only
    // with those not yet fixed. Same generator, same keys.
    let n = 8usize;
    let trials = 16_000u64;
    let naive = |t: u64| -> Vec<u64> {
        let mut items: Vec<u64> = (0..n as u64).collect();
        let mut rng_source = permutation(64, t, 0).into_iter();
        for i in 0..n {
            let j = (rng_source.next().unwrap() % n as u64) as usize;
            items.swap(i, j);
        }
        items
    };
    let counts = position_counts(n, trials, naive);
    let chi = chi_square(&counts, trials);
    assert!(
        chi > 3.0 * CHI2_49_P001,
        "the biased shuffle passed: chi-square {chi}"
    );
    // A rotation by a random offset puts each element everywhere equally
    // often but is far from uniform over permutations: the pair test catches it.
    let rotate = |t: u64| -> Vec<u64> {
        let r = permutation(n as u64, t, 0)[0];
        (0..n as u64).map(|i| (i + r) % n as u64).collect()
    };
    let mut next = [0u64; 8];
    for t in 0..trials {
        let p = rotate(t);
        let at = p.iter().position(|&e| e == 0).unwrap();
        next[p[(at + 1) % n] as usize] += 1;
    }
    assert_eq!(next[1], trials, "rotation always puts 1 after 0");
}

#[test]
fn batches_hold_exactly_their_records_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let counts = [30u64, 17, 1];
    let paths = write_files(dir.path(), &counts, Compression::None);
    let files: Vec<IndexedFile> = paths
        .iter()
        .map(|p| IndexedFile::open(p).unwrap())
        .collect();
    for prefetch in [0, 1, 3] {
        for (rank, world) in [(0, 1), (2, 3)] {
            let ds = base(&paths)
                .shuffle(11)
                .shard(rank, world)
                .batch(5)
                .prefetch(prefetch)
                .build()
                .unwrap();
            let order = ds.order(4);
            let mut seen = Vec::new();
            for batch in ds.epoch(4).unwrap() {
                let batch = batch.unwrap();
                let n = batch.len();
                assert_eq!(batch.shape(), Some(&[n, 3][..]));
                assert_eq!(batch.dtype(), Some(DType::U32));
                assert_eq!(batch.bytes().unwrap().len(), n * 12);
                for (i, id) in batch.ids().iter().enumerate() {
                    let expected = files[id.file].get(id.index as usize).unwrap();
                    let got = batch.get(i).unwrap();
                    assert_eq!(got.bytes(), expected.bytes(), "{id:?}");
                    assert_eq!(id_in(&got), *id);
                    assert_eq!(
                        batch.offsets()[i],
                        files[id.file]
                            .index()
                            .get(id.index as usize)
                            .unwrap()
                            .offset
                    );
                }
                let values = batch.values::<u32>().unwrap();
                assert_eq!(values.len(), n * 3);
                seen.extend_from_slice(batch.ids());
            }
            assert_eq!(seen, order, "prefetch {prefetch} rank {rank}/{world}");
        }
    }
}

#[test]
fn drop_last_and_partial_batches() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[23], Compression::None);
    let sizes = |drop_last: bool| -> Vec<usize> {
        let ds = base(&paths).batch(5).drop_last(drop_last).build().unwrap();
        let v: Vec<usize> = ds.epoch(0).unwrap().map(|b| b.unwrap().len()).collect();
        assert_eq!(v.len() as u64, ds.batches_per_epoch());
        v
    };
    assert_eq!(sizes(false), [5, 5, 5, 5, 3]);
    assert_eq!(sizes(true), [5, 5, 5, 5]);
}

fn collect_ids(
    batches: impl Iterator<Item = tfrec::Result<tfrec::pipeline::Batch>>,
) -> Vec<RecordId> {
    batches.flat_map(|b| b.unwrap().ids().to_vec()).collect()
}

#[test]
fn resuming_from_a_saved_state_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let plain = write_files(dir.path(), &[19, 14], Compression::None);
    let gz_dir = dir.path().join("gz");
    std::fs::create_dir(&gz_dir).unwrap();
    let gzip = write_files(&gz_dir, &[19, 14], Compression::Gzip);
    for paths in [&plain, &gzip] {
        for prefetch in [0, 2] {
            let build = || {
                base(paths)
                    .shuffle(99)
                    .shard(1, 2)
                    .batch(4)
                    .prefetch(prefetch)
                    .shuffle_buffer(5)
                    .build()
                    .unwrap()
            };
            let ds = build();
            let full: Vec<RecordId> = (0..3u64)
                .flat_map(|e| collect_ids(ds.epoch(e).unwrap()))
                .collect();
            for stop_after in [0usize, 1, 3, 4, 5] {
                // Run, stop after some batches, save, rebuild, resume; go on
                // for three epochs in all.
                let mut got = Vec::new();
                let mut state = IterState::default();
                let mut first = true;
                while state.epoch < 3 {
                    let ds = build();
                    let mut it = ds.batches(state).unwrap();
                    let take = if first { stop_after } else { usize::MAX };
                    first = false;
                    for b in it.by_ref().take(take) {
                        got.extend_from_slice(b.unwrap().ids());
                    }
                    let saved = it.state().to_json();
                    drop(it);
                    state = IterState::from_json(&saved).unwrap();
                }
                assert_eq!(got, full, "prefetch {prefetch}, stopped after {stop_after}");
            }
            // The state after the epoch's last batch is the next epoch's start.
            let mut it = ds.epoch(1).unwrap();
            for b in it.by_ref() {
                b.unwrap();
            }
            assert_eq!(
                it.state(),
                IterState {
                    epoch: 2,
                    position: 0,
                    split: Some(Split {
                        world: 2,
                        mode: ShardMode::Contiguous,
                        start: 0
                    })
                }
            );
        }
    }
}

#[test]
fn samples_resume_too_and_follow_the_order() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[150, 70], Compression::None);
    let ds = base(&paths).shuffle(1).shard(0, 3).build().unwrap();
    let all: Vec<RecordId> = ds
        .samples(IterState::epoch_start(5))
        .unwrap()
        .map(|s| {
            let s = s.unwrap();
            assert_eq!(id_in(&s.tensor), s.id);
            s.id
        })
        .collect();
    assert_eq!(all, ds.order(5));
    let mut it = ds.samples(IterState::epoch_start(5)).unwrap();
    let head: Vec<RecordId> = it.by_ref().take(66).map(|s| s.unwrap().id).collect();
    let state = it.state();
    assert_eq!(
        state,
        IterState {
            epoch: 5,
            position: 66,
            split: Some(Split {
                world: 3,
                mode: ShardMode::Contiguous,
                start: 0
            })
        }
    );
    let tail: Vec<RecordId> = ds.samples(state).unwrap().map(|s| s.unwrap().id).collect();
    assert_eq!([head, tail].concat(), all);
    let too_far = IterState {
        epoch: 0,
        position: ds.len() + 1,
        split: None,
    };
    assert!(ds.samples(too_far).is_err());
}

#[test]
fn a_shape_mismatch_names_the_file_and_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.tfrecord");
    let mut w = Writer::create(&path).unwrap();
    for i in 0..10u8 {
        let shape: &[usize] = if i == 7 { &[3, 1] } else { &[1, 3] };
        w.write_tensor(&Tensor::from_slice(&[i, i, i], shape).unwrap())
            .unwrap();
    }
    w.finish().unwrap();
    let ds = Dataset::builder()
        .file(&path)
        .batch(4)
        .prefetch(0)
        .build()
        .unwrap();
    let results: Vec<_> = ds.epoch(0).unwrap().collect();
    assert_eq!(results.len(), 2, "iteration stops at the error");
    let err = results[1].as_ref().unwrap_err();
    assert_eq!(err.record_index(), Some(7));
    assert_eq!(err.path(), Some(path.as_path()));
    let text = err.to_string();
    assert!(
        text.contains("mixed.tfrecord: record 7 at offset"),
        "{text}"
    );
    assert!(text.contains("[3, 1]") && text.contains("[1, 3]"), "{text}");

    // Another dtype is named too.
    let path2 = dir.path().join("dtypes.tfrecord");
    let mut w = Writer::create(&path2).unwrap();
    w.write_tensor(&Tensor::from_slice(&[1u8], &[1]).unwrap())
        .unwrap();
    w.write_tensor(&Tensor::from_slice(&[1i8], &[1]).unwrap())
        .unwrap();
    w.finish().unwrap();
    let ds = Dataset::builder().file(&path2).batch(2).build().unwrap();
    let err = ds.epoch(0).unwrap().next().unwrap().unwrap_err();
    assert_eq!(err.record_index(), Some(1));
    assert!(err.to_string().contains("int8"), "{err}");

    // Padded and ragged batches take the varying shapes.
    let ds = Dataset::builder()
        .file(&path)
        .batch(4)
        .pad_to(&[3, 3])
        .build()
        .unwrap();
    let batches: Vec<_> = ds.epoch(0).unwrap().map(Result::unwrap).collect();
    let b = &batches[1];
    assert_eq!(b.shape(), Some(&[4, 3, 3][..]));
    assert_eq!(b.record_shape(3), Some(&[3, 1][..]));
    assert_eq!(
        b.get(0).unwrap().to_vec::<u8>().unwrap(),
        [4, 4, 4, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(
        b.get(3).unwrap().to_vec::<u8>().unwrap(),
        [7, 0, 0, 7, 0, 0, 7, 0, 0]
    );
    let too_small = Dataset::builder()
        .file(&path)
        .batch(4)
        .pad_to(&[2, 3])
        .build()
        .unwrap();
    assert!(too_small.epoch(0).unwrap().nth(1).unwrap().is_err());

    let ds = Dataset::builder()
        .file(&path)
        .batch(4)
        .ragged()
        .build()
        .unwrap();
    let b = ds.epoch(0).unwrap().nth(1).unwrap().unwrap();
    let tensors = b.tensors().unwrap();
    assert_eq!(tensors.len(), 4);
    assert_eq!(tensors[3].shape(), &[3, 1]);
    assert!(b.view().is_none());
}

#[test]
fn map_runs_on_every_tensor_and_its_errors_name_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[9], Compression::None);
    let ds = base(&paths)
        .batch(4)
        .map(|t| {
            let v: Vec<f64> = t
                .values::<u32>()?
                .iter()
                .map(|&x| f64::from(x) * 0.5)
                .collect();
            Tensor::from_slice(&v, &[3])
        })
        .build()
        .unwrap();
    let b = ds.epoch(0).unwrap().next().unwrap().unwrap();
    assert_eq!(b.dtype(), Some(DType::F64));
    assert_eq!(b.get(2).unwrap().to_vec::<f64>().unwrap()[1], 1.0);

    let failing = base(&paths)
        .batch(4)
        .map(|t| {
            if t.values::<u32>()?[1] == 6 {
                Err(tfrec::Error::new(ErrorKind::InvalidInput {
                    reason: "six".into(),
                }))
            } else {
                Ok(t.to_owned())
            }
        })
        .build()
        .unwrap();
    let err = failing.epoch(0).unwrap().find_map(Result::err).unwrap();
    assert_eq!(err.record_index(), Some(6));
    assert!(err.to_string().contains("six"));
}

#[test]
fn prefetch_bounds_the_batches_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[200], Compression::None);
    for k in [1usize, 3] {
        let decoded = Arc::new(AtomicU64::new(0));
        let counter = decoded.clone();
        let ds = base(&paths)
            .batch(10)
            .prefetch(k)
            .map(move |t| {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(t.to_owned())
            })
            .build()
            .unwrap();
        let mut it = ds.epoch(0).unwrap();
        let first = it.next().unwrap().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        // The caller holds one batch; at most k more are being made or wait.
        let n = decoded.load(Ordering::SeqCst);
        assert!(n <= (1 + k as u64) * 10, "k {k}: {n} records decoded");
        assert!(
            n >= (1 + k as u64) * 10 - 10,
            "k {k}: prefetching did not run ahead ({n})"
        );
        drop(first);
        drop(it); // stops and joins the background thread
    }
}

#[test]
fn strings_stack_into_one_string_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.tfrecord");
    let mut w = Writer::create(&path).unwrap();
    for i in 0..5 {
        w.write_tensor(&Tensor::from_strings(&[format!("a{i}"), format!("b{i}")], &[2]).unwrap())
            .unwrap();
    }
    w.finish().unwrap();
    let ds = Dataset::builder().file(&path).batch(3).build().unwrap();
    let b = ds.epoch(0).unwrap().next().unwrap().unwrap();
    assert_eq!(b.shape(), Some(&[3, 2][..]));
    assert_eq!(b.dtype(), Some(DType::String));
    let view = b.get(1).unwrap();
    let second: Vec<&[u8]> = view.strings().unwrap().collect();
    assert_eq!(second, [b"a1".as_slice(), b"b1"]);
}

#[test]
fn compressed_files_stream_deterministically_through_a_shuffle_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let counts = [25u64, 9, 31];
    let paths = write_files(dir.path(), &counts, Compression::Gzip);
    let everything = all_ids(&counts);
    let ds = base(&paths)
        .shuffle(3)
        .shuffle_buffer(8)
        .batch(6)
        .build()
        .unwrap();
    assert!(!ds.is_random_access());
    assert_eq!(ds.total_records(), 65);
    let order = ds.order(0);
    assert_eq!(order.iter().copied().collect::<BTreeSet<_>>(), everything);
    assert_ne!(order, everything.iter().copied().collect::<Vec<_>>());
    assert_eq!(order, ds.order(0));
    assert_ne!(order, ds.order(1));
    // The batches are those records, with their contents.
    let mut seen = Vec::new();
    for b in ds.epoch(0).unwrap() {
        let b = b.unwrap();
        for (i, id) in b.ids().iter().enumerate() {
            assert_eq!(id_in(&b.get(i).unwrap()), *id);
        }
        seen.extend_from_slice(b.ids());
    }
    assert_eq!(seen, order);
    // Ranks still partition the records.
    for mode in [ShardMode::Contiguous, ShardMode::Strided] {
        let mut union = BTreeSet::new();
        for rank in 0..3 {
            let r = base(&paths)
                .shuffle(3)
                .shard(rank, 3)
                .shard_mode(mode)
                .build()
                .unwrap();
            let ids: Vec<RecordId> = r
                .samples(IterState::epoch_start(2))
                .unwrap()
                .map(|s| s.unwrap().id)
                .collect();
            assert_eq!(ids, r.order(2));
            for id in ids {
                assert!(union.insert(id));
            }
        }
        assert_eq!(union, everything, "{mode:?}");
    }
    // A buffer as large as the data gives a permutation of all records.
    let big = base(&paths)
        .shuffle(3)
        .shuffle_buffer(1000)
        .build()
        .unwrap();
    assert_eq!(big.order(0).len(), 65);
}

#[test]
fn globs_expand_sorted_and_must_match() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[2, 3, 4], Compression::None);
    std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
    let pattern = format!("{}/part-*.tfrecord", dir.path().display());
    let ds = Dataset::builder().glob(&pattern).build().unwrap();
    assert_eq!(ds.paths(), &paths[..]);
    assert_eq!(ds.total_records(), 9);
    let err = Dataset::builder()
        .glob(format!("{}/nothing-*.tfrecord", dir.path().display()))
        .build()
        .err()
        .unwrap();
    assert!(err.to_string().contains("matches no file"), "{err}");
    assert!(Dataset::builder()
        .file(&paths[0])
        .shard(2, 2)
        .build()
        .is_err());
    assert!(Dataset::builder().file(&paths[0]).batch(0).build().is_err());
    assert!(Dataset::builder().build().is_err());
}

#[test]
fn mmap_and_positioned_reads_give_the_same_batches() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[33, 12], Compression::None);
    let run = |mmap: bool| -> Vec<Vec<u8>> {
        let ds = base(&paths).shuffle(8).batch(7).mmap(mmap).build().unwrap();
        ds.epoch(1)
            .unwrap()
            .map(|b| b.unwrap().bytes().unwrap().to_vec())
            .collect()
    };
    assert_eq!(run(true), run(false));
}

#[test]
fn a_corrupt_record_stops_the_iteration_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[20], Compression::None);
    let mut bytes = std::fs::read(&paths[0]).unwrap();
    let file = IndexedFile::open(&paths[0]).unwrap();
    let e = file.index().get(13).unwrap();
    bytes[(e.offset + 14) as usize] ^= 0x40; // inside record 13's payload
    std::fs::write(&paths[0], &bytes).unwrap();
    let ds = base(&paths).batch(4).build().unwrap();
    let mut it = ds.epoch(0).unwrap();
    let results: Vec<_> = it.by_ref().collect();
    let err = results.last().unwrap().as_ref().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::CorruptData { .. }), "{err}");
    assert_eq!(err.record_index(), Some(13));
    assert_eq!(err.offset(), Some(e.offset));
    // The state stays at the failed batch.
    assert_eq!(
        it.state(),
        IterState {
            epoch: 0,
            position: 12,
            split: Some(Split {
                world: 1,
                mode: ShardMode::Contiguous,
                start: 0
            })
        }
    );
}

// ---------------------------------------------------------------------------
// tfrec cat --shuffle --epoch --shard
// ---------------------------------------------------------------------------

/// (stdout, stderr, whether it succeeded) of `tfrec cat ARGS` run in `dir`.
fn cat(dir: &Path, args: &[&str]) -> (String, String, bool) {
    let args: Vec<&str> = ["cat"].iter().chain(args).copied().collect();
    let run = cli::tfrec(dir, &args);
    (
        run.text().to_string(),
        run.stderr.clone(),
        run.code == Some(0),
    )
}

fn key<'a>(line: &'a str, name: &str) -> &'a str {
    let at = line.find(&format!("\"{name}\":")).unwrap() + name.len() + 3;
    let rest = &line[at..];
    let end = rest.find([',', '}']).unwrap();
    rest[..end].trim_matches('"')
}

#[test]
fn cat_prints_exactly_the_dataset_order_for_a_rank_and_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let counts = [13u64, 8, 21];
    let paths = write_files(dir.path(), &counts, Compression::None);
    let names: Vec<String> = paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let gz = dir.path().join("gz");
    std::fs::create_dir(&gz).unwrap();
    let gz_paths = write_files(&gz, &counts, Compression::Gzip);
    let gz_names: Vec<String> = gz_paths.iter().map(|p| p.display().to_string()).collect();
    for (names, paths, plain) in [(&names, &paths, true), (&gz_names, &gz_paths, false)] {
        for (seed, epoch, rank, world) in
            [(7u64, 2u64, 1usize, 3usize), (0, 0, 0, 1), (123, 5, 3, 4)]
        {
            let shard = format!("{rank}/{world}");
            let (seed_s, epoch_s) = (seed.to_string(), epoch.to_string());
            let mut args = vec![
                "--jsonl",
                "--shuffle",
                &seed_s,
                "--epoch",
                &epoch_s,
                "--shard",
                &shard,
            ];
            args.extend(names.iter().map(String::as_str));
            let (out, err, ok) = cat(dir.path(), &args);
            assert!(ok, "{err}");
            let got: Vec<(String, u64)> = out
                .lines()
                .map(|l| (key(l, "file").to_string(), key(l, "index").parse().unwrap()))
                .collect();
            let ds = Dataset::builder()
                .files(paths)
                .shuffle(seed)
                .shard(rank, world)
                .build()
                .unwrap();
            let expected: Vec<(String, u64)> = ds
                .order(epoch)
                .into_iter()
                .map(|id| (names[id.file].clone(), id.index))
                .collect();
            assert_eq!(got, expected, "seed {seed} epoch {epoch} shard {shard}");
            // Offsets are the frames' offsets.
            if plain {
                for l in out.lines().take(5) {
                    let file = names.iter().position(|n| n == key(l, "file")).unwrap();
                    let index: usize = key(l, "index").parse().unwrap();
                    let offset: u64 = key(l, "offset").parse().unwrap();
                    let f = IndexedFile::open(&paths[file]).unwrap();
                    assert_eq!(f.index().get(index).unwrap().offset, offset);
                }
            }
        }
    }
    // Human-readable form keeps FILE:INDEX, in the same order.
    let mut args = vec!["--shuffle", "7", "--shard", "0/2"];
    args.extend(names.iter().map(String::as_str));
    let (out, _, ok) = cat(dir.path(), &args);
    assert!(ok);
    let ds = Dataset::builder()
        .files(&paths)
        .shuffle(7)
        .shard(0, 2)
        .build()
        .unwrap();
    let firsts: Vec<String> = out
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    let expected: Vec<String> = ds
        .order(0)
        .iter()
        .map(|id| format!("{}:{}", names[id.file], id.index))
        .collect();
    assert_eq!(firsts, expected);
    // Usage errors.
    for bad in ["3/3", "x/2", "1", "0/0"] {
        let (_, err, ok) = cat(dir.path(), &["--shard", bad, &names[0]]);
        assert!(!ok && !err.is_empty(), "{bad}");
    }
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .args(["cat", "--shuffle", "1", "-"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stdin"));
}

#[test]
fn cat_warns_when_a_sidecar_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[5], Compression::None);
    std::fs::write(tfrec::index::Index::sidecar_path(&paths[0]), "0 16\n").unwrap();
    let name = paths[0].file_name().unwrap().to_string_lossy().into_owned();
    let (out, err, ok) = cat(dir.path(), &["--shuffle", "1", &name]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 5);
    assert!(err.contains("sidecar ignored"), "{err}");
    let ids: HashSet<&str> = out.lines().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(ids.len(), 5);
}

#[test]
fn iterators_and_batches_can_move_between_threads() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<tfrec::pipeline::Batches>();
    send::<tfrec::pipeline::Samples>();
    send::<tfrec::pipeline::Batch>();
    sync::<tfrec::pipeline::Batch>();
    send::<Dataset>();
    sync::<Dataset>();
    send::<IndexedFile>();
    sync::<IndexedFile>();
}
