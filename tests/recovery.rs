//! Corruption policies: skip mode steps over damage and returns every other
//! record intact, through every reader; the limit and the callback; `verify`
//! reports every problem; memory-mapped and plain reads agree exactly.

mod common;

use std::fs;
use std::io::{Cursor, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::*;
use flate2::write::GzEncoder;
use tfrec::read::{CorruptionPolicy, Skipped};
use tfrec::{ErrorKind, ReadOptions, Reader, SliceReader, Tensor, Writer};

fn skip() -> ReadOptions {
    ReadOptions::default().corruption(CorruptionPolicy::Skip)
}

/// What one read of a file gave: (index, offset, payload) of each record,
/// each skip as (offset, len, index, kind), and the error that ended it.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    records: Vec<(u64, u64, Vec<u8>)>,
    skips: Vec<(u64, u64, Option<u64>, &'static str)>,
    error: Option<(Option<u64>, Option<u64>, &'static str)>,
}

type Log = Arc<Mutex<Vec<(u64, u64, Option<u64>, &'static str)>>>;

fn logger(log: &Log) -> impl FnMut(&Skipped) + Send + 'static {
    let log = log.clone();
    move |s: &Skipped| {
        log.lock()
            .unwrap()
            .push((s.offset, s.len, s.error.record_index(), s.reason().name()))
    }
}

fn drain(reader: &mut Reader, log: &Log) -> Outcome {
    drain_records(reader.records(), log)
}

fn drain_records<'a>(
    records: impl Iterator<Item = tfrec::Result<tfrec::Record<'a>>>,
    log: &Log,
) -> Outcome {
    let mut kept = Vec::new();
    let mut error = None;
    for r in records {
        match r {
            Ok(r) => kept.push((r.index, r.offset, r.payload.into_owned())),
            Err(e) => {
                error = Some((e.offset(), e.record_index(), e.kind().name()));
                break;
            }
        }
    }
    let skips = log.lock().unwrap().clone();
    Outcome {
        records: kept,
        skips,
        error,
    }
}

/// Reads `bytes` through every reader with `options`: a slice, a mapped
/// file, a file with plain reads, a stream, and the same bytes gzipped.
/// Asserts they all agree and returns the outcome.
fn read_every_way(dir: &Path, bytes: &[u8], options: ReadOptions) -> Outcome {
    let path = dir.join("f.tfrecord");
    fs::write(&path, bytes).unwrap();
    let mut outcomes = Vec::new();

    let log = Log::default();
    let slice = SliceReader::with_options(bytes, &options).on_skip(logger(&log));
    outcomes.push(("slice", drain_records(slice, &log)));

    for (what, opts) in [("mmap", options), ("plain reads", options.mmap(false))] {
        let log = Log::default();
        let mut reader = Reader::open_with(&path, opts)
            .unwrap()
            .on_skip(logger(&log));
        outcomes.push((what, drain(&mut reader, &log)));
    }
    let log = Log::default();
    let mut reader = Reader::from_read_with(Cursor::new(bytes.to_vec()), options)
        .unwrap()
        .on_skip(logger(&log));
    outcomes.push(("stream", drain(&mut reader, &log)));

    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    let gz = gz.finish().unwrap();
    let log = Log::default();
    let mut reader = Reader::from_read_with(Cursor::new(gz), options)
        .unwrap()
        .on_skip(logger(&log));
    outcomes.push(("gzip", drain(&mut reader, &log)));

    let (_, first) = outcomes.remove(0);
    for (what, other) in outcomes {
        assert_eq!(other, first, "{what} disagrees with the slice reader");
    }
    first
}

fn payloads(tensors: &[Tensor]) -> Vec<Vec<u8>> {
    tensors.iter().map(|t| t.to_proto_bytes()).collect()
}

/// The records of the clean file except `lost`, with their own indices and
/// offsets.
fn all_but(tensors: &[Tensor], offsets: &[u64], lost: &[usize]) -> Vec<(u64, u64, Vec<u8>)> {
    payloads(tensors)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !lost.contains(i))
        .map(|(i, p)| (i as u64, offsets[i], p))
        .collect()
}

