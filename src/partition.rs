//! Splitting the records of many files into pieces for parallel readers, and
//! numbering them across files.
//!
//! Distributed readers (Ray read tasks, Spark partitions) and random-access
//! sources (Grain, map-style datasets) all need the same arithmetic: which
//! records of which file a task reads, and which file and record a global
//! record number falls in. It lives here, once, on plain numbers: frame
//! offsets and record counts as an [`Index`](crate::index::Index) gives
//! them.
//!
//! Knows nothing of files, threads, Python or any framework: callers read
//! the offsets and counts, and open the files the pieces name.
//!
//! ```
//! use tfrec::partition::{split_files, FileLayout, Span};
//!
//! // Four records of 100 bytes each, the file 400 bytes long.
//! let offsets = [0, 100, 200, 300, 400];
//! let pieces = split_files(&[FileLayout::Frames(&offsets)], 2, 1 << 20);
//! let spans: Vec<Span> = pieces.iter().filter_map(|p| p.span).collect();
//! assert_eq!(spans, [
//!     Span { start: 0, end: 200, first: 0, rows: 2 },
//!     Span { start: 200, end: 400, first: 2, rows: 2 },
//! ]);
//! ```

use std::ops::Range;

use crate::error::{Error, Result};

/// What a splitter knows of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileLayout<'a> {
    /// An uncompressed, indexed file: the byte offset of every record's
    /// frame, in order, then the file's length.
    Frames(&'a [u64]),
    /// A file read whole as one stream (compressed, or with damaged frame
    /// headers), `len` bytes long.
    Stream {
        /// The file's length in bytes.
        len: u64,
    },
}

impl FileLayout<'_> {
    /// The file's bytes: its length as the offsets end it, or the stream's.
    pub fn bytes(&self) -> u64 {
        match self {
            FileLayout::Frames(offsets) => offsets.last().copied().unwrap_or(0),
            FileLayout::Stream { len } => *len,
        }
    }
}

/// A run of consecutive records of an indexed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Byte offset of the first record's frame.
    pub start: u64,
    /// Byte offset just past the last record's frame.
    pub end: u64,
    /// Index of the first record in its file.
    pub first: u64,
    /// Number of records.
    pub rows: u64,
}

/// One piece of work: records of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Which file, as a position in the list given to [`split_files`].
    pub file: usize,
    /// The records, or `None` for a [`FileLayout::Stream`] file, read whole.
    pub span: Option<Span>,
}

