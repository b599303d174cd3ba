//! Pieces from `tfrec::partition` over real TFRecord bytes: every piece
//! starts and ends on frames, reads back as the records it names, and the
//! pieces of all files cover every record exactly once; global record
//! numbers land on the same records as reading the files one after another.

use proptest::prelude::*;
use tfrec::index::Index;
use tfrec::partition::{
    contiguous_groups, record_ranges, split_files, FileLayout, Piece, RecordNumbering,
};
use tfrec::{SliceReader, Writer};

/// A file of records of the given payload lengths; record `i` is filled
/// with byte `i`.
fn file(lengths: &[usize]) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    for (i, &n) in lengths.iter().enumerate() {
        w.write_record(&vec![i as u8; n]).unwrap();
    }
    w.finish().unwrap()
}

/// Frame offsets then the file's length, as a splitter takes them.
fn offsets(bytes: &[u8]) -> Vec<u64> {
    let index = Index::scan_bytes(bytes).unwrap();
    let mut out: Vec<u64> = index.iter().map(|e| e.offset).collect();
    out.push(index.file_len());
    out
}

/// Reads every piece from its bytes and checks it against the records of
/// its file; returns `(file, record index)` of every record read.
fn read_pieces(files: &[Vec<u8>], lengths: &[Vec<usize>], pieces: &[Piece]) -> Vec<(usize, u64)> {
    let mut seen = Vec::new();
    for piece in pieces {
        let span = piece.span.expect("indexed files have spans");
        let bytes = &files[piece.file][span.start as usize..span.end as usize];
        let mut rows = 0;
        for record in SliceReader::new(bytes) {
            let record = record.expect("a piece starts and ends on frames");
            let index = span.first + record.index;
            let want = lengths[piece.file][index as usize];
            assert_eq!(record.payload.len(), want);
            assert!(record.payload.iter().all(|&b| b == index as u8));
            seen.push((piece.file, index));
            rows += 1;
        }
        assert_eq!(rows, span.rows);
        assert!(rows > 0, "no piece is empty");
    }
    seen
}

#[test]
fn a_big_record_between_small_ones_stays_whole() {
    let lengths = vec![vec![10, 5000, 10, 10, 10, 10]];
    let bytes = vec![file(&lengths[0])];
    let layout = offsets(&bytes[0]);
    let pieces = split_files(&[FileLayout::Frames(&layout)], 8, 1 << 20);
    let seen = read_pieces(&bytes, &lengths, &pieces);
    assert_eq!(seen, (0..6).map(|i| (0, i)).collect::<Vec<_>>());
}

#[test]
fn empty_files_and_streams_among_indexed_ones() {
    let lengths = vec![vec![], vec![3; 7], vec![], vec![1; 2]];
    let bytes: Vec<Vec<u8>> = lengths.iter().map(|l| file(l)).collect();
    let layouts: Vec<Vec<u64>> = bytes.iter().map(|b| offsets(b)).collect();
    let mut files: Vec<FileLayout<'_>> = layouts.iter().map(|o| FileLayout::Frames(o)).collect();
    let pieces = split_files(&files, 3, 1 << 20);
    assert!(pieces.iter().all(|p| p.file == 1 || p.file == 3));
    let seen = read_pieces(&bytes, &lengths, &pieces);
    assert_eq!(seen.len(), 9);
    // A stream in place of file 1: one piece, read whole.
    files[1] = FileLayout::Stream { len: 1 << 40 };
    let pieces = split_files(&files, 3, 1 << 20);
    assert_eq!(pieces.iter().filter(|p| p.span.is_none()).count(), 1);
    assert_eq!(pieces.first().map(|p| (p.file, p.span)), Some((1, None)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn pieces_cover_every_record_once(
        lengths in prop::collection::vec(prop::collection::vec(0usize..300, 0..40), 1..5),
        parts in 1u64..50,
        block in 1u64..4000,
    ) {
        let bytes: Vec<Vec<u8>> = lengths.iter().map(|l| file(l)).collect();
        let layouts: Vec<Vec<u64>> = bytes.iter().map(|b| offsets(b)).collect();
        let files: Vec<FileLayout<'_>> = layouts.iter().map(|o| FileLayout::Frames(o)).collect();
        let pieces = split_files(&files, parts, block);
        let seen = read_pieces(&bytes, &lengths, &pieces);
        let all: Vec<(usize, u64)> = lengths
            .iter()
            .enumerate()
            .flat_map(|(f, l)| (0..l.len() as u64).map(move |i| (f, i)))
            .collect();
        prop_assert_eq!(seen, all);
        // Grouped into tasks, the pieces stay in order and all present.
        let groups = contiguous_groups(pieces.len(), parts as usize);
        let flat: Vec<usize> = groups.into_iter().flatten().collect();
        prop_assert_eq!(flat, (0..pieces.len()).collect::<Vec<_>>());
    }

    #[test]
    fn numbering_matches_reading_files_in_turn(
        lengths in prop::collection::vec(prop::collection::vec(0usize..20, 0..12), 0..5),
    ) {
        let counts = lengths.iter().map(|l| l.len() as u64);
        let numbering = RecordNumbering::from_counts(counts).unwrap();
        let in_turn: Vec<(usize, u64)> = lengths
            .iter()
            .enumerate()
            .flat_map(|(f, l)| (0..l.len() as u64).map(move |i| (f, i)))
            .collect();
        let n = numbering.len() as i64;
        prop_assert_eq!(n as usize, in_turn.len());
        for (i, want) in in_turn.iter().enumerate() {
            prop_assert_eq!(numbering.locate(i as i64), Some(*want));
            prop_assert_eq!(numbering.locate(i as i64 - n), Some(*want));
        }
        prop_assert_eq!(numbering.locate(n), None);
        prop_assert_eq!(numbering.locate(-n - 1), None);
    }

    #[test]
    fn record_ranges_are_consecutive_and_about_partition_bytes(
        records in 0u64..10_000,
        record_bytes in 1u64..5000,
        partition in 1u64..1_000_000,
    ) {
        let size = records * record_bytes;
        let ranges = record_ranges(records, size, partition);
        prop_assert_eq!(ranges.first().map(|r| r.start), Some(0));
        prop_assert_eq!(ranges.last().map(|r| r.end), Some(records));
        prop_assert!(ranges.windows(2).all(|w| w[0].end == w[1].start && w[0].start < w[0].end));
        let per = ranges[0].end - ranges[0].start;
        if size > partition {
            prop_assert!(per * record_bytes <= partition || per == 1);
        }
    }
}
