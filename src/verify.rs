//! Whole-file checks: every frame, both CRCs, and that each payload decodes
//! as a valid tensor.
//!
//! Memory-mapped files are checked in two passes: a sequential walk over the
//! frame headers, then the payload CRCs and tensor decoding in parallel on
//! rayon's pool. Streams (compressed files, stdin) are checked in order.

use std::path::Path;

use rayon::prelude::*;

use std::fs::File;

use crate::error::{Error, ErrorKind, Result};
use crate::framing::{self, FrameCheck, FOOTER_LEN, FRAME_OVERHEAD, HEADER_LEN};
use crate::read::recovery::Recovery;
use crate::read::segments::{self, Input, Walk};
use crate::read::slice::{self, Cursor};
use crate::read::{open_plain_file, ReadOptions, Reader};
use crate::tensor::TensorView;

/// What verification found.
#[derive(Debug, Default)]
pub struct Report {
    /// Records whose frames were read (sound or not).
    pub records: u64,
    /// Bytes of whole frames read (decompressed bytes for compressed
    /// files); damaged stretches are not counted.
    pub bytes: u64,
    /// Every problem, in file order. After damaged framing (a bad length,
    /// a cut-off frame) the check goes on at the next sound frame, as a
    /// reader under [`CorruptionPolicy::Skip`](crate::read::CorruptionPolicy::Skip)
    /// would, so every problem in the file is reported, with the record
    /// indices that reader gives.
    pub problems: Vec<Error>,
}

impl Report {
    /// True when nothing was wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies a file; compressed files are recognised by content.
///
/// `progress` is called with byte counts as they are checked.
///
/// ```
/// use tfrec::{Tensor, Writer};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("x.tfrecord");
/// let mut w = Writer::create(&path)?;
/// w.write_tensor(&Tensor::scalar(1u8))?;
/// w.finish()?;
/// let report = tfrec::verify::verify_file(&path, ReadOptions::default(), &|_| {})?;
/// assert!(report.is_ok());
/// assert_eq!(report.records, 1);
/// # use tfrec::ReadOptions;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_file(
    path: impl AsRef<Path>,
    options: ReadOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Report> {
    let path = path.as_ref();
    let options = options.verify_data_crc(true);
    if options.uses_mmap() {
        if let Some((file, len)) = open_plain_file(path)? {
            let mut report = verify_positioned(&file, len, options.frame_check(), progress);
            report.problems = report
                .problems
                .into_iter()
                .map(|e| e.with_path(path))
                .collect();
            return Ok(report);
        }
    }
    let mut reader = Reader::open_with(path, options)?;
    Ok(verify_reader(&mut reader, progress))
}

/// Verifies the remaining records of an open reader, reading on past
/// damage whatever the reader's corruption policy.
pub fn verify_reader(reader: &mut Reader, progress: &(dyn Fn(u64) + Sync)) -> Report {
    let path = reader.path().map(Path::to_path_buf);
    let mut report = match reader.mapped_bytes() {
        Some(bytes) => verify_bytes(bytes, progress),
        None => {
            let own = reader.replace_recovery(Recovery::logging(path.clone()));
            let mut report = verify_stream(reader, progress);
            let mut logged = reader.replace_recovery(own);
            for skipped in logged.log.take().unwrap_or_default() {
                if let ErrorKind::CorruptData { .. } = skipped.reason() {
                    // A whole frame was read; only its payload is bad.
                    report.records += 1;
                    report.bytes += skipped.len;
                }
                report.problems.push(skipped.error);
            }
            report.problems.sort_by_key(|e| e.offset());
            report
        }
    };
    if let Some(p) = path {
        report.problems = report
            .problems
            .into_iter()
            .map(|e| e.with_path(&p))
            .collect();
    }
    report
}

/// Verifies an uncompressed TFRecord byte buffer, in parallel.
pub fn verify_bytes(bytes: &[u8], progress: &(dyn Fn(u64) + Sync)) -> Report {
    // Walk the headers, stepping over damage, then check payloads in parallel.
    let framing_only = FrameCheck {
        data_crc: false,
        ..FrameCheck::default()
    };
    let mut recovery = Recovery::logging(None);
    let mut cursor = Cursor::default();
    let mut frames: Vec<(u64, u64, u64)> = Vec::new();
    let mut framed = 0u64;
    while let Some(item) = slice::next_record(bytes, &mut cursor, framing_only, &mut recovery) {
        if let Ok(record) = item {
            let frame_len = (record.payload.len() + FRAME_OVERHEAD) as u64;
            frames.push((record.offset, frame_len, record.index));
            framed += frame_len;
        }
    }
    let mut problems: Vec<Error> = frames
        .par_iter()
        .with_min_len(16)
        .filter_map(|&(offset, frame_len, i)| {
            // The walk only yields frames that lie wholly inside `bytes`.
            let frame = &bytes[offset as usize..(offset + frame_len) as usize];
            let payload = &frame[HEADER_LEN..frame.len() - FOOTER_LEN];
            let footer = frame[frame.len() - FOOTER_LEN..]
                .first_chunk::<FOOTER_LEN>()
                .copied()
                .unwrap_or_default();
            let result = framing::check_payload(payload, &footer)
                .and_then(|()| TensorView::decode(payload).map(drop));
            progress(frame_len);
            result.err().map(|e| e.at_record(offset, i))
        })
        .collect();
    problems.extend(
        recovery
            .log
            .take()
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.error),
    );
    problems.sort_by_key(|e| e.offset());
    Report {
        records: frames.len() as u64,
        bytes: framed,
        problems,
    }
}

