//! Whole-file checks: every frame, both CRCs, and that each payload is a
//! valid record of the kind the file holds.
//!
//! Knows nothing of statistics, indexes or writing.
//!
//! What a file holds is decided from its records ([`KindVote`]): tensors,
//! `Example`s, `SequenceExample`s, or raw records when none of these
//! dominates. Each record is then checked against that kind
//! ([`crate::example::check`]): a tensor within the decode
//! bounds, an `Example` or `SequenceExample` without unknown fields; raw
//! records only for framing and CRCs. A kind can also be forced
//! ([`verify_file_as`] with `Some(kind)`).
//!
//! Plain files are checked by positioned reads on rayon's pool; memory
//! buffers by a sequential walk over the frame headers, then payloads in
//! parallel. Streams (compressed files, stdin) are checked in order.
//! Deciding the kind costs nothing extra: each record's kind is counted
//! while its CRC is checked, and a file is read a second time only when
//! some of its records do not fit the kind decided (to name them).

use std::path::Path;

use rayon::prelude::*;

use crate::error::{ErrorKind, Result};
use crate::example::{self, KindVote, RecordKind};
use crate::framing::{self, FrameCheck, FOOTER_LEN, FRAME_OVERHEAD, HEADER_LEN};
use crate::read::recovery::Recovery;
use crate::read::slice::{self, Cursor};
use crate::read::{open_plain_file, ReadOptions, Reader};

mod positioned;
mod shared;

pub use shared::Report;
use shared::{Mode, Unreported};

/// Verifies a file as tensors: every payload must be a valid
/// `TensorProto`. The same as [`verify_file_as`] with
/// `Some(RecordKind::Tensor)`.
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
    verify_file_as(path, options, Some(RecordKind::Tensor), progress)
}

/// Verifies a file against `kind`, or with `None` against the kind its
/// records show ([`KindVote::decide`]); compressed files are recognised by
/// content. A record that is not a valid `kind` is a problem naming its
/// index and offset.
///
/// `progress` is called with byte counts as they are checked (once over
/// the file, even when it is read twice).
///
/// ```
/// use tfrec::example::{self, Example, RecordKind};
/// use tfrec::{ReadOptions, Tensor, Writer};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("x.tfrecord");
/// let mut w = Writer::create(&path)?;
/// for label in 0..3 {
///     w.write_record(&example::encode(&Example::default().int64("label", [label])))?;
/// }
/// w.write_tensor(&Tensor::scalar(1u8))?;
/// w.finish()?;
///
/// let report = tfrec::verify::verify_file_as(&path, ReadOptions::default(), None, &|_| {})?;
/// assert_eq!(report.kind, RecordKind::Example);
/// assert_eq!(report.problems.len(), 1); // the tensor
/// assert_eq!(report.problems[0].record_index(), Some(3));
///
/// let raw = Some(RecordKind::Raw);
/// assert!(tfrec::verify::verify_file_as(&path, ReadOptions::default(), raw, &|_| {})?.is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_file_as(
    path: impl AsRef<Path>,
    options: ReadOptions,
    kind: Option<RecordKind>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Report> {
    let path = path.as_ref();
    let options = options.verify_data_crc(true);
    let mut report = if options.uses_mmap() {
        match open_plain_file(path)? {
            Some((file, len)) => {
                let check = options.frame_check();
                let pass = |mode, progress: &(dyn Fn(u64) + Sync)| {
                    positioned::verify(&file, len, check, mode, progress)
                };
                decide_then_check(kind, pass, progress)
            }
            None => verify_stream_file(path, options, kind, progress)?,
        }
    } else {
        verify_stream_file(path, options, kind, progress)?
    };
    report.problems = report
        .problems
        .into_iter()
        .map(|e| e.with_path(path))
        .collect();
    Ok(report)
}

