//! Datasets that skip damaged records (`corruption(CorruptionPolicy::Skip)`):
//! damaged headers found while indexing, damaged payloads found when read,
//! the reports, the limit, batch sizes, and exact resumption around them.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::write_part_files;
use tfrec::example::{Example, ParseSpec};
use tfrec::pipeline::{Dataset, DatasetBuilder, IterState, RecordId};
use tfrec::read::CorruptionPolicy;
use tfrec::{Compression, DType, ErrorKind, Tensor, Writer};

/// Record `index` of file `file` holds `[file, index]` (and some bulk).
fn record(file: usize, index: u64) -> Tensor {
    let mut values = vec![file as u32, index as u32];
    values.extend(std::iter::repeat_n(7u32, 30));
    Tensor::from_slice(&values, &[32]).unwrap()
}

fn write_files(dir: &Path, counts: &[u64]) -> Vec<PathBuf> {
    write_part_files(dir, counts, Compression::None, record)
}

/// Byte offset of record `i`'s frame (all frames of a file are the same size).
fn frame_offset(path: &Path, records: u64, i: u64) -> u64 {
    let len = std::fs::metadata(path).unwrap().len();
    len / records * i
}

fn flip(path: &Path, at: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at as usize] ^= 0x20;
    std::fs::write(path, bytes).unwrap();
}

/// Damages record `i`'s payload (its CRC no longer matches).
fn damage_payload(path: &Path, records: u64, i: u64) -> u64 {
    let at = frame_offset(path, records, i);
    flip(path, at + 12 + 40);
    at
}

/// Damages record `i`'s length field (its header no longer checks out).
fn damage_header(path: &Path, records: u64, i: u64) -> u64 {
    let at = frame_offset(path, records, i);
    flip(path, at + 1);
    at
}

type Log = Arc<Mutex<Vec<(PathBuf, u64, Option<u64>, String)>>>;

fn skipping(paths: &[PathBuf], log: &Log) -> DatasetBuilder {
    let log = log.clone();
    Dataset::builder()
        .files(paths)
        .corruption(CorruptionPolicy::Skip)
        .on_skip(move |s| {
            log.lock().unwrap().push((
                s.path().unwrap().to_path_buf(),
                s.offset,
                s.error.record_index(),
                s.reason().name().to_string(),
            ))
        })
        .threads(2)
}

/// Every record id an iteration yields, with the batch sizes.
fn drain(ds: &Dataset, state: IterState) -> (Vec<RecordId>, Vec<usize>) {
    let mut ids = Vec::new();
    let mut sizes = Vec::new();
    for batch in ds.batches(state).unwrap() {
        let batch = batch.unwrap();
        sizes.push(batch.len());
        for (k, id) in batch.ids().iter().enumerate() {
            let values = batch.get(k).unwrap().to_vec::<u32>().unwrap();
            assert_eq!(&values[..2], &[id.file as u32, id.index as u32]);
        }
        ids.extend_from_slice(batch.ids());
    }
    (ids, sizes)
}

#[test]
fn a_damaged_payload_is_dropped_from_its_batch_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[10, 10, 10]);
    let offset = damage_payload(&paths[1], 10, 4);

    // Strict (the default): the epoch fails naming the record.
    let strict = Dataset::builder().files(&paths).batch(4).build().unwrap();
    let err = strict
        .epoch(0)
        .unwrap()
        .find_map(Result::err)
        .expect("a damaged record fails a strict epoch");
    assert!(matches!(err.kind(), ErrorKind::CorruptData { .. }), "{err}");
    assert_eq!((err.offset(), err.record_index()), (Some(offset), Some(4)));

    for prefetch in [0, 2] {
        let log: Log = Arc::default();
        let ds = skipping(&paths, &log)
            .batch(4)
            .prefetch(prefetch)
            .build()
            .unwrap();
        // Found only when read: the record is still in the order.
        assert_eq!(ds.len(), 30);
        let (ids, sizes) = drain(&ds, IterState::default());
        let expected: Vec<RecordId> = ds
            .order(0)
            .into_iter()
            .filter(|id| *id != RecordId { file: 1, index: 4 })
            .collect();
        assert_eq!(ids, expected);
        // Records 12..16 of the order make the fourth batch, one short.
        assert_eq!(sizes, [4, 4, 4, 3, 4, 4, 4, 2]);
        assert_eq!(
            *log.lock().unwrap(),
            [(
                paths[1].clone(),
                offset,
                Some(4),
                "corrupt_data".to_string()
            )]
        );
    }
}

