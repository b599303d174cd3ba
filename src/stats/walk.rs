//! Reading the records of files and streams for [`Stats`]: indexed files
//! in pieces, plain files in segments walked in parallel, streams in
//! chunks, all tallied on rayon's pool. Knows nothing of dtypes, features
//! or output formats.

use std::fs::File;
use std::path::Path;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::framing::{self, FrameCheck, FRAME_OVERHEAD};
use crate::index::{FrameBuf, Index};
use crate::read::mmap::Mmap;
use crate::read::segments::{self, Input, Walk};
use crate::read::{open_plain_file, Reader};

use super::tally::Tally;
use super::totals::Stats;

/// Bytes of consecutive records read and tallied as one piece.
const PIECE: u64 = 256 << 10;

/// Statistics of one file; compressed files are recognised by content.
/// `progress` is called with byte counts as records are tallied.
///
/// An uncompressed file with a `FILE.idx` sidecar is read through its
/// [`Index`] (a stale sidecar is detected and the file rescanned). Without
/// one, the file is cut into segments that start at checked frame
/// boundaries, walked in parallel; the walk from the start of the file is
/// authoritative, so the result is that of one sequential walk.
pub fn stats_file(path: impl AsRef<Path>, progress: &(dyn Fn(u64) + Sync)) -> Result<Stats> {
    let path = path.as_ref();
    let Some((file, len)) = open_plain_file(path)? else {
        let mut reader = Reader::open(path)?;
        return stats_reader(&mut reader, progress);
    };
    let result = if Index::sidecar_path(path).exists() {
        let index = Index::open(path)?;
        stats_indexed(&file, &index, progress)
    } else {
        let map = if len > 0 && len <= MAP_UP_TO {
            Mmap::map(&file, path).map_err(|e| Error::from(e).with_path(path))?
        } else {
            None
        };
        match map {
            Some(map) => {
                stats_segmented(Input::Mapped(&map), len, progress).map_err(|e| map.explain(e))
            }
            None => stats_segmented(Input::File(&file), len, progress),
        }
    };
    result.map_err(|e| e.with_path(path))
}

/// Statistics of an indexed file, pieces in parallel.
fn stats_indexed(file: &File, index: &Index, progress: &(dyn Fn(u64) + Sync)) -> Result<Stats> {
    // Cut the records into runs of about PIECE bytes.
    let mut pieces: Vec<(usize, usize)> = Vec::new();
    let mut start = 0usize;
    let mut bytes = 0u64;
    for (i, e) in index.iter().enumerate() {
        bytes += e.len;
        if bytes >= PIECE {
            pieces.push((start, i + 1));
            start = i + 1;
            bytes = 0;
        }
    }
    if start < index.len() {
        pieces.push((start, index.len()));
    }
    let tallies: Vec<Result<Tally>> = pieces
        .par_iter()
        .map(|&(from, to)| {
            let tally = FrameBuf::with_thread_local(|buf| tally_piece(file, index, from, to, buf));
            if let Ok(t) = &tally {
                progress(t.bytes);
            }
            tally
        })
        .collect();
    let mut stats = Stats::new();
    for tally in tallies {
        stats.absorb(tally?)?;
    }
    Ok(stats)
}

fn tally_piece(
    file: &File,
    index: &Index,
    from: usize,
    to: usize,
    buf: &mut FrameBuf,
) -> Result<Tally> {
    let (Some(first), Some(last)) = (index.get(from), index.get(to - 1)) else {
        return Ok(Tally::default());
    };
    let len = usize::try_from(last.offset + last.len - first.offset)
        .map_err(|_| Error::invalid_input("piece too large for this platform"))?;
    let bytes = buf
        .read_at(file, first.offset, len)
        .map_err(|e| Error::from(e).at_record(first.offset, from as u64))?;
    let mut tally = Tally::default();
    let mut pos = 0usize;
    for i in from..to {
        let offset = first.offset + pos as u64;
        let at = |e: Error| e.at_record(offset, i as u64);
        let rest = bytes.get(pos..).unwrap_or_default();
        let frame = framing::parse_frame(rest, FrameCheck::default())
            .map_err(at)?
            .ok_or_else(|| at(Error::invalid_input("the file ends before its index does")))?;
        tally.add_payload(frame.payload, frame.frame_len as u64);
        pos += frame.frame_len;
    }
    Ok(tally)
}

