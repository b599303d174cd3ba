//! Elastic resume: a state saved by `world` ranks in strided parts, loaded
//! by another number of ranks, finishes the epoch with every record taken
//! exactly once, and the new parts within one record of each other.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::write_part_files;
use proptest::prelude::*;
use tfrec::example::{Example, ParseSpec};
use tfrec::pipeline::{Dataset, DatasetBuilder, IterState, RecordId, ShardMode, Split};
use tfrec::{Compression, DType, ErrorKind, Tensor, Writer};

/// Record `index` of file `file` holds `[file, index]`, so it names itself.
fn write_files(dir: &Path, counts: &[u64], compression: Compression) -> Vec<PathBuf> {
    write_part_files(dir, counts, compression, |f, i| {
        Tensor::from_slice(&[f as u64, i], &[2]).unwrap()
    })
}

fn write_examples(dir: &Path, counts: &[u64]) -> Vec<PathBuf> {
    counts
        .iter()
        .enumerate()
        .map(|(f, &n)| {
            let path = dir.join(format!("ex-{f:02}.tfrecord"));
            let mut w = Writer::create(&path).unwrap();
            for i in 0..n {
                let ex = Example::default()
                    .int64("file", [f as i64])
                    .int64("index", [i as i64]);
                w.write_example(&ex).unwrap();
            }
            w.finish().unwrap()
        })
        .collect()
}

/// Every record of the files, each with a count of 0.
fn every_record(counts: &[u64]) -> BTreeMap<RecordId, u32> {
    counts
        .iter()
        .enumerate()
        .flat_map(|(file, &n)| (0..n).map(move |index| (RecordId { file, index }, 0)))
        .collect()
}

/// The ids of a tensor batch, checked against the records' contents.
fn ids_of(batch: &tfrec::pipeline::Batch) -> Vec<RecordId> {
    for (i, id) in batch.ids().iter().enumerate() {
        let v = batch.get(i).unwrap().to_vec::<u64>().unwrap();
        assert_eq!(v, [id.file as u64, id.index]);
    }
    batch.ids().to_vec()
}

/// How the datasets of a case are made.
#[derive(Debug, Clone)]
struct Case {
    counts: Vec<u64>,
    seed: Option<u64>,
    batch: usize,
    drop_remainder: bool,
    drop_last: bool,
}

impl Case {
    fn builder(&self, paths: &[PathBuf], rank: usize, world: usize) -> DatasetBuilder {
        let mut b = Dataset::builder()
            .files(paths)
            .threads(1)
            .prefetch(1)
            .batch(self.batch)
            .shard(rank, world)
            .shard_mode(ShardMode::Strided)
            .drop_remainder(self.drop_remainder)
            .drop_last(self.drop_last);
        if let Some(seed) = self.seed {
            b = b.shuffle(seed);
        }
        b
    }

    fn ranks(&self, paths: &[PathBuf], world: usize) -> Vec<Dataset> {
        (0..world)
            .map(|r| self.builder(paths, r, world).build().unwrap())
            .collect()
    }
}

/// Runs `steps` synchronous steps (one batch per rank per step) of `epoch`
/// on each of `ranks` from `state`, counting the records taken in `seen`;
/// returns every rank's state afterwards.
fn run_steps(
    ranks: &[Dataset],
    state: IterState,
    steps: usize,
    seen: &mut BTreeMap<RecordId, u32>,
) -> Vec<IterState> {
    ranks
        .iter()
        .map(|ds| {
            let mut it = ds.batches(state).unwrap();
            for batch in it.by_ref().take(steps) {
                for id in ids_of(&batch.unwrap()) {
                    *seen.get_mut(&id).unwrap() += 1;
                }
            }
            it.state()
        })
        .collect()
}

/// Runs each rank to the end of the epoch from `state`; returns the records
/// each rank took.
fn run_to_end(ranks: &[Dataset], state: IterState, seen: &mut BTreeMap<RecordId, u32>) -> Vec<u64> {
    ranks
        .iter()
        .map(|ds| {
            let mut n = 0;
            for batch in ds.batches(state).unwrap() {
                for id in ids_of(&batch.unwrap()) {
                    *seen.get_mut(&id).unwrap() += 1;
                    n += 1;
                }
            }
            n
        })
        .collect()
}

