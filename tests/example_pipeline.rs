//! `Dataset::example_batches`: the same records, order, shards, batches and
//! resumption as the tensor batches, each batch parsed by a `ParseSpec`;
//! compressed files; reads through maps and positioned reads; errors that
//! name the file, record and offset.

use std::path::{Path, PathBuf};

use tfrec::example::{DefaultValue, Example, ExampleView, ParseSpec};
use tfrec::index::IndexedFile;
use tfrec::pipeline::{
    Dataset, DatasetBuilder, ExampleBatch, IterState, RecordId, ShardMode, Split,
};
use tfrec::{Compression, DType, ErrorKind, Tensor, Writer};

/// Record `index` of file `file`: it names itself in `file`/`index`, and
/// carries a fixed float feature, a string, variable-length tokens (some
/// records have none, or no feature at all) and a serialized tensor.
fn record_example(file: usize, index: u64) -> Example {
    let (f, i) = (file as i64, index as i64);
    let mut ex = Example::default()
        .int64("file", [f])
        .int64("index", [i])
        .float("x", [f as f32, i as f32, 0.5])
        .bytes("name", [format!("f{f}-r{i}")])
        .bytes(
            "t",
            [Tensor::from_slice(&[f as u16, i as u16], &[2])
                .unwrap()
                .to_proto_bytes()],
        );
    if i % 4 != 3 {
        ex = ex.int64("tokens", (0..i % 5).map(|k| k * 100 + i));
    }
    ex
}

fn spec() -> ParseSpec {
    ParseSpec::new()
        .fixed("file", DType::I64, &[], None)
        .fixed("index", DType::I64, &[], None)
        .fixed("x", DType::F32, &[3], None)
        .fixed("name", DType::String, &[], None)
        .fixed("weight", DType::F32, &[], Some(DefaultValue::from(1.0f32)))
        .var_len("tokens", DType::I64)
        .tensor("t", DType::U16, &[2])
}

/// Files of Examples with the given record counts, and beside them in
/// `tensors/` files of tensors with the same counts.
fn write_files(
    dir: &Path,
    counts: &[u64],
    compression: Compression,
) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let tensors = dir.join("tensors");
    std::fs::create_dir_all(&tensors).unwrap();
    let mut examples = Vec::new();
    let mut plain = Vec::new();
    for (f, &n) in counts.iter().enumerate() {
        let path = dir.join(format!("ex-{f:02}.tfrecord"));
        let mut w = Writer::create_with(&path, compression).unwrap();
        for i in 0..n {
            w.write_example(&record_example(f, i)).unwrap();
        }
        examples.push(w.finish().unwrap());
        let path = tensors.join(format!("t-{f:02}.tfrecord"));
        let mut w = Writer::create_with(&path, compression).unwrap();
        for i in 0..n {
            w.write_tensor(&Tensor::scalar(i as u32)).unwrap();
        }
        plain.push(w.finish().unwrap());
    }
    (examples, plain)
}