fn verify_stream(reader: &mut Reader, progress: &(dyn Fn(u64) + Sync)) -> Report {
    let mut report = Report::default();
    while let Some(item) = reader.next_record() {
        match item {
            Ok(record) => {
                report.records += 1;
                let len = (record.payload.len() + FRAME_OVERHEAD) as u64;
                report.bytes += len;
                if let Err(e) = record.decode() {
                    report.problems.push(e);
                }
                progress(len);
            }
            Err(e) => {
                // Not damage (the reader steps over that): an I/O error.
                report.problems.push(e);
                break;
            }
        }
    }
    report
}

/// Files smaller than this are checked by one thread.
const MIN_SEGMENT: u64 = 16 << 20;

/// What one thread found over one stretch of a file.
struct Segment {
    walk: Walk,
    bytes: u64,
    /// Tensor and payload-CRC problems; a framing problem is `walk.error`.
    /// Record indices count from the segment's start.
    problems: Vec<Error>,
}

/// Verifies a regular uncompressed file with positioned reads on several
/// threads, without a memory map (see [`segments`](crate::read::segments)):
/// the same results as one sequential walk.
fn verify_positioned(
    file: &File,
    len: u64,
    check: FrameCheck,
    progress: &(dyn Fn(u64) + Sync),
) -> Report {
    verify_split(
        file,
        len,
        check,
        progress,
        &segments::even_splits(len, MIN_SEGMENT),
    )
}

/// Checks a file cut at the first sound frame at or after each split point.
fn verify_split(
    file: &File,
    len: u64,
    check: FrameCheck,
    progress: &(dyn Fn(u64) + Sync),
    splits: &[u64],
) -> Report {
    let input = Input::File(file);
    let starts = segments::segment_starts(input, len, splits, check);
    let ends: Vec<u64> = starts.iter().skip(1).copied().chain([len]).collect();
    let parts: Vec<Segment> = starts
        .par_iter()
        .zip(ends.par_iter())
        .map(|(&from, &to)| check_segment(input, len, from, to, check, progress))
        .collect();

    let mut report = Report::default();
    let mut reached = 0u64;
    let mut next_index = 0u64;
    for (part, &start) in parts.into_iter().zip(&starts) {
        if start != reached {
            break;
        }
        reached = part.walk.end;
        if absorb(&mut report, &mut next_index, part) {
            return report;
        }
    }
    if reached < len {
        // A split point was misjudged: finish the file in order.
        let part = check_segment(input, len, reached, len, check, progress);
        absorb(&mut report, &mut next_index, part);
    }
    report
}