/// The bytes of all files, as [`FileLayout::bytes`] counts them (saturating).
pub fn total_bytes(files: &[FileLayout<'_>]) -> u64 {
    files
        .iter()
        .fold(0u64, |sum, f| sum.saturating_add(f.bytes()))
}

/// How many pieces to make when the caller does not say: two per CPU, and
/// at least one per `block_bytes` of input.
///
/// ```
/// use tfrec::partition::default_parts;
/// assert_eq!(default_parts(4, 1000, 1 << 20), 8);
/// assert_eq!(default_parts(1, 10 << 20, 1 << 20), 10);
/// assert_eq!(default_parts(0, 0, 1), 1);
/// ```
pub fn default_parts(cpus: u64, total_bytes: u64, block_bytes: u64) -> u64 {
    cpus.saturating_mul(2)
        .max(total_bytes.div_ceil(block_bytes.max(1)))
        .max(1)
}

/// The files' records split into about `parts` pieces of about equal bytes,
/// at record boundaries.
///
/// Each indexed file gets pieces in proportion to its share of
/// [`total_bytes`], at least one, at least one per `block_bytes` (so that a
/// piece passes `block_bytes` by at most one record), and at most one per
/// record. The cuts are the records whose frames start nearest after
/// equal byte shares of the file. A file of no records gets no piece; a
/// [`FileLayout::Stream`] file gets one piece without a span. Pieces come
/// in file order, then record order, and together cover every record
/// exactly once.
pub fn split_files(files: &[FileLayout<'_>], parts: u64, block_bytes: u64) -> Vec<Piece> {
    let total = total_bytes(files).max(1);
    let parts = parts.max(1);
    let block_bytes = block_bytes.max(1);
    let mut pieces = Vec::new();
    for (file, layout) in files.iter().enumerate() {
        let offsets = match layout {
            FileLayout::Stream { .. } => {
                pieces.push(Piece { file, span: None });
                continue;
            }
            FileLayout::Frames(offsets) => *offsets,
        };
        let (Some(&first_offset), Some(&end)) = (offsets.first(), offsets.last()) else {
            continue;
        };
        let n = offsets.len() - 1;
        if n == 0 {
            continue;
        }
        let size = end.saturating_sub(first_offset);
        let share = round_half_even(u128::from(parts) * u128::from(size), u128::from(total));
        let wanted = share.max(u128::from(size.div_ceil(block_bytes)));
        // `wanted` is capped by `n`, a usize: the conversion cannot fail.
        let k = usize::try_from(wanted.min(n as u128)).unwrap_or(n).max(1);
        let frames = offsets.get(..n).unwrap_or_default();
        let mut bounds = vec![0usize];
        for j in 1..k {
            let target = u128::from(first_offset) + (j as u128 * u128::from(size)) / k as u128;
            // The first record whose frame starts at or after the target.
            let cut = frames.partition_point(|&o| u128::from(o) < target);
            if cut > 0 && cut < n && bounds.last() != Some(&cut) {
                bounds.push(cut);
            }
        }
        bounds.push(n);
        for pair in bounds.windows(2) {
            let &[a, b] = pair else { continue };
            let (Some(&start), Some(&stop)) = (offsets.get(a), offsets.get(b)) else {
                continue;
            };
            pieces.push(Piece {
                file,
                span: Some(Span {
                    start,
                    end: stop,
                    first: a as u64,
                    rows: (b - a) as u64,
                }),
            });
        }
    }
    pieces
}

/// `num / den` rounded to the nearest integer, ties to even (as Python's
/// `round`); `den` is not 0.
fn round_half_even(num: u128, den: u128) -> u128 {
    let (q, r) = (num / den, num % den);
    match (2 * r).cmp(&den) {
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => q + (q & 1),
        std::cmp::Ordering::Less => q,
    }
}

/// `items` consecutive items dealt into at most `groups` groups of
/// consecutive items, as even as whole items allow (item `i` goes to group
/// `i * g / items`, `g` being `groups` capped at `items`). No group is
/// empty; no items make no groups.
///
/// ```
/// use tfrec::partition::contiguous_groups;
/// assert_eq!(contiguous_groups(5, 2), [0..3, 3..5]);
/// assert_eq!(contiguous_groups(2, 8), [0..1, 1..2]);
/// assert!(contiguous_groups(0, 3).is_empty());
/// ```
pub fn contiguous_groups(items: usize, groups: usize) -> Vec<Range<usize>> {
    let g = groups.min(items);
    if g == 0 {
        return Vec::new();
    }
    let group_of = |i: usize| (i as u128 * g as u128 / items as u128) as usize;
    let mut out: Vec<Range<usize>> = Vec::with_capacity(g);
    for i in 0..items {
        match out.last_mut() {
            Some(last) if group_of(last.start) == group_of(i) => last.end = i + 1,
            _ => out.push(i..i + 1),
        }
    }
    out
}

/// A file of `records` records and `file_bytes` bytes as ranges of record
/// numbers of about `partition_bytes` bytes each (by the file's average
/// record size), in order.
///
/// A file no larger than `partition_bytes` is one range; a file of no
/// records is one empty range `0..0`, so that every file gets a partition.
///
/// ```
/// use tfrec::partition::record_ranges;
/// assert_eq!(record_ranges(10, 1000, 400), [0..4, 4..8, 8..10]);
/// assert_eq!(record_ranges(10, 1000, 5000), [0..10]);
/// assert_eq!(record_ranges(0, 0, 64), [0..0]);
/// ```
pub fn record_ranges(records: u64, file_bytes: u64, partition_bytes: u64) -> Vec<Range<u64>> {
    let partition_bytes = partition_bytes.max(1);
    let per = if file_bytes <= partition_bytes {
        records
    } else {
        let per = u128::from(records) * u128::from(partition_bytes) / u128::from(file_bytes);
        // Below `records`, since partition_bytes < file_bytes.
        u64::try_from(per).unwrap_or(records).max(1)
    }
    .max(1);
    let mut out = Vec::new();
    let mut a = 0u64;
    loop {
        let b = a.saturating_add(per).min(records);
        out.push(a..b);
        if b >= records {
            return out;
        }
        a = b;
    }
}

/// Records of several files numbered one after another: file 0's records
/// first, then file 1's, and so on.
///
/// ```
/// use tfrec::partition::RecordNumbering;
/// let numbering = RecordNumbering::from_counts([3, 0, 2])?;
/// assert_eq!(numbering.len(), 5);
/// assert_eq!(numbering.locate(3), Some((2, 0)));
/// assert_eq!(numbering.locate(-1), Some((2, 1)));
/// assert_eq!(numbering.locate(5), None);
/// # Ok::<(), tfrec::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordNumbering {
    /// Each file's first record number, then the total.
    starts: Vec<u64>,
}

impl RecordNumbering {
    /// The numbering of files of `counts` records each, in that order; an
    /// error if the total passes `u64::MAX`.
    pub fn from_counts(counts: impl IntoIterator<Item = u64>) -> Result<RecordNumbering> {
        let mut starts = vec![0u64];
        let mut total = 0u64;
        for n in counts {
            total = total.checked_add(n).ok_or_else(|| {
                Error::invalid_input("the files hold more than 2^64 records in all")
            })?;
            starts.push(total);
        }
        Ok(RecordNumbering { starts })
    }

    /// The records of all files.
    pub fn len(&self) -> u64 {
        self.starts.last().copied().unwrap_or(0)
    }

    /// Whether there are no records at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many files are numbered.
    pub fn files(&self) -> usize {
        self.starts.len() - 1
    }

    /// Each file's first record number, then the total.
    pub fn starts(&self) -> &[u64] {
        &self.starts
    }

    /// `(file, record in that file)` of record `i` (negative counts from
    /// the end), or `None` when `i` is out of range. Files of no records
    /// are passed over.
    pub fn locate(&self, i: i64) -> Option<(usize, u64)> {
        let i = resolve_index(i, self.len())?;
        let file = self.starts.partition_point(|&s| s <= i).checked_sub(1)?;
        Some((file, i - self.starts.get(file)?))
    }
}

/// Record `i` of `len` records, a negative `i` counting from the end
/// (`-1` the last), or `None` when it is out of range.
///
/// ```
/// use tfrec::partition::resolve_index;
/// assert_eq!(resolve_index(-1, 4), Some(3));
/// assert_eq!(resolve_index(4, 4), None);
/// assert_eq!(resolve_index(i64::MIN, u64::MAX), Some(u64::MAX - (1 << 63)));
/// ```
pub fn resolve_index(i: i64, len: u64) -> Option<u64> {
    if i < 0 {
        len.checked_sub(i.unsigned_abs())
    } else {
        Some(i.unsigned_abs()).filter(|&i| i < len)
    }
}

#[cfg(test)]
// Expected values are lists of ranges, some of them of one range.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    /// `(start, end, first, rows)` of the pieces of one indexed file.
    fn one_file(offsets: &[u64], parts: u64, block_bytes: u64) -> Vec<(u64, u64, u64, u64)> {
        split_files(&[FileLayout::Frames(offsets)], parts, block_bytes)
            .iter()
            .filter_map(|p| p.span.map(|s| (s.start, s.end, s.first, s.rows)))
            .collect()
    }

    #[test]
    fn one_file_in_equal_shares() {
        let offsets: Vec<u64> = (0..=8).map(|i| i * 10).collect();
        let quarters = [
            (0, 20, 0, 2),
            (20, 40, 2, 2),
            (40, 60, 4, 2),
            (60, 80, 6, 2),
        ];
        assert_eq!(one_file(&offsets, 4, 1 << 20), quarters);
    }

    #[test]
    fn empty_files_make_no_piece_and_streams_one() {
        let empty = [0u64];
        let none: [u64; 0] = [];
        let two = [0u64, 5, 10];
        let files = [
            FileLayout::Frames(&empty),
            FileLayout::Stream { len: 123 },
            FileLayout::Frames(&none),
            FileLayout::Frames(&two),
        ];
        let pieces = split_files(&files, 1, 1 << 20);
        assert_eq!(
            pieces,
            [
                Piece {
                    file: 1,
                    span: None
                },
                Piece {
                    file: 3,
                    span: Some(Span {
                        start: 0,
                        end: 10,
                        first: 0,
                        rows: 2
                    })
                }
            ]
        );
        assert_eq!(total_bytes(&files), 133);
    }

    #[test]
    fn more_parts_than_records_make_no_empty_piece() {
        let each = [(0, 10, 0, 1), (10, 20, 1, 1), (20, 30, 2, 1)];
        assert_eq!(one_file(&[0, 10, 20, 30], 100, 1 << 20), each);
        // Two byte shares end inside record 1: one cut, no empty piece.
        let two = [(0, 30, 0, 2), (30, 31, 2, 1)];
        assert_eq!(one_file(&[0, 7, 30, 31], 100, 1 << 20), two);
    }

    #[test]
    fn cuts_inside_a_record_move_to_the_next_frame() {
        // One big record: the equal-share targets fall inside it.
        let offsets = [0u64, 10, 1000, 1010, 1020];
        let halves = [(0, 1000, 0, 2), (1000, 1020, 2, 2)];
        assert_eq!(one_file(&offsets, 4, 1 << 20), halves);
    }

    #[test]
    fn block_bytes_bound_a_piece_up_to_one_record() {
        let offsets: Vec<u64> = (0..=10).map(|i| i * 100).collect();
        let blocks = [
            (0, 300, 0, 3),
            (300, 500, 3, 2),
            (500, 800, 5, 3),
            (800, 1000, 8, 2),
        ];
        assert_eq!(one_file(&offsets, 1, 250), blocks);
        assert_eq!(one_file(&[0, 1000], 1, 10), [(0, 1000, 0, 1)]);
    }

    #[test]
    fn bigger_files_get_more_pieces() {
        let small: Vec<u64> = (0..=10).map(|i| i * 10).collect();
        let large: Vec<u64> = (0..=30).map(|i| i * 10).collect();
        let files = [FileLayout::Frames(&small), FileLayout::Frames(&large)];
        let pieces = split_files(&files, 4, 1 << 20);
        let per_file = |f| pieces.iter().filter(|p| p.file == f).count();
        assert_eq!((per_file(0), per_file(1)), (1, 3));
    }

    #[test]
    fn u64_offsets_do_not_overflow() {
        let top = u64::MAX;
        let offsets = [top - 40, top - 30, top - 20, top - 10, top];
        let pieces = split_files(&[FileLayout::Frames(&offsets)], u64::MAX, u64::MAX);
        assert_eq!(pieces.len(), 4);
        let files = [
            FileLayout::Stream { len: top },
            FileLayout::Frames(&offsets),
        ];
        assert_eq!(total_bytes(&files), u64::MAX);
        assert_eq!(split_files(&files, 0, 0).len(), 5);
        assert_eq!(default_parts(u64::MAX, u64::MAX, 0), u64::MAX);
    }

    #[test]
    fn shares_round_half_to_even() {
        assert_eq!(round_half_even(5, 2), 2);
        assert_eq!(round_half_even(7, 2), 4);
        assert_eq!(round_half_even(7, 3), 2);
        assert_eq!(round_half_even(8, 3), 3);
        assert_eq!(round_half_even(0, 3), 0);
    }

    #[test]
    fn groups_are_contiguous_and_even() {
        assert_eq!(contiguous_groups(7, 3), [0..3, 3..5, 5..7]);
        assert_eq!(contiguous_groups(3, 3), [0..1, 1..2, 2..3]);
        assert_eq!(contiguous_groups(4, 1), [0..4]);
        assert!(contiguous_groups(4, 0).is_empty());
        for items in 0..40 {
            for groups in 1..12 {
                let got = contiguous_groups(items, groups);
                assert_eq!(got.len(), groups.min(items));
                let flat: Vec<usize> = got.iter().cloned().flatten().collect();
                assert_eq!(flat, (0..items).collect::<Vec<_>>());
                for (g, r) in got.iter().enumerate() {
                    assert!(r.clone().all(|i| i * got.len() / items == g));
                }
            }
        }
    }

    #[test]
    fn record_ranges_cover_the_file() {
        assert_eq!(record_ranges(5, 100, 0), [0..1, 1..2, 2..3, 3..4, 4..5]);
        assert_eq!(record_ranges(3, 10_000, 10), [0..1, 1..2, 2..3]);
        assert_eq!(record_ranges(0, 500, 10), [0..0]);
        assert_eq!(record_ranges(u64::MAX, u64::MAX, u64::MAX / 2).len(), 3);
        for records in 0..30u64 {
            for bytes in [0u64, 1, 50, 999] {
                let got = record_ranges(records, bytes, 100);
                assert_eq!(got.first().map(|r| r.start), Some(0));
                assert_eq!(got.last().map(|r| r.end), Some(records));
                assert!(got.windows(2).all(|w| w[0].end == w[1].start));
            }
        }
    }

    #[test]
    fn numbering_locates_across_files() {
        let n = RecordNumbering::from_counts([2, 0, 3]).unwrap();
        assert_eq!(n.len(), 5);
        assert_eq!(n.files(), 3);
        assert_eq!(n.starts(), [0, 2, 2, 5]);
        let all: Vec<_> = (0..5).map(|i| n.locate(i).unwrap()).collect();
        assert_eq!(all, [(0, 0), (0, 1), (2, 0), (2, 1), (2, 2)]);
        assert_eq!(n.locate(-5), Some((0, 0)));
        assert_eq!(n.locate(5), None);
        assert_eq!(n.locate(-6), None);
        assert_eq!(n.locate(i64::MIN), None);
        assert_eq!(n.locate(i64::MAX), None);
    }

    #[test]
    fn numbering_of_nothing_and_of_too_much() {
        let none = RecordNumbering::from_counts([]).unwrap();
        assert!(none.is_empty());
        assert_eq!(none.files(), 0);
        assert_eq!(none.locate(0), None);
        let empty = RecordNumbering::from_counts([0, 0]).unwrap();
        assert_eq!(empty.locate(-1), None);
        let err = RecordNumbering::from_counts([u64::MAX, 1]).unwrap_err();
        assert!(matches!(err.kind(), crate::ErrorKind::InvalidInput { .. }));
        let full = RecordNumbering::from_counts([u64::MAX - 1, 1]).unwrap();
        assert_eq!(full.locate(-1), Some((1, 0)));
        assert_eq!(full.locate(i64::MAX), Some((0, i64::MAX as u64)));
    }

    #[test]
    fn negative_indices_count_from_the_end() {
        assert_eq!(resolve_index(0, 0), None);
        assert_eq!(resolve_index(-1, 0), None);
        assert_eq!(resolve_index(0, 1), Some(0));
        assert_eq!(resolve_index(-4, 4), Some(0));
        assert_eq!(resolve_index(-5, 4), None);
        assert_eq!(resolve_index(i64::MAX, u64::MAX), Some(i64::MAX as u64));
    }
}