/// Every column of the batch agrees with the records its ids name.
fn check_batch(batch: &ExampleBatch) {
    let n = batch.len();
    let file = batch
        .get("file")
        .unwrap()
        .values::<i64>()
        .unwrap()
        .into_owned();
    let index = batch
        .get("index")
        .unwrap()
        .values::<i64>()
        .unwrap()
        .into_owned();
    let x = batch.get("x").unwrap();
    assert_eq!(x.shape(), [n, 3]);
    let names = batch.get("name").unwrap().strings().unwrap();
    assert_eq!(
        batch.get("weight").unwrap().values::<f32>().unwrap()[..],
        vec![1.0; n][..]
    );
    let tokens = batch.get("tokens").unwrap();
    let t = batch.get("t").unwrap();
    assert_eq!(t.shape(), [n, 2]);
    for (k, id) in batch.ids().iter().enumerate() {
        assert_eq!((file[k] as usize, index[k] as u64), (id.file, id.index));
        let want = record_example(id.file, id.index);
        let want_x: Vec<f32> = vec![id.file as f32, id.index as f32, 0.5];
        assert_eq!(x.get(k).unwrap().to_vec::<f32>().unwrap(), want_x);
        assert_eq!(
            names.get(k).unwrap(),
            format!("f{}-r{}", id.file, id.index).as_bytes()
        );
        let want_tokens: Vec<i64> = want
            .features
            .as_ref()
            .and_then(|f| f.feature.get("tokens"))
            .map(|_| {
                (0..id.index as i64 % 5)
                    .map(|j| j * 100 + id.index as i64)
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            tokens.get(k).unwrap().to_vec::<i64>().unwrap(),
            want_tokens,
            "{id:?}"
        );
        assert_eq!(
            t.get(k).unwrap().to_vec::<u16>().unwrap(),
            [id.file as u16, id.index as u16]
        );
    }
}

fn example_ids(ds: &Dataset, state: IterState) -> Vec<RecordId> {
    ds.example_batches(&spec(), state)
        .unwrap()
        .flat_map(|b| {
            let b = b.unwrap();
            check_batch(&b);
            b.ids().to_vec()
        })
        .collect()
}

fn tensor_ids(ds: &Dataset, epoch: u64) -> Vec<RecordId> {
    ds.epoch(epoch)
        .unwrap()
        .flat_map(|b| b.unwrap().ids().to_vec())
        .collect()
}

fn configs(paths: &[PathBuf]) -> Vec<DatasetBuilder> {
    let base = || Dataset::builder().files(paths).threads(2).shuffle_buffer(6);
    vec![
        base().batch(5),
        base().shuffle(3).batch(4),
        base().shuffle(3).shard(1, 3).batch(7).prefetch(0),
        base()
            .shuffle(9)
            .shard(0, 2)
            .drop_remainder(true)
            .batch(3)
            .drop_last(true),
        base()
            .shuffle(9)
            .shard(2, 3)
            .shard_mode(tfrec::pipeline::ShardMode::Strided)
            .batch(64)
            .prefetch(3),
    ]
}

#[test]
fn example_batches_follow_the_tensor_batches_everywhere() {
    let counts = [23u64, 0, 41, 9];
    for compression in [Compression::None, Compression::Gzip, Compression::Zlib] {
        let dir = tempfile::tempdir().unwrap();
        let (examples, tensors) = write_files(dir.path(), &counts, compression);
        for (ex_cfg, t_cfg) in configs(&examples).into_iter().zip(configs(&tensors)) {
            let ex_ds = ex_cfg.build().unwrap();
            let t_ds = t_cfg.build().unwrap();
            for epoch in 0..2 {
                let got = example_ids(&ex_ds, IterState::epoch_start(epoch));
                assert_eq!(got, tensor_ids(&t_ds, epoch), "{compression:?}");
                assert_eq!(got, ex_ds.order(epoch)[..got.len()]);
            }
        }
    }
}

#[test]
fn batch_sizes_offsets_and_positioned_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (paths, _) = write_files(dir.path(), &[30, 17], Compression::None);
    let files: Vec<IndexedFile> = paths
        .iter()
        .map(|p| IndexedFile::open(p).unwrap())
        .collect();
    let run = |mmap: bool| -> Vec<(Vec<RecordId>, Vec<u64>, Vec<u8>)> {
        let ds = Dataset::builder()
            .files(&paths)
            .shuffle(5)
            .batch(8)
            .mmap(mmap)
            .build()
            .unwrap();
        ds.example_batches(&spec(), IterState::epoch_start(2))
            .unwrap()
            .map(|b| {
                let b = b.unwrap();
                check_batch(&b);
                for (id, &offset) in b.ids().iter().zip(b.offsets()) {
                    let entry = files[id.file].index().get(id.index as usize).unwrap();
                    assert_eq!(offset, entry.offset);
                }
                let names = b.get("name").unwrap().strings().unwrap().data().to_vec();
                (b.ids().to_vec(), b.offsets().to_vec(), names)
            })
            .collect()
    };
    let mapped = run(true);
    assert_eq!(
        mapped.iter().map(|b| b.0.len()).collect::<Vec<_>>(),
        [8, 8, 8, 8, 8, 7]
    );
    assert_eq!(mapped, run(false));
}