#[test]
fn resuming_around_a_dropped_record_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[9, 8]);
    damage_payload(&paths[0], 9, 2);
    damage_payload(&paths[1], 8, 7);
    let log: Log = Arc::default();
    let ds = skipping(&paths, &log).shuffle(5).batch(3).build().unwrap();
    let (all, _) = drain(&ds, IterState::epoch_start(1));
    assert_eq!(all.len(), 15);

    // Stop after every number of batches and resume from the saved state.
    for stop in 0..6 {
        let mut batches = ds.batches(IterState::epoch_start(1)).unwrap();
        let mut ids = Vec::new();
        for batch in batches.by_ref().take(stop) {
            ids.extend_from_slice(batch.unwrap().ids());
        }
        let saved = IterState::from_json(&batches.state().to_json()).unwrap();
        drop(batches);
        let (rest, _) = drain(&ds, saved);
        ids.extend(rest);
        assert_eq!(ids, all, "stopped after {stop} batches");
    }
}

#[test]
fn a_batch_of_only_damaged_records_is_not_yielded() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[6]);
    damage_payload(&paths[0], 6, 2);
    damage_payload(&paths[0], 6, 3);
    let log: Log = Arc::default();
    let ds = skipping(&paths, &log).batch(2).build().unwrap();
    let mut batches = ds.epoch(0).unwrap();
    let first = batches.next().unwrap().unwrap();
    assert_eq!(first.len(), 2);
    drop(first);
    let next = batches.next().unwrap().unwrap();
    assert_eq!(
        next.ids(),
        [
            RecordId { file: 0, index: 4 },
            RecordId { file: 0, index: 5 }
        ]
    );
    drop(next);
    assert!(batches.next().is_none());
    let state = batches.state();
    assert_eq!((state.epoch, state.position), (1, 0));
    assert_eq!(log.lock().unwrap().len(), 2);
}

#[test]
fn a_damaged_header_is_indexed_past() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[5, 8, 5]);
    let offset = damage_header(&paths[1], 8, 3);

    let err = match Dataset::builder().files(&paths).build() {
        Err(e) => e,
        Ok(_) => panic!("a damaged header fails a strict dataset"),
    };
    assert!(err.kind().is_damage(), "{err}");

    for mmap in [true, false] {
        let log: Log = Arc::default();
        let ds = skipping(&paths, &log).mmap(mmap).batch(4).build().unwrap();
        // Reported once, while indexing; left out of the dataset.
        assert_eq!(
            *log.lock().unwrap(),
            [(
                paths[1].clone(),
                offset,
                Some(3),
                "corrupt_length".to_string()
            )]
        );
        assert_eq!(ds.len(), 17);
        let (ids, sizes) = drain(&ds, IterState::default());
        assert_eq!(sizes, [4, 4, 4, 4, 1]);
        let seen: BTreeSet<RecordId> = ids.into_iter().collect();
        let expected: BTreeSet<RecordId> = [(0, 5), (1, 8), (2, 5)]
            .into_iter()
            .flat_map(|(f, n)| (0..n).map(move |index| RecordId { file: f, index }))
            .filter(|id| *id != RecordId { file: 1, index: 3 })
            .collect();
        assert_eq!(seen, expected);
        // Later records keep their indices (checked against their contents
        // in `drain`).
        assert_eq!(log.lock().unwrap().len(), 1);
    }
}