/// Adds a segment's findings; true when it ended on an I/O problem.
fn absorb(report: &mut Report, next_index: &mut u64, part: Segment) -> bool {
    let first_index = *next_index;
    *next_index += part.walk.indices;
    report.records += part.walk.records;
    report.bytes += part.bytes;
    let broken = part.walk.error.is_some();
    let mut problems: Vec<Error> = part
        .problems
        .into_iter()
        .chain(part.walk.damage)
        .chain(part.walk.error)
        .map(|e| segments::reindex(e, first_index))
        .collect();
    problems.sort_by_key(|e| e.offset());
    report.problems.extend(problems);
    broken
}

/// Checks the frames that start in `from..to`: both CRCs and the tensor.
fn check_segment(
    input: Input<'_>,
    len: u64,
    from: u64,
    to: u64,
    check: FrameCheck,
    progress: &(dyn Fn(u64) + Sync),
) -> Segment {
    let framing_only = FrameCheck {
        data_crc: false,
        ..check
    };
    let mut problems = Vec::new();
    let mut bytes = 0u64;
    let walk = segments::walk(
        input,
        len,
        from,
        to,
        framing_only,
        true,
        |frame, offset, index| {
            let result = TensorView::decode(frame.payload).map(drop);
            if let Err(e) = check_crc(frame).and(result) {
                problems.push(e.at_record(offset, index));
            }
            bytes += frame.frame_len as u64;
            progress(frame.frame_len as u64);
            Ok(())
        },
    );
    Segment {
        walk,
        bytes,
        problems,
    }
}