/// Steps the ranks can take in sync from `state`, each rank a batch at
/// each. Where the parts' batch counts
/// differ by one (their lengths by one, the shorter a multiple of the batch
/// size), the last step of the longer parts has no counterpart: not counted.
fn sync_steps(ranks: &[Dataset], state: IterState, case: &Case) -> u64 {
    let b = case.batch as u64;
    let counts: Vec<u64> = ranks
        .iter()
        .map(|ds| {
            let state = ds.resume_state(state).unwrap();
            let left = ds.part_len(state).unwrap() - state.position;
            if case.drop_last {
                left / b
            } else {
                left.div_ceil(b)
            }
        })
        .collect();
    let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    if lo == hi {
        *lo
    } else {
        lo.saturating_sub(1)
    }
}

/// Checks that no record was taken twice, and every record once unless left
/// out by the last `world` ranks: with drop_remainder fewer than `world`
/// records, with drop_last fewer than a batch each.
fn check_exactly_once(seen: &BTreeMap<RecordId, u32>, case: &Case, world: usize) {
    let twice: Vec<_> = seen.iter().filter(|(_, &n)| n > 1).collect();
    assert!(twice.is_empty(), "taken more than once: {twice:?}");
    let never: Vec<_> = seen.iter().filter(|(_, &n)| n == 0).collect();
    let mut most = 0;
    if case.drop_remainder {
        most += world - 1;
    }
    if case.drop_last {
        most += world * (case.batch - 1);
    }
    assert!(never.len() <= most, "never taken: {never:?}");
}

fn within_one(sizes: &[u64]) -> bool {
    let (lo, hi) = (sizes.iter().min(), sizes.iter().max());
    matches!((lo, hi), (Some(lo), Some(hi)) if hi - lo <= 1)
}

/// One case: `world` ranks take `steps` batches, one rank's state is saved,
/// and `world2` ranks finish the epoch from it.
fn elastic_case(case: &Case, world: usize, world2: usize, steps_pick: u64, saver_pick: usize) {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &case.counts, Compression::None);
    let epoch = 3;
    let before = case.ranks(&paths, world);
    let start = IterState::epoch_start(epoch);
    let most = sync_steps(&before, start, case);
    let steps = (steps_pick % (most + 1)) as usize;
    let mut seen = every_record(&case.counts);
    let states = run_steps(&before, start, steps, &mut seen);
    let after = case.ranks(&paths, world2);
    let mid: Vec<IterState> = states
        .iter()
        .copied()
        .filter(|s| s.epoch == epoch)
        .collect();
    if mid.is_empty() {
        // Every rank finished the epoch in `steps` steps.
        assert!(states.iter().all(|s| s.epoch == epoch + 1));
        check_exactly_once(&seen, case, world);
        return;
    }
    // Rank 0's part is the longest: it is never done before another.
    assert_eq!(states[0].epoch, epoch);
    // Any rank not done says the same: the records taken are a prefix.
    let resumed: Vec<IterState> = mid
        .iter()
        .map(|s| after[0].resume_state(*s).unwrap())
        .collect();
    assert!(resumed.windows(2).all(|w| w[0] == w[1]), "{resumed:?}");
    let saved = mid[saver_pick % mid.len()];
    let sizes = run_to_end(&after, saved, &mut seen);
    check_exactly_once(&seen, case, world2);
    assert!(
        case.drop_last || within_one(&sizes),
        "after the change: {sizes:?}"
    );
    for (ds, &n) in after.iter().zip(&sizes) {
        let from = ds.resume_state(saved).unwrap().position;
        let left = ds.part_len(saved).unwrap() - from;
        let b = case.batch as u64;
        assert_eq!(if case.drop_last { left / b * b } else { left }, n);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_record_once_across_a_change_of_world(
        counts in prop::collection::vec(0u64..30, 1..4),
        seed in prop::option::of(any::<u64>()),
        batch in 1usize..6,
        drop_remainder in any::<bool>(),
        drop_last in any::<bool>(),
        world in 1usize..6,
        world2 in 1usize..6,
        steps in any::<u64>(),
        saver in any::<usize>(),
    ) {
        let case = Case { counts, seed, batch, drop_remainder, drop_last };
        elastic_case(&case, world, world2, steps, saver);
    }

    /// Two changes within one epoch: W ranks, then W', then W''.
    #[test]
    fn two_changes_in_one_epoch(
        counts in prop::collection::vec(1u64..40, 1..3),
        seed in prop::option::of(any::<u64>()),
        batch in 1usize..5,
        worlds in (1usize..5, 1usize..5, 1usize..5),
        steps in (any::<u64>(), any::<u64>()),
        savers in (any::<usize>(), any::<usize>()),
    ) {
        let case = Case { counts, seed, batch, drop_remainder: false, drop_last: false };
        let dir = tempfile::tempdir().unwrap();
        let paths = write_files(dir.path(), &case.counts, Compression::None);
        let mut seen = every_record(&case.counts);
        let mut state = IterState::epoch_start(1);
        for (world, steps, saver) in [(worlds.0, steps.0, savers.0), (worlds.1, steps.1, savers.1)] {
            let ranks = case.ranks(&paths, world);
            let most = sync_steps(&ranks, state, &case);
            let states = run_steps(&ranks, state, (steps % (most + 1)) as usize, &mut seen);
            let mid: Vec<IterState> = states.iter().copied().filter(|s| s.epoch == 1).collect();
            if mid.is_empty() {
                state = states[0];
                break;
            }
            state = mid[saver % mid.len()];
        }
        if state.epoch == 1 {
            let sizes = run_to_end(&case.ranks(&paths, worlds.2), state, &mut seen);
            prop_assert!(within_one(&sizes), "{:?}", sizes);
        }
        check_exactly_once(&seen, &case, 1);
    }
}