#[test]
fn resuming_example_batches_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    for compression in [Compression::None, Compression::Gzip] {
        let sub = dir.path().join(format!("{compression:?}"));
        let (paths, _) = write_files(&sub, &[19, 14], compression);
        for prefetch in [0, 2] {
            let build = || {
                Dataset::builder()
                    .files(&paths)
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
                .flat_map(|e| example_ids(&ds, IterState::epoch_start(e)))
                .collect();
            for stop_after in [0usize, 1, 3, 4] {
                let mut got = Vec::new();
                let mut state = IterState::default();
                let mut first = true;
                while state.epoch < 3 {
                    let ds = build();
                    let mut it = ds.example_batches(&spec(), state).unwrap();
                    let take = if first { stop_after } else { usize::MAX };
                    first = false;
                    for b in it.by_ref().take(take) {
                        got.extend_from_slice(b.unwrap().ids());
                    }
                    let saved = it.state().to_json();
                    drop(it);
                    state = IterState::from_json(&saved).unwrap();
                }
                assert_eq!(
                    got, full,
                    "{compression:?} prefetch {prefetch}, stopped after {stop_after}"
                );
            }
        }
    }
}

#[test]
fn errors_name_the_file_record_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (paths, _) = write_files(dir.path(), &[12, 10], Compression::None);
    // Record 6 of the second file lacks a feature the spec needs.
    let bad_path = &paths[1];
    let mut w = Writer::create(bad_path).unwrap();
    for i in 0..10u64 {
        let mut ex = record_example(1, i);
        if i == 6 {
            ex.features.as_mut().unwrap().feature.remove("x");
        }
        w.write_example(&ex).unwrap();
    }
    w.finish().unwrap();
    let offset = IndexedFile::open(bad_path)
        .unwrap()
        .index()
        .get(6)
        .unwrap()
        .offset;
    for (mmap, prefetch) in [(true, 2), (false, 0)] {
        let ds = Dataset::builder()
            .files(&paths)
            .batch(5)
            .mmap(mmap)
            .prefetch(prefetch)
            .build()
            .unwrap();
        let mut it = ds.example_batches(&spec(), IterState::default()).unwrap();
        let results: Vec<_> = it.by_ref().collect();
        assert_eq!(results.len(), 4); // 12 + 10 records: the fourth batch holds record 6 of file 1
        let err = results.last().unwrap().as_ref().unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::InvalidExample { .. }),
            "{err}"
        );
        assert_eq!(err.path(), Some(bad_path.as_path()));
        assert_eq!((err.record_index(), err.offset()), (Some(6), Some(offset)));
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "record 6 at offset {offset}: invalid example: feature \"x\": missing"
            )),
            "{text}"
        );
        assert_eq!(
            it.state(),
            IterState {
                epoch: 0,
                position: 15,
                split: Some(Split {
                    world: 1,
                    mode: ShardMode::Contiguous,
                    start: 0
                })
            }
        );
        assert!(it.next().is_none());
    }

    // A damaged record: its CRC error, with its position.
    let mut bytes = std::fs::read(&paths[0]).unwrap();
    let entry = IndexedFile::open(&paths[0])
        .unwrap()
        .index()
        .get(9)
        .unwrap();
    bytes[(entry.offset + 20) as usize] ^= 0x01;
    std::fs::write(&paths[0], &bytes).unwrap();
    for mmap in [true, false] {
        let ds = Dataset::builder()
            .file(&paths[0])
            .batch(4)
            .mmap(mmap)
            .build()
            .unwrap();
        let err = ds
            .example_batches(&spec(), IterState::default())
            .unwrap()
            .find_map(Result::err)
            .unwrap();
        assert!(matches!(err.kind(), ErrorKind::CorruptData { .. }), "{err}");
        assert_eq!(
            (err.record_index(), err.offset()),
            (Some(9), Some(entry.offset))
        );
        assert_eq!(err.path(), Some(paths[0].as_path()));
    }
}

#[test]
fn compressed_errors_name_the_record_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.tfrecord.gz");
    let mut w = Writer::create_with(&path, Compression::Gzip).unwrap();
    let mut offsets = Vec::new();
    let mut offset = 0u64;
    for i in 0..9u64 {
        let mut ex = record_example(0, i);
        if i == 7 {
            ex = ex.bytes("x", ["not floats"]);
        }
        let payload = tfrec::example::encode(&ex);
        offsets.push(offset);
        offset += payload.len() as u64 + 16;
        w.write_record(&payload).unwrap();
    }
    w.finish().unwrap();
    let ds = Dataset::builder().file(&path).batch(4).build().unwrap();
    assert!(!ds.is_random_access());
    let err = ds
        .example_batches(&spec(), IterState::default())
        .unwrap()
        .find_map(Result::err)
        .unwrap();
    assert_eq!(
        (err.record_index(), err.offset()),
        (Some(7), Some(offsets[7]))
    );
    assert!(
        err.to_string()
            .contains("holds a bytes_list, the spec wants float32"),
        "{err}"
    );
}