/// Files up to this size are memory-mapped rather than read: mapping a few
/// thousand pages costs less than copying them, while for large files the
/// page-table work costs more than the copy.
const MAP_UP_TO: u64 = 64 << 20;
/// Files below this size are walked by one thread.
const MIN_SEGMENT: u64 = 1 << 20;
/// What one thread found over one stretch of a file.
struct Segment {
    tally: Tally,
    walk: Walk,
}

/// Statistics of a plain file walked on several threads at once (see
/// [`segments`](crate::read::segments)): the same as one sequential walk.
fn stats_segmented(input: Input<'_>, len: u64, progress: &(dyn Fn(u64) + Sync)) -> Result<Stats> {
    let check = FrameCheck::default();
    let starts =
        segments::segment_starts(input, len, &segments::even_splits(len, MIN_SEGMENT), check);
    let ends: Vec<u64> = starts.iter().skip(1).copied().chain([len]).collect();
    let parts: Vec<Segment> = starts
        .par_iter()
        .zip(ends.par_iter())
        .map(|(&from, &to)| tally_segment(input, len, from, to, progress))
        .collect();

    let mut stats = Stats::new();
    let mut reached = 0u64;
    for (part, &start) in parts.into_iter().zip(&starts) {
        if start != reached {
            // A split landed on a false boundary (a payload holding a valid
            // frame): finish the file in order from where the walk got to.
            break;
        }
        reached = absorb_segment(&mut stats, part)?;
    }
    if reached < len {
        let part = tally_segment(input, len, reached, len, progress);
        absorb_segment(&mut stats, part)?;
    }
    Ok(stats)
}

fn absorb_segment(stats: &mut Stats, part: Segment) -> Result<u64> {
    if let Some(e) = part.walk.error {
        return Err(segments::reindex(e, stats.records));
    }
    stats.absorb(part.tally)?;
    Ok(part.walk.end)
}

/// Tallies the frames that start in `from..to`; the first bad record stops it.
fn tally_segment(
    input: Input<'_>,
    len: u64,
    from: u64,
    to: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Segment {
    let mut tally = Tally::default();
    let mut reported = 0u64;
    let walk = segments::walk(
        input,
        len,
        from,
        to,
        FrameCheck::default(),
        false,
        |frame, _, _| {
            tally.add_payload(frame.payload, frame.frame_len as u64);
            if tally.bytes - reported >= PIECE {
                progress(tally.bytes - reported);
                reported = tally.bytes;
            }
            Ok(())
        },
    );
    progress(tally.bytes - reported);
    Segment { tally, walk }
}

/// Records per chunk tallied in parallel when reading a stream.
const STREAM_CHUNK_BYTES: usize = 8 << 20;

/// Statistics of the remaining records of a reader (a stream, or a mapped
/// file), in order.
pub fn stats_reader(reader: &mut Reader, progress: &(dyn Fn(u64) + Sync)) -> Result<Stats> {
    let mut stats = Stats::new();
    let mut data: Vec<u8> = Vec::new();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut flush = |data: &mut Vec<u8>, spans: &mut Vec<(usize, usize)>| -> Result<()> {
        let tallies: Vec<Tally> = spans
            .par_chunks(64)
            .map(|chunk| {
                let mut tally = Tally::default();
                for &(start, end) in chunk {
                    let payload = data.get(start..end).unwrap_or_default();
                    tally.add_payload(payload, (payload.len() + FRAME_OVERHEAD) as u64);
                }
                progress(tally.bytes);
                tally
            })
            .collect();
        for t in tallies {
            stats.absorb(t)?;
        }
        data.clear();
        spans.clear();
        Ok(())
    };
    while let Some(record) = reader.next_record() {
        let record = record?;
        let start = data.len();
        data.extend_from_slice(&record.payload);
        spans.push((start, data.len()));
        if data.len() >= STREAM_CHUNK_BYTES {
            flush(&mut data, &mut spans)?;
        }
    }
    flush(&mut data, &mut spans)?;
    Ok(stats)
}

/// Statistics of several files together.
pub fn stats_files<P: AsRef<Path>>(paths: &[P], progress: &(dyn Fn(u64) + Sync)) -> Result<Stats> {
    let mut stats = Stats::new();
    for p in paths {
        stats.merge(&stats_file(p, progress)?)?;
    }
    Ok(stats)
}