#[test]
fn the_state_says_where_the_new_split_starts() {
    let dir = tempfile::tempdir().unwrap();
    let case = Case {
        counts: vec![10, 9],
        seed: Some(5),
        batch: 2,
        drop_remainder: false,
        drop_last: false,
    };
    let paths = write_files(dir.path(), &case.counts, Compression::None);
    // 3 ranks, 2 steps of 2: the first 12 positions taken.
    let three = case.ranks(&paths, 3);
    let mut it = three[2].epoch(0).unwrap();
    it.by_ref().take(2).for_each(|b| drop(b.unwrap()));
    let saved = it.state();
    let strided = |world, start| {
        Some(Split {
            world,
            mode: ShardMode::Strided,
            start,
        })
    };
    assert_eq!(
        saved,
        IterState {
            epoch: 0,
            position: 4,
            split: strided(3, 0)
        }
    );
    let text = saved.to_json();
    assert_eq!(
        text,
        r#"{"epoch": 0, "position": 4, "world": 3, "shard_mode": "strided", "start": 0}"#
    );
    // On 2 ranks: positions 12.. of the order, strided.
    let two = case.ranks(&paths, 2);
    let loaded = IterState::from_json(&text).unwrap();
    assert_eq!(
        two[1].resume_state(loaded).unwrap(),
        IterState {
            epoch: 0,
            position: 0,
            split: strided(2, 12)
        }
    );
    let order = Dataset::builder()
        .files(&paths)
        .shuffle(5)
        .build()
        .unwrap()
        .order(0);
    let mut it = two[1].batches(loaded).unwrap();
    let first = it.next().unwrap().unwrap();
    assert_eq!(first.ids(), [order[13], order[15]]);
    assert_eq!(
        it.state(),
        IterState {
            epoch: 0,
            position: 2,
            split: strided(2, 12)
        }
    );
    // The end of the epoch: the next one, on this dataset's own split.
    let rest: Vec<_> = it.by_ref().map(|b| b.unwrap().ids().to_vec()).collect();
    assert_eq!(rest, [[order[17]]]);
    assert_eq!(
        it.state(),
        IterState {
            epoch: 1,
            position: 0,
            split: strided(2, 0)
        }
    );
}