/// The payload CRC of a frame parsed without checking it.
fn check_crc(frame: framing::Frame<'_>) -> Result<()> {
    framing::check_payload(frame.payload, &frame.footer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Tensor, Writer};

    fn sample() -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        for i in 0..5u8 {
            w.write_tensor(&Tensor::from_slice(&[i; 7], &[7]).unwrap())
                .unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn a_payload_holding_a_frame_is_a_false_boundary() {
        let mut inner = Vec::new();
        crate::framing::encode_frame(&Tensor::scalar(1u8).to_proto_bytes(), &mut inner);
        let mut w = Writer::new(Vec::new());
        w.write_record(&inner).unwrap();
        w.write_tensor(&Tensor::scalar(2u8)).unwrap();
        let bytes = w.finish().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, &bytes).unwrap();
        let file = File::open(&path).unwrap();
        let len = bytes.len() as u64;
        // The search from inside the first payload finds the embedded frame...
        assert_eq!(
            segments::find_boundary(Input::File(&file), len, 1, FrameCheck::default(), 1 << 20)
                .unwrap(),
            Some(HEADER_LEN as u64)
        );
        // ...and the merge notices the walk from 0 never lands there.
        let got = verify_split(&file, len, FrameCheck::default(), &|_| {}, &[1]);
        assert_eq!(got.records, 2);
        assert_eq!(got.problems.len(), 1, "{:?}", got.problems); // the outer payload is no tensor
        assert_eq!(got.problems[0].record_index(), Some(0));
    }

    /// Segmented checking must agree exactly with one sequential walk,
    /// including when a split lands inside a payload that itself holds a
    /// valid frame (a false boundary).
    #[test]
    fn segments_agree_with_a_sequential_walk() {
        let mut w = Writer::new(Vec::new());
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for i in 0..300u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match i % 23 {
                5 => w.write_record(b"not a tensor").unwrap(),
                9 => {
                    // A payload that is itself a sound frame of a sound tensor.
                    let mut inner = Vec::new();
                    crate::framing::encode_frame(
                        &Tensor::scalar(i as u8).to_proto_bytes(),
                        &mut inner,
                    );
                    w.write_record(&inner).unwrap();
                }
                _ => w
                    .write_tensor(
                        &Tensor::from_slice(
                            &vec![i as u16; (x % 40) as usize],
                            &[(x % 40) as usize],
                        )
                        .unwrap(),
                    )
                    .unwrap(),
            }
        }
        let clean = w.finish().unwrap();
        let mut variants = vec![clean.clone()];
        let mut data_flip = clean.clone();
        data_flip[clean.len() / 3] ^= 0x04;
        variants.push(data_flip);
        let mut cut = clean.clone();
        cut.truncate(clean.len() - 7);
        variants.push(cut);
        let reader_frames = framing::scan(&clean).offsets;
        let mut len_flip = clean.clone();
        len_flip[reader_frames[200] as usize + 2] ^= 0x80;
        variants.push(len_flip);

        let dir = tempfile::tempdir().unwrap();
        for (v, bytes) in variants.iter().enumerate() {
            let path = dir.path().join(format!("v{v}"));
            std::fs::write(&path, bytes).unwrap();
            let file = File::open(&path).unwrap();
            let expected = verify_bytes(bytes, &|_| {});
            let inner = reader_frames[9] + HEADER_LEN as u64;
            let split_sets: Vec<Vec<u64>> = vec![
                vec![],
                vec![inner],
                vec![inner - 3, inner + 1, bytes.len() as u64 / 2],
                (1..40).map(|k| k * bytes.len() as u64 / 40).collect(),
            ];
            for splits in &split_sets {
                let got = verify_split(
                    &file,
                    bytes.len() as u64,
                    FrameCheck::default(),
                    &|_| {},
                    splits,
                );
                let what = format!("variant {v}, splits {splits:?}");
                assert_eq!(got.records, expected.records, "{what}");
                assert_eq!(got.bytes, expected.bytes, "{what}");
                let pos = |r: &Report| -> Vec<_> {
                    r.problems
                        .iter()
                        .map(|e| (e.record_index(), e.offset(), e.kind().name()))
                        .collect()
                };
                assert_eq!(pos(&got), pos(&expected), "{what}");
            }
        }
    }

    #[test]
    fn sound_file() {
        let bytes = sample();
        let r = verify_bytes(&bytes, &|_| {});
        assert!(r.is_ok());
        assert_eq!(r.records, 5);
        assert_eq!(r.bytes, bytes.len() as u64);
    }

    #[test]
    fn bad_payload_does_not_stop_the_check() {
        let mut w = Writer::new(Vec::new());
        w.write_record(b"\x08\x01\x12\x00").unwrap(); // float scalar, no value: ok (zero)
        w.write_record(b"not a tensor").unwrap();
        w.write_record(b"\x08\x63").unwrap(); // dtype 99
        w.write_tensor(&Tensor::scalar(1u8)).unwrap();
        let bytes = w.finish().unwrap();
        let r = verify_bytes(&bytes, &|_| {});
        let at: Vec<_> = r.problems.iter().map(|e| e.record_index()).collect();
        assert_eq!(at, [Some(1), Some(2)]);
        assert_eq!(r.records, 4);
    }

    #[test]
    fn every_problem_is_reported_past_damaged_framing() {
        let mut bytes = sample();
        let size = bytes.len() / 5;
        bytes[size + 3] ^= 0x10; // length field of record 1
        bytes[3 * size + 20] ^= 0x01; // payload of record 3
        let r = verify_bytes(&bytes, &|_| {});
        let found: Vec<_> = r
            .problems
            .iter()
            .map(|e| (e.offset(), e.record_index(), e.kind().name()))
            .collect();
        assert_eq!(
            found,
            [
                (Some(size as u64), Some(1), "corrupt_length"),
                (Some(3 * size as u64), Some(3), "corrupt_data"),
            ]
        );
        assert_eq!(r.records, 4); // all but record 1: record 2 is found again
    }
}