#[test]
fn skip_returns_every_other_record_after_any_single_bit_flip() {
    let (tensors, clean, offsets) = mixed_file();
    let dir = tempfile::tempdir().unwrap();
    for at in 0..clean.len() {
        for bit in [0u8, 3, 7] {
            let mut bytes = clean.clone();
            bytes[at] ^= 1 << bit;
            let k = offsets.iter().rposition(|&o| o <= at as u64).unwrap();
            let got = read_every_way(dir.path(), &bytes, skip());
            let what = format!("byte {at} bit {bit} (record {k})");
            assert_eq!(got.records, all_but(&tensors, &offsets, &[k]), "{what}");
            let kind = got.skips.first().map(|s| s.3).unwrap_or("none");
            let frame_len = offsets[k + 1] - offsets[k];
            assert_eq!(
                got.skips,
                [(offsets[k], frame_len, Some(k as u64), kind)],
                "{what}"
            );
            assert!(
                ["corrupt_length", "corrupt_data"].contains(&kind),
                "{what}: {kind}"
            );
            assert_eq!(got.error, None, "{what}");
        }
    }
}

#[test]
fn strict_stops_at_the_damage_with_its_position() {
    let (tensors, clean, offsets) = mixed_file();
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = clean.clone();
    bytes[offsets[2] as usize + 14] ^= 0x20;
    let got = read_every_way(dir.path(), &bytes, ReadOptions::default());
    assert_eq!(got.records, all_but(&tensors, &offsets, &[2, 3, 4, 5]));
    assert_eq!(got.error, Some((Some(offsets[2]), Some(2), "corrupt_data")));
    assert!(got.skips.is_empty());
}

#[test]
fn a_corrupted_length_field_is_resynced_past() {
    let (tensors, clean, offsets) = mixed_file();
    let dir = tempfile::tempdir().unwrap();
    // Damage the length of record 1 and the payload of record 3.
    let mut bytes = clean.clone();
    bytes[offsets[1] as usize + 2] ^= 0xff;
    bytes[offsets[3] as usize + 13] ^= 0x01;
    let got = read_every_way(dir.path(), &bytes, skip());
    assert_eq!(got.records, all_but(&tensors, &offsets, &[1, 3]));
    assert_eq!(
        got.skips,
        [
            (
                offsets[1],
                offsets[2] - offsets[1],
                Some(1),
                "corrupt_length"
            ),
            (offsets[3], offsets[4] - offsets[3], Some(3), "corrupt_data"),
        ]
    );
}

#[test]
fn garbage_between_records_is_one_skipped_stretch() {
    let (tensors, clean, offsets) = mixed_file();
    let dir = tempfile::tempdir().unwrap();
    let garbage = pseudo_random_bytes(1000, 7);
    let cut = offsets[2] as usize;
    let bytes = [&clean[..cut], &garbage, &clean[cut..]].concat();
    let got = read_every_way(dir.path(), &bytes, skip());
    let p = payloads(&tensors);
    // The stretch counts as one record: the records after it are numbered
    // one higher than in the clean file.
    let mut expected: Vec<(u64, u64, Vec<u8>)> = (0..2)
        .map(|i| (i, offsets[i as usize], p[i as usize].clone()))
        .collect();
    for i in 2..p.len() {
        expected.push((i as u64 + 1, offsets[i] + 1000, p[i].clone()));
    }
    assert_eq!(got.records, expected);
    assert_eq!(got.skips.len(), 1);
    assert_eq!(got.skips[0].0, cut as u64);
    assert_eq!(got.skips[0].1, 1000);
}