/// A file read as a stream (compressed, or without memory maps), opened
/// again for the second pass when there is one.
fn verify_stream_file(
    path: &Path,
    options: ReadOptions,
    kind: Option<RecordKind>,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Report> {
    let pass = |mode, progress: &(dyn Fn(u64) + Sync)| -> Result<Report> {
        let mut reader = Reader::open_with(path, options)?;
        // The second pass names misfits: no need to keep every record's kind.
        Ok(verify_reader_mode(&mut reader, mode, false, progress))
    };
    let first = pass(Mode::of(kind), progress)?;
    let Some(decided) = kind.is_none().then(|| first.kinds.decide()) else {
        return Ok(first);
    };
    if first.kinds.misfits(decided) == 0 {
        return Ok(first);
    }
    // Read again to name the misfits with the parser's reasons.
    let mut second = pass(Mode::As(decided), &|_| {})?;
    second.kinds = first.kinds;
    Ok(second)
}

/// Runs `pass` once with the kind forced, or once to count kinds and, when
/// some records do not fit the kind decided, once more to name them.
fn decide_then_check(
    kind: Option<RecordKind>,
    pass: impl Fn(Mode, &(dyn Fn(u64) + Sync)) -> Report,
    progress: &(dyn Fn(u64) + Sync),
) -> Report {
    let first = pass(Mode::of(kind), progress);
    if kind.is_some() {
        return first;
    }
    let decided = first.kinds.decide();
    if first.kinds.misfits(decided) == 0 {
        return Report {
            kind: decided,
            ..first
        };
    }
    let mut second = pass(Mode::As(decided), &|_| {});
    second.kinds = first.kinds;
    second
}

/// Verifies the remaining records of an open reader as tensors, reading on
/// past damage whatever the reader's corruption policy. The same as
/// [`verify_reader_as`] with `Some(RecordKind::Tensor)`.
pub fn verify_reader(reader: &mut Reader, progress: &(dyn Fn(u64) + Sync)) -> Report {
    verify_reader_as(reader, Some(RecordKind::Tensor), progress)
}

/// Verifies the remaining records of an open reader against `kind`, or
/// with `None` against the kind they show, reading on past damage whatever
/// the reader's corruption policy.
///
/// A stream cannot be read twice: when the kind is decided from its
/// records, the kind and position of each record are kept (24 bytes a
/// record) until the end, and a record that does not fit is named with
/// the kind it reads as rather than with the parser's reason.
pub fn verify_reader_as(
    reader: &mut Reader,
    kind: Option<RecordKind>,
    progress: &(dyn Fn(u64) + Sync),
) -> Report {
    let mode = Mode::of(kind);
    let path = reader.path().map(Path::to_path_buf);
    let mut report = match reader.mapped_bytes() {
        Some(bytes) => verify_bytes_as(bytes, kind, progress),
        None => verify_reader_mode(reader, mode, true, progress),
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

/// A stream in one pass; in [`Mode::Detect`] with `name_misfits` the
/// records that do not fit the kind decided are named from the kinds kept.
fn verify_reader_mode(
    reader: &mut Reader,
    mode: Mode,
    name_misfits: bool,
    progress: &(dyn Fn(u64) + Sync),
) -> Report {
    let path = reader.path().map(Path::to_path_buf);
    let own = reader.replace_recovery(Recovery::logging(path));
    let mut report = verify_stream(reader, mode, name_misfits, progress);
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

/// Verifies an uncompressed TFRecord byte buffer as tensors, in parallel.
/// The same as [`verify_bytes_as`] with `Some(RecordKind::Tensor)`.
pub fn verify_bytes(bytes: &[u8], progress: &(dyn Fn(u64) + Sync)) -> Report {
    verify_bytes_as(bytes, Some(RecordKind::Tensor), progress)
}

/// Verifies an uncompressed TFRecord byte buffer against `kind`, or with
/// `None` against the kind its records show, in parallel.
pub fn verify_bytes_as(
    bytes: &[u8],
    kind: Option<RecordKind>,
    progress: &(dyn Fn(u64) + Sync),
) -> Report {
    decide_then_check(
        kind,
        |mode, progress| bytes_pass(bytes, mode, progress),
        progress,
    )
}

fn bytes_pass(bytes: &[u8], mode: Mode, progress: &(dyn Fn(u64) + Sync)) -> Report {
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
    let (mut problems, kinds) = frames
        .par_iter()
        .with_min_len(16)
        .fold(
            || (Vec::new(), KindVote::default(), Unreported::new(progress)),
            |(mut problems, mut vote, mut unreported), &(offset, frame_len, i)| {
                // The walk only yields frames that lie wholly inside `bytes`.
                let frame = &bytes[offset as usize..(offset + frame_len) as usize];
                let payload = &frame[HEADER_LEN..frame.len() - FOOTER_LEN];
                let footer = frame[frame.len() - FOOTER_LEN..]
                    .first_chunk::<FOOTER_LEN>()
                    .copied()
                    .unwrap_or_default();
                let result = framing::check_payload(payload, &footer)
                    .and_then(|()| mode.check(payload, &mut vote));
                unreported.add(frame_len);
                if let Err(e) = result {
                    problems.push(e.at_record(offset, i));
                }
                (problems, vote, unreported)
            },
        )
        .map(|(problems, vote, _)| (problems, vote))
        .reduce(
            || (Vec::new(), KindVote::default()),
            |(mut a, mut va), (b, vb)| {
                a.extend(b);
                va.merge(&vb);
                (a, va)
            },
        );
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
        kind: match mode {
            Mode::As(kind) => kind,
            Mode::Detect => kinds.decide(),
        },
        kinds,
    }
}

fn verify_stream(
    reader: &mut Reader,
    mode: Mode,
    name_misfits: bool,
    progress: &(dyn Fn(u64) + Sync),
) -> Report {
    let mut report = Report::default();
    // In Detect mode with `name_misfits`: (offset, index, kind, empty) of
    // every record, to name the misfits once the kind is decided.
    let mut seen: Vec<(u64, u64, RecordKind, bool)> = Vec::new();
    let mut unreported = Unreported::new(progress);
    while let Some(item) = reader.next_record() {
        match item {
            Ok(record) => {
                report.records += 1;
                let len = (record.payload.len() + FRAME_OVERHEAD) as u64;
                report.bytes += len;
                match mode {
                    Mode::Detect => {
                        let kind = report.kinds.add(&record.payload);
                        if name_misfits {
                            let empty = record.payload.is_empty();
                            seen.push((record.offset, record.index, kind, empty));
                        }
                    }
                    Mode::As(kind) => {
                        if let Err(e) = example::check(kind, &record.payload) {
                            report
                                .problems
                                .push(e.at_record(record.offset, record.index));
                        }
                    }
                }
                unreported.add(len);
            }
            Err(e) => {
                // Not damage (the reader steps over that): an I/O error.
                report.problems.push(e);
                break;
            }
        }
    }
    report.kind = match mode {
        Mode::As(kind) => kind,
        Mode::Detect => {
            let decided = report.kinds.decide();
            for (offset, index, kind, empty) in seen {
                if !example::fits(decided, kind, empty) {
                    let e = example::misfit_error(decided, kind, empty);
                    report.problems.push(e.at_record(offset, index));
                }
            }
            decided
        }
    };
    report
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