#[test]
fn a_file_cut_short_keeps_its_whole_records() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[6]);
    let len = std::fs::metadata(&paths[0]).unwrap().len();
    // Half of a seventh frame.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&paths[0])
        .unwrap();
    let mut extra = Writer::new(Vec::new());
    extra.write_tensor(&record(0, 6)).unwrap();
    let extra = extra.finish().unwrap();
    f.write_all(&extra[..extra.len() / 2]).unwrap();
    drop(f);
    let log: Log = Arc::default();
    let ds = skipping(&paths, &log).batch(4).build().unwrap();
    assert_eq!(ds.len(), 6);
    let (ids, _) = drain(&ds, IterState::default());
    assert_eq!(ids.len(), 6);
    let log = log.lock().unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].1, log[0].3.as_str()), (len, "truncated_record"));
}

#[test]
fn more_damage_than_allowed_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let paths = write_files(dir.path(), &[10, 10]);
    damage_payload(&paths[0], 10, 1);
    damage_payload(&paths[1], 10, 8);
    let log: Log = Arc::default();
    let ds = skipping(&paths, &log)
        .batch(4)
        .max_skipped(1)
        .build()
        .unwrap();
    let mut yielded = 0;
    let mut error = None;
    for batch in ds.epoch(0).unwrap() {
        match batch {
            Ok(b) => yielded += b.len(),
            Err(e) => error = Some(e),
        }
    }
    let error = error.expect("the second damaged record is one too many");
    assert!(
        matches!(error.kind(), ErrorKind::TooManySkipped { limit: 1, .. }),
        "{error}"
    );
    assert_eq!(error.path(), Some(paths[1].as_path()));
    assert_eq!(yielded, 15);
    // A limit the damage fits in: the epoch completes, every pass.
    let ds = skipping(&paths, &log)
        .batch(4)
        .max_skipped(2)
        .build()
        .unwrap();
    for epoch in 0..2 {
        let (ids, _) = drain(&ds, IterState::epoch_start(epoch));
        assert_eq!(ids.len(), 18);
    }

    // Damage found while indexing counts too.
    damage_header(&paths[0], 10, 5);
    let built = skipping(&paths, &log).max_skipped(0).build();
    assert!(matches!(
        built.err().map(|e| e.kind().clone()),
        Some(ErrorKind::TooManySkipped { limit: 0, .. })
    ));
}

#[test]
fn example_batches_skip_damaged_records_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ex.tfrecord");
    let mut w = Writer::create(&path).unwrap();
    for i in 0..8i64 {
        w.write_example(
            &Example::default()
                .int64("label", [i])
                .float("x", [i as f32; 6]),
        )
        .unwrap();
    }
    w.finish().unwrap();
    damage_payload(&path, 8, 5);
    let spec = ParseSpec::new()
        .fixed("label", DType::I64, &[], None)
        .fixed("x", DType::F32, &[6], None);
    let log: Log = Arc::default();
    let ds = skipping(std::slice::from_ref(&path), &log)
        .batch(3)
        .build()
        .unwrap();
    let mut labels = Vec::new();
    for batch in ds.example_batches(&spec, IterState::default()).unwrap() {
        let batch = batch.unwrap();
        labels.extend_from_slice(&batch.get("label").unwrap().values::<i64>().unwrap());
    }
    assert_eq!(labels, [0, 1, 2, 3, 4, 6, 7]);
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[test]
fn compressed_files_skip_damaged_records_while_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let raw = write_files(dir.path(), &[7]);
    damage_payload(&raw[0], 7, 2);
    let path = dir.path().join("part.tfrecord.gz");
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(&std::fs::read(&raw[0]).unwrap()).unwrap();
    gz.finish().unwrap();

    let log: Log = Arc::default();
    let ds = skipping(std::slice::from_ref(&path), &log)
        .batch(4)
        .build()
        .unwrap();
    assert!(!ds.is_random_access());
    assert_eq!(ds.len(), 6);
    let building = log.lock().unwrap().len();
    let (ids, _) = drain(&ds, IterState::default());
    let indices: Vec<u64> = ids.iter().map(|id| id.index).collect();
    assert_eq!(indices, [0, 1, 3, 4, 5, 6]);
    assert_eq!(log.lock().unwrap().len(), building + 1);
}