#[test]
fn a_truncated_tail_is_its_own_kind_and_skip_ends_cleanly() {
    let (tensors, clean, offsets) = mixed_file();
    let dir = tempfile::tempdir().unwrap();
    let last = offsets[offsets.len() - 2] as usize;
    for cut in [last + 1, last + 11, last + 12, last + 20, clean.len() - 1] {
        let bytes = &clean[..cut];
        let strict = read_every_way(dir.path(), bytes, ReadOptions::default());
        assert_eq!(
            strict.error,
            Some((Some(last as u64), Some(5), "truncated_record")),
            "cut {cut}"
        );
        let skipped = read_every_way(dir.path(), bytes, skip());
        assert_eq!(
            skipped.records,
            all_but(&tensors, &offsets, &[5]),
            "cut {cut}"
        );
        assert_eq!(
            skipped.skips,
            [(
                last as u64,
                (cut - last) as u64,
                Some(5),
                "truncated_record"
            )],
            "cut {cut}"
        );
        assert_eq!(skipped.error, None);
    }
}

#[test]
fn the_limit_on_skipped_records_turns_into_an_error() {
    let (tensors, clean, offsets) = mixed_file();
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = clean.clone();
    for k in [1, 3, 4] {
        bytes[offsets[k] as usize + 13] ^= 0x08;
    }
    let got = read_every_way(dir.path(), &bytes, skip().max_skipped(2));
    assert_eq!(got.records, all_but(&tensors, &offsets, &[1, 3, 4, 5]));
    assert_eq!(got.skips.len(), 2);
    assert_eq!(
        got.error,
        Some((Some(offsets[4]), Some(4), "too_many_skipped"))
    );

    let path = dir.path().join("f.tfrecord");
    let mut reader = Reader::open_with(&path, skip().max_skipped(2)).unwrap();
    let err = reader.records().find_map(Result::err).unwrap();
    match err.kind() {
        ErrorKind::TooManySkipped { limit, last } => {
            assert_eq!(*limit, 2);
            assert_eq!(last.name(), "corrupt_data");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.path(), Some(path.as_path()));
    assert_eq!(reader.skipped().records, 3);

    let enough = read_every_way(dir.path(), &bytes, skip().max_skipped(3));
    assert_eq!(enough.records, all_but(&tensors, &offsets, &[1, 3, 4]));
    assert_eq!(enough.error, None);
}

#[test]
fn the_callback_learns_file_offset_size_and_reason() {
    let (_, clean, offsets) = mixed_file();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.tfrecord");
    let mut bytes = clean.clone();
    bytes[offsets[2] as usize + 9] ^= 0x01; // the length CRC itself
    fs::write(&path, &bytes).unwrap();
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = seen.clone();
    let mut reader = Reader::open_with(&path, skip())
        .unwrap()
        .on_skip(move |s| sink.lock().unwrap().push(s.to_string()));
    let n = reader.records().filter(Result::is_ok).count();
    assert_eq!(n, 5);
    let counts = reader.skipped();
    assert_eq!(counts.records, 1);
    assert_eq!(counts.bytes, offsets[3] - offsets[2]);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let line = &seen[0];
    assert!(
        line.starts_with(&format!("{}: skipped ", path.display())),
        "{line}"
    );
    assert!(
        line.contains(&format!("at offset {} (record 2)", offsets[2])),
        "{line}"
    );
    assert!(line.contains("corrupt length"), "{line}");
}

#[test]
fn count_in_skip_mode_counts_what_records_yields() {
    let (_, clean, offsets) = mixed_file();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.tfrecord");
    let mut bytes = clean.clone();
    bytes[offsets[1] as usize + 15] ^= 0x01;
    bytes[offsets[4] as usize + 1] ^= 0x01;
    fs::write(&path, &bytes).unwrap();
    for options in [skip(), skip().mmap(false)] {
        let counted = Reader::open_with(&path, options).unwrap().count().unwrap();
        let mut reader = Reader::open_with(&path, options).unwrap();
        let listed = reader.records().filter(Result::is_ok).count() as u64;
        assert_eq!(counted, 4);
        assert_eq!(listed, 4);
    }
    let strict = Reader::open(&path).unwrap().count();
    assert!(strict.is_err(), "the length flip stops a strict count");
}

#[test]
fn verify_reports_every_problem_in_both_read_modes() {
    let (_, clean, offsets) = mixed_file();
    let dir = tempfile::tempdir().unwrap();
    // A bad length (record 1), a bad payload CRC (record 3), a record that
    // is no tensor, and a truncated tail.
    let mut bytes = clean.clone();
    bytes[offsets[1] as usize + 4] ^= 0x02;
    bytes[offsets[3] as usize + 12] ^= 0x80;
    let mut w = Writer::new(Vec::new());
    w.write_record(b"\xff\xff not a tensor").unwrap();
    bytes.extend_from_slice(&w.finish().unwrap());
    let no_tensor = clean.len() as u64;
    bytes.extend_from_slice(&clean[..10]);
    let path = dir.path().join("v.tfrecord");
    fs::write(&path, &bytes).unwrap();

    let expected = vec![
        (Some(offsets[1]), Some(1), "corrupt_length"),
        (Some(offsets[3]), Some(3), "corrupt_data"),
        (Some(no_tensor), Some(6), "invalid_tensor"),
        (Some(no_tensor + 15 + 16), Some(7), "truncated_record"),
    ];
    let summary = |r: &tfrec::verify::Report| -> Vec<_> {
        r.problems
            .iter()
            .map(|e| (e.offset(), e.record_index(), e.kind().name()))
            .collect()
    };
    let mut reports = Vec::new();
    for options in [ReadOptions::default(), ReadOptions::default().mmap(false)] {
        reports.push(tfrec::verify::verify_file(&path, options, &|_| {}).unwrap());
    }
    let mut reader = Reader::open(&path).unwrap();
    reports.push(tfrec::verify::verify_reader(&mut reader, &|_| {}));
    reports.push(tfrec::verify::verify_bytes(&bytes, &|_| {}));
    for r in &reports {
        assert_eq!(summary(r), expected);
        assert_eq!(
            r.records, 6,
            "frames read whole: 0, 2, 3, 4, 5 and the non-tensor"
        );
    }
    for r in &reports[..3] {
        assert!(r.problems.iter().all(|e| e.path() == Some(path.as_path())));
    }
}

/// Every variant of damage: the library gives the same records, errors and
/// skips with and without memory-mapping, in both policies.
#[test]
fn mapped_and_plain_reads_give_identical_results() {
    let (_, clean, offsets) = mixed_file();
    let dir = tempfile::tempdir().unwrap();
    let mut variants: Vec<Vec<u8>> = vec![clean.clone(), Vec::new(), clean[..7].to_vec()];
    for at in (0..clean.len()).step_by(5) {
        let mut v = clean.clone();
        v[at] ^= 0x10;
        variants.push(v);
    }
    for cut in (0..clean.len()).step_by(9) {
        variants.push(clean[..cut].to_vec());
    }
    let mut spliced = clean[..offsets[3] as usize + 5].to_vec();
    spliced.extend_from_slice(&clean[offsets[1] as usize..]);
    variants.push(spliced);
    for (n, bytes) in variants.iter().enumerate() {
        let path = dir.path().join(format!("v{n}.tfrecord"));
        fs::write(&path, bytes).unwrap();
        for policy in [ReadOptions::default(), skip()] {
            let mut got = Vec::new();
            for mmap in [true, false] {
                let log = Log::default();
                let mut reader = Reader::open_with(&path, policy.mmap(mmap))
                    .unwrap()
                    .on_skip(logger(&log));
                let outcome = drain(&mut reader, &log);
                let count = Reader::open_with(&path, policy.mmap(mmap))
                    .unwrap()
                    .count()
                    .map_err(|e| e.kind().name());
                let verified = tfrec::verify::verify_file(&path, policy.mmap(mmap), &|_| {})
                    .map(|r| {
                        let p: Vec<_> = r
                            .problems
                            .iter()
                            .map(|e| (e.offset(), e.record_index(), e.kind().name()))
                            .collect();
                        (r.records, r.bytes, p)
                    })
                    .map_err(|e| e.to_string());
                got.push((outcome, count, verified));
            }
            assert_eq!(got[0], got[1], "variant {n}");
        }
    }
}

#[test]
fn a_gzip_file_cut_anywhere_is_a_truncated_record() {
    let (tensors, clean, _) = mixed_file();
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&clean).unwrap();
    let gz = gz.finish().unwrap();
    let all = payloads(&tensors);
    for cut in 0..gz.len() {
        let bytes = gz[..cut].to_vec();
        for options in [ReadOptions::default(), skip()] {
            let log = Log::default();
            let mut reader = Reader::from_read_with(Cursor::new(bytes.clone()), options)
                .unwrap()
                .on_skip(logger(&log));
            let gzip = reader.compression() == tfrec::Compression::Gzip;
            let got = drain(&mut reader, &log);
            let what = format!("cut {cut} of {}", gz.len());
            // Never a wrong record: what comes out is a prefix of the file.
            for (i, (index, _, payload)) in got.records.iter().enumerate() {
                assert_eq!(*index, i as u64, "{what}");
                assert_eq!(payload, &all[i], "{what}");
            }
            if !gzip {
                continue; // too short to be recognised: read as a plain file
            }
            let kinds: Vec<&str> = got
                .error
                .iter()
                .map(|e| e.2)
                .chain(got.skips.iter().map(|s| s.3))
                .collect();
            assert_eq!(kinds, ["truncated_record"], "{what}");
        }
    }
}

