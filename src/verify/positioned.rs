//! Checking a regular uncompressed file with positioned reads on several
//! threads, without a memory map (see [`segments`](crate::read::segments)):
//! the same results as one sequential walk.
//!
//! Knows nothing of streams, memory buffers or what a report is printed as.

use std::fs::File;

use rayon::prelude::*;

use super::shared::{Mode, Report, Unreported};
use crate::error::{Error, Result};
use crate::example::KindVote;
use crate::framing::{self, FrameCheck};
use crate::read::segments::{self, Input, Walk};

/// Files smaller than this are checked by one thread.
const MIN_SEGMENT: u64 = 16 << 20;

/// What one thread found over one stretch of a file.
struct Segment {
    walk: Walk,
    bytes: u64,
    /// Kind and payload-CRC problems; a framing problem is `walk.error`.
    /// Record indices count from the segment's start.
    problems: Vec<Error>,
    /// The kinds of its records with sound CRCs, in [`Mode::Detect`].
    vote: KindVote,
}

/// Checks a whole file in one pass of `mode`.
pub(super) fn verify(
    file: &File,
    len: u64,
    check: FrameCheck,
    mode: Mode,
    progress: &(dyn Fn(u64) + Sync),
) -> Report {
    verify_split(
        file,
        len,
        check,
        mode,
        progress,
        &segments::even_splits(len, MIN_SEGMENT),
    )
}

/// Checks a file cut at the first sound frame at or after each split point.
pub(super) fn verify_split(
    file: &File,
    len: u64,
    check: FrameCheck,
    mode: Mode,
    progress: &(dyn Fn(u64) + Sync),
    splits: &[u64],
) -> Report {
    let input = Input::File(file);
    let starts = segments::segment_starts(input, len, splits, check);
    let ends: Vec<u64> = starts.iter().skip(1).copied().chain([len]).collect();
    let parts: Vec<Segment> = starts
        .par_iter()
        .zip(ends.par_iter())
        .map(|(&from, &to)| check_segment(input, len, from, to, check, mode, progress))
        .collect();

    let mut report = Report::default();
    let mut reached = 0u64;
    let mut next_index = 0u64;
    let mut broken = false;
    for (part, &start) in parts.into_iter().zip(&starts) {
        if start != reached {
            break;
        }
        reached = part.walk.end;
        if absorb(&mut report, &mut next_index, part) {
            broken = true;
            break;
        }
    }
    if !broken && reached < len {
        // A split point was misjudged: finish the file in order.
        let part = check_segment(input, len, reached, len, check, mode, progress);
        absorb(&mut report, &mut next_index, part);
    }
    report.kind = match mode {
        Mode::As(kind) => kind,
        Mode::Detect => report.kinds.decide(),
    };
    report
}

/// Adds a segment's findings; true when it ended on an I/O problem.
fn absorb(report: &mut Report, next_index: &mut u64, part: Segment) -> bool {
    let first_index = *next_index;
    *next_index += part.walk.indices;
    report.records += part.walk.records;
    report.bytes += part.bytes;
    report.kinds.merge(&part.vote);
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

/// Checks the frames that start in `from..to`: both CRCs and the kind.
fn check_segment(
    input: Input<'_>,
    len: u64,
    from: u64,
    to: u64,
    check: FrameCheck,
    mode: Mode,
    progress: &(dyn Fn(u64) + Sync),
) -> Segment {
    let framing_only = FrameCheck {
        data_crc: false,
        ..check
    };
    let mut problems = Vec::new();
    let mut bytes = 0u64;
    let mut vote = KindVote::default();
    let mut unreported = Unreported::new(progress);
    let walk = segments::walk(
        input,
        len,
        from,
        to,
        framing_only,
        true,
        |frame, offset, index| {
            let result = check_crc(frame).and_then(|()| mode.check(frame.payload, &mut vote));
            if let Err(e) = result {
                problems.push(e.at_record(offset, index));
            }
            bytes += frame.frame_len as u64;
            unreported.add(frame.frame_len as u64);
            Ok(())
        },
    );
    drop(unreported);
    Segment {
        walk,
        bytes,
        problems,
        vote,
    }
}

/// The payload CRC of a frame parsed without checking it.
fn check_crc(frame: framing::Frame<'_>) -> Result<()> {
    framing::check_payload(frame.payload, &frame.footer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example::RecordKind;
    use crate::framing::HEADER_LEN;
    use crate::{Tensor, Writer};

    const TENSOR: Mode = Mode::As(RecordKind::Tensor);

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
        let got = verify_split(&file, len, FrameCheck::default(), TENSOR, &|_| {}, &[1]);
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
            let inner = reader_frames[9] + HEADER_LEN as u64;
            let split_sets: Vec<Vec<u64>> = vec![
                vec![],
                vec![inner],
                vec![inner - 3, inner + 1, bytes.len() as u64 / 2],
                (1..40).map(|k| k * bytes.len() as u64 / 40).collect(),
            ];
            for mode in [TENSOR, Mode::Detect, Mode::As(RecordKind::Raw)] {
                let expected = super::super::bytes_pass(bytes, mode, &|_| {});
                for splits in &split_sets {
                    let len = bytes.len() as u64;
                    let got =
                        verify_split(&file, len, FrameCheck::default(), mode, &|_| {}, splits);
                    let what = format!("variant {v}, {mode:?}, splits {splits:?}");
                    assert_eq!(got.records, expected.records, "{what}");
                    assert_eq!(got.bytes, expected.bytes, "{what}");
                    assert_eq!(got.kinds, expected.kinds, "{what}");
                    assert_eq!(got.kind, expected.kind, "{what}");
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
    }
}
