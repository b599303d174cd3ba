//! Checking a regular uncompressed file with positioned reads on several
//! threads, without a memory map (see [`segments`](crate::read::segments)):
//! the same results as one sequential walk.

use std::fs::File;

use rayon::prelude::*;

use super::{Mode, Report};
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
            progress(frame.frame_len as u64);
            Ok(())
        },
    );
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