#[test]
fn a_bad_spec_fails_before_iterating() {
    let dir = tempfile::tempdir().unwrap();
    let (paths, _) = write_files(dir.path(), &[3], Compression::None);
    let ds = Dataset::builder().files(&paths).build().unwrap();
    let bad = ParseSpec::new().fixed("x", DType::F32, &[3], Some(DefaultValue::from(1.0f32)));
    let err = ds
        .example_batches(&bad, IterState::default())
        .err()
        .unwrap();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidInput { .. }),
        "{err}"
    );
    let err = ds
        .example_batches(
            &spec(),
            IterState {
                epoch: 0,
                position: 4,
                split: None,
            },
        )
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("cannot resume at position 4"),
        "{err}"
    );
}

#[test]
fn batch_buffers_come_back_to_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let (paths, _) = write_files(dir.path(), &[200], Compression::None);
    let ds = Dataset::builder()
        .files(&paths)
        .batch(10)
        .prefetch(0)
        .build()
        .unwrap();
    let mut it = ds.example_batches(&spec(), IterState::default()).unwrap();
    let first = it.next().unwrap().unwrap();
    let ptr = first.get("x").unwrap().bytes().unwrap().as_ptr();
    drop(first);
    let second = it.next().unwrap().unwrap();
    assert_eq!(second.get("x").unwrap().bytes().unwrap().as_ptr(), ptr);
    check_batch(&second);
    // A batch kept out of the pool keeps its values.
    let parsed = second.into_parsed();
    assert_eq!(parsed.len(), 10);
    let third = it.next().unwrap().unwrap();
    assert_ne!(
        third.get("x").unwrap().bytes().unwrap().as_ptr(),
        parsed.get("x").unwrap().bytes().unwrap().as_ptr()
    );
    assert_eq!(parsed.get("index").unwrap().values::<i64>().unwrap()[0], 10);
}

#[test]
fn example_batches_and_views_agree_on_a_written_file() {
    // The parsed values are what ExampleView reads from the same records.
    let dir = tempfile::tempdir().unwrap();
    let (paths, _) = write_files(dir.path(), &[50], Compression::None);
    let file = IndexedFile::open(&paths[0]).unwrap();
    let ds = Dataset::builder()
        .files(&paths)
        .shuffle(2)
        .batch(16)
        .build()
        .unwrap();
    for b in ds.example_batches(&spec(), IterState::default()).unwrap() {
        let b = b.unwrap();
        let tokens = b.get("tokens").unwrap();
        for (k, id) in b.ids().iter().enumerate() {
            let mut buf = tfrec::index::FrameBuf::new();
            let record = file.record(id.index as usize, &mut buf).unwrap();
            let view = ExampleView::parse(&record.payload).unwrap();
            let want: Vec<i64> = view
                .get("tokens")
                .and_then(|f| f.int64_list())
                .map(|v| v.collect())
                .unwrap_or_default();
            assert_eq!(tokens.get(k).unwrap().to_vec::<i64>().unwrap(), want);
        }
    }
}

#[test]
fn iterators_move_between_threads_and_stop_when_dropped() {
    fn send<T: Send>(_: &T) {}
    let dir = tempfile::tempdir().unwrap();
    let (paths, _) = write_files(dir.path(), &[300, 200], Compression::None);
    let ds = Dataset::builder()
        .files(&paths)
        .shuffle(4)
        .batch(16)
        .prefetch(3)
        .build()
        .unwrap();
    let mut it = ds.example_batches(&spec(), IterState::default()).unwrap();
    send(&it);
    let first = it.next().unwrap().unwrap();
    send(&first);
    let state = it.state();
    // Dropped with batches in the making: they finish first.
    drop(it);
    let handle = std::thread::spawn(move || {
        check_batch(&first);
        first.len()
    });
    assert_eq!(handle.join().unwrap(), 16);
    let rest: Vec<RecordId> = example_ids(&ds, state);
    assert_eq!(rest, ds.order(0)[16..]);
}