#[test]
fn contiguous_states_resume_only_on_the_same_split() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[20], Compression::None);
    let on = |rank, world, mode| {
        Dataset::builder()
            .files(&paths)
            .batch(3)
            .shard(rank, world)
            .shard_mode(mode)
            .build()
            .unwrap()
    };
    let ds = on(0, 2, ShardMode::Contiguous);
    let mut it = ds.epoch(0).unwrap();
    it.next().unwrap().unwrap();
    let saved = it.state();
    assert_eq!(saved.split.map(|s| s.mode), Some(ShardMode::Contiguous));
    // Same split: as before.
    let rest: Vec<RecordId> = on(0, 2, ShardMode::Contiguous)
        .batches(saved)
        .unwrap()
        .flat_map(|b| b.unwrap().ids().to_vec())
        .collect();
    assert_eq!(rest, ds.order(0)[3..]);
    // Another number of ranks, or strided parts: an error that says why.
    for other in [
        on(0, 3, ShardMode::Contiguous),
        on(0, 3, ShardMode::Strided),
        on(0, 2, ShardMode::Strided),
    ] {
        let err = other.batches(saved).err().unwrap();
        assert!(matches!(err.kind(), ErrorKind::InvalidInput { .. }));
        assert!(err.to_string().contains("contiguous"), "{err}");
    }
    // Before any record is taken, any split will do.
    let fresh = on(1, 3, ShardMode::Strided);
    assert_eq!(
        fresh
            .resume_state(IterState::epoch_start(0))
            .unwrap()
            .position,
        0
    );
    // A state that does not say its split resumes in the loading rank's part.
    let plain = IterState {
        epoch: 0,
        position: 3,
        split: None,
    };
    let rest: Vec<RecordId> = fresh
        .batches(plain)
        .unwrap()
        .flat_map(|b| b.unwrap().ids().to_vec())
        .collect();
    assert_eq!(rest, fresh.order(0)[3..]);
}

#[test]
fn a_strided_state_on_a_contiguous_dataset_finishes_the_epoch_strided() {
    let dir = tempfile::tempdir().unwrap();
    let counts = [23u64];
    let paths = write_files(dir.path(), &counts, Compression::None);
    let case = Case {
        counts: counts.to_vec(),
        seed: Some(1),
        batch: 4,
        drop_remainder: false,
        drop_last: false,
    };
    let mut seen = every_record(&counts);
    let states = run_steps(
        &case.ranks(&paths, 2),
        IterState::epoch_start(0),
        2,
        &mut seen,
    );
    for world in [2, 3] {
        let mut seen = seen.clone();
        let ranks: Vec<Dataset> = (0..world)
            .map(|r| {
                Dataset::builder()
                    .files(&paths)
                    .shuffle(1)
                    .batch(4)
                    .shard(r, world)
                    .build()
                    .unwrap()
            })
            .collect();
        let sizes = run_to_end(&ranks, states[0], &mut seen);
        check_exactly_once(&seen, &case, 1);
        assert!(within_one(&sizes), "{sizes:?}");
    }
}

#[test]
fn impossible_states_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[10], Compression::None);
    let case = Case {
        counts: vec![10],
        seed: None,
        batch: 1,
        drop_remainder: false,
        drop_last: false,
    };
    let ds = case.builder(&paths, 0, 2).build().unwrap();
    let state = |position, world, start| IterState {
        epoch: 0,
        position,
        split: Some(Split {
            world,
            mode: ShardMode::Strided,
            start,
        }),
    };
    // 3 ranks had at most 4 records each; the split cannot start past the end.
    assert!(ds.batches(state(5, 3, 0)).is_err());
    assert!(ds.batches(state(0, 3, 11)).is_err());
    // At the very end: nothing left, and then the next epoch.
    let mut it = ds.batches(state(4, 3, 0)).unwrap();
    assert!(it.next().is_none());
    assert_eq!(it.state().epoch, 1);
    assert_eq!(ds.part_len(state(0, 3, 10)).unwrap(), 0);
}