/// Skip mode always ends, and whatever it returns is a sound frame, in
/// increasing offset and index order, on random and mutated input.
#[test]
fn skip_mode_terminates_and_returns_only_sound_frames() {
    let (_, clean, _) = mixed_file();
    let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
    let mut next = move || rng.next();
    for case in 0..400 {
        let mut bytes = if case % 4 == 0 {
            pseudo_random_bytes((next() % 600) as usize, next())
        } else {
            clean.repeat(1 + (next() % 3) as usize)
        };
        for _ in 0..(next() % 6) {
            if bytes.is_empty() {
                break;
            }
            let at = (next() % bytes.len() as u64) as usize;
            match next() % 4 {
                0 => bytes[at] ^= 1 << (next() % 8),
                1 => bytes[at] = next() as u8,
                2 => bytes.truncate(at),
                _ => bytes.insert(at, next() as u8),
            }
        }
        let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes).unwrap();
        let gz = gz.finish().unwrap();
        for input in [bytes.clone(), gz] {
            let mut reader = Reader::from_read_with(Cursor::new(input), skip()).unwrap();
            let mut last: Option<(u64, u64)> = None;
            for r in reader.records() {
                let r = r.unwrap_or_else(|e| panic!("case {case}: skip mode failed: {e}"));
                if let Some((offset, index)) = last {
                    assert!(r.offset > offset && r.index > index, "case {case}");
                }
                last = Some((r.offset, r.index));
            }
            let counts = reader.skipped();
            assert!(counts.bytes <= bytes.len() as u64 + 16, "case {case}");
        }
        let sliced: Vec<u64> = SliceReader::with_options(&bytes, &skip())
            .map(|r| r.unwrap().offset)
            .collect();
        let streamed: Vec<u64> = Reader::from_read_with(Cursor::new(bytes.clone()), skip())
            .unwrap()
            .records()
            .map(|r| r.unwrap().offset)
            .collect();
        assert_eq!(sliced, streamed, "case {case}");
    }
}