#[test]
fn example_batches_resume_on_another_world_too() {
    let dir = tempfile::tempdir().unwrap();
    let counts = [13u64, 9];
    let paths = write_examples(dir.path(), &counts);
    let spec =
        ParseSpec::new()
            .fixed("file", DType::I64, &[], None)
            .fixed("index", DType::I64, &[], None);
    let on = |rank, world| {
        Dataset::builder()
            .files(&paths)
            .shuffle(9)
            .batch(3)
            .threads(1)
            .shard(rank, world)
            .shard_mode(ShardMode::Strided)
            .build()
            .unwrap()
    };
    for (world, world2, steps) in [(2, 3, 1), (3, 2, 2), (1, 4, 3), (4, 1, 1), (3, 5, 0)] {
        let mut seen = every_record(&counts);
        let mut take = |batch: tfrec::pipeline::ExampleBatch| -> u64 {
            let files = batch
                .get("file")
                .unwrap()
                .values::<i64>()
                .unwrap()
                .into_owned();
            let indices = batch
                .get("index")
                .unwrap()
                .values::<i64>()
                .unwrap()
                .into_owned();
            for (k, id) in batch.ids().iter().enumerate() {
                assert_eq!((files[k], indices[k]), (id.file as i64, id.index as i64));
                *seen.get_mut(id).unwrap() += 1;
            }
            batch.len() as u64
        };
        let mut saved = Vec::new();
        for r in 0..world {
            let mut it = on(r, world)
                .example_batches(&spec, IterState::default())
                .unwrap();
            for b in it.by_ref().take(steps) {
                take(b.unwrap());
            }
            saved.push(it.state());
        }
        let mut sizes = Vec::new();
        for r in 0..world2 {
            let n: u64 = on(r, world2)
                .example_batches(&spec, saved[r % world])
                .unwrap()
                .map(|b| take(b.unwrap()))
                .sum();
            sizes.push(n);
        }
        assert!(
            seen.values().all(|&n| n == 1),
            "{world} -> {world2}: {seen:?}"
        );
        assert!(within_one(&sizes), "{sizes:?}");
    }
}

#[test]
fn unshuffled_compressed_files_resume_on_another_world_shuffled_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let counts = [11u64, 6, 9];
    let paths = write_files(dir.path(), &counts, Compression::Gzip);
    for seed in [None, Some(4)] {
        let case = Case {
            counts: counts.to_vec(),
            seed,
            batch: 2,
            drop_remainder: false,
            drop_last: false,
        };
        let mut seen = every_record(&counts);
        let before = case.ranks(&paths, 3);
        assert!(!before[0].is_random_access());
        let states = run_steps(&before, IterState::default(), 2, &mut seen);
        let after = case.ranks(&paths, 2);
        match seed {
            None => {
                let sizes = run_to_end(&after, states[1], &mut seen);
                check_exactly_once(&seen, &case, 1);
                assert!(within_one(&sizes), "{sizes:?}");
            }
            Some(_) => {
                let err = after[0].batches(states[1]).err().unwrap();
                assert!(err.to_string().contains("shuffle buffer"), "{err}");
                // On the same split it resumes as ever.
                run_to_end(&before, states[1], &mut seen);
                check_exactly_once(&seen, &case, 1);
            }
        }
    }
}

#[test]
fn samples_resume_on_another_world_as_batches_do() {
    let dir = tempfile::tempdir().unwrap();
    let counts = [19u64, 8];
    let paths = write_files(dir.path(), &counts, Compression::None);
    let case = Case {
        counts: counts.to_vec(),
        seed: Some(3),
        batch: 2,
        drop_remainder: false,
        drop_last: false,
    };
    let mut seen = every_record(&counts);
    let states = run_steps(
        &case.ranks(&paths, 4),
        IterState::epoch_start(0),
        2,
        &mut seen,
    );
    for ds in case.ranks(&paths, 3) {
        let from_batches: Vec<RecordId> = ds
            .batches(states[3])
            .unwrap()
            .flat_map(|b| b.unwrap().ids().to_vec())
            .collect();
        let mut samples = ds.samples(states[3]).unwrap();
        let mut from_samples = Vec::new();
        for s in samples.by_ref().take(2) {
            from_samples.push(s.unwrap().id);
        }
        // Saved among the samples, the state resumes there.
        let state = samples.state();
        assert_eq!(state.split.map(|s| s.start), Some(16));
        from_samples.extend(ds.samples(state).unwrap().map(|s| s.unwrap().id));
        assert_eq!(from_samples, from_batches);
        for id in from_batches {
            *seen.get_mut(&id).unwrap() += 1;
        }
    }
    assert!(seen.values().all(|&n| n == 1), "{seen:?}");
}
