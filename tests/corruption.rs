//! Damaged files: every single-bit flip and every truncation is reported,
//! at the right record, and never turns into a wrong record.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::io::{Cursor, Read};
use std::path::Path;

use common::*;
use tfrec::{Compression, Error, ErrorKind, ReadOptions, Reader, Tensor, Writer};

/// Reads every record and decodes it, stopping at the first error.
fn read_all(reader: &mut Reader) -> (Vec<Tensor>, Option<Error>) {
    let mut tensors = Vec::new();
    for record in reader.records() {
        match record.and_then(|r| r.decode().map(|t| t.to_owned())) {
            Ok(t) => tensors.push(t),
            Err(e) => return (tensors, Some(e)),
        }
    }
    (tensors, None)
}

/// The record containing byte `at`.
fn record_at(offsets: &[u64], at: usize) -> usize {
    offsets.iter().rposition(|&o| o <= at as u64).unwrap()
}

fn kind_name(e: &Error) -> &'static str {
    e.kind().name()
}

/// Checks the outcome of reading a file with byte `at` flipped.
fn check_flip(
    what: &str,
    at: usize,
    bit: u8,
    tensors: &[Tensor],
    offsets: &[u64],
    read: (Vec<Tensor>, Option<Error>),
    path: Option<&Path>,
) {
    let (got, err) = read;
    let k = record_at(offsets, at);
    let err =
        err.unwrap_or_else(|| panic!("{what}: flip of bit {bit} of byte {at} went unnoticed"));
    assert_eq!(
        got,
        tensors[..k],
        "{what}: byte {at} bit {bit}: records before the damage"
    );
    assert_eq!(
        err.record_index(),
        Some(k as u64),
        "{what}: byte {at} bit {bit}: {err}"
    );
    assert_eq!(
        err.offset(),
        Some(offsets[k]),
        "{what}: byte {at} bit {bit}: {err}"
    );
    assert_eq!(err.path(), path, "{what}: byte {at} bit {bit}: {err}");
    let within = at as u64 - offsets[k];
    let want = if within < 12 {
        "corrupt_length"
    } else {
        "corrupt_data"
    };
    assert_eq!(
        kind_name(&err),
        want,
        "{what}: byte {at} bit {bit} ({within} into the frame): {err}"
    );
}

#[test]
fn every_bit_flip_is_caught_at_its_record() {
    let (tensors, bytes, offsets) = mixed_file();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flipped.tfrecord");
    let streamed = ReadOptions::default().mmap(false);
    for at in 0..bytes.len() {
        for bit in 0..8u8 {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1 << bit;
            fs::write(&path, &damaged).unwrap();

            let mut mapped = Reader::open(&path).unwrap();
            assert!(mapped.mapped_bytes().is_some());
            check_flip(
                "mmap",
                at,
                bit,
                &tensors,
                &offsets,
                read_all(&mut mapped),
                Some(&path),
            );
            let mut unmapped = Reader::open_with(&path, streamed).unwrap();
            check_flip(
                "stream",
                at,
                bit,
                &tensors,
                &offsets,
                read_all(&mut unmapped),
                Some(&path),
            );
            let mut from_read = Reader::from_read(Cursor::new(damaged.clone())).unwrap();
            check_flip(
                "from_read",
                at,
                bit,
                &tensors,
                &offsets,
                read_all(&mut from_read),
                None,
            );

            // `count` checks lengths only: it notices exactly the header flips.
            let k = record_at(&offsets, at);
            let in_header = (at as u64 - offsets[k]) < 12;
            match Reader::open(&path).unwrap().count() {
                Ok(n) => {
                    assert!(
                        !in_header,
                        "count missed a flip in the header of record {k}"
                    );
                    assert_eq!(n, tensors.len() as u64);
                }
                Err(e) => {
                    assert!(in_header, "count failed on a payload flip: {e}");
                    assert_eq!(kind_name(&e), "corrupt_length");
                    // (The path is checked in `count_errors_carry_the_path`.)
                    assert_eq!(
                        (e.record_index(), e.offset()),
                        (Some(k as u64), Some(offsets[k]))
                    );
                }
            }
        }
    }
}

#[test]
fn every_truncation_ends_cleanly_or_is_reported() {
    let (tensors, bytes, offsets) = mixed_file();
    let lens: Vec<u64> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.tfrecord");
    for cut in 0..=bytes.len() {
        let prefix = &bytes[..cut];
        fs::write(&path, prefix).unwrap();
        let readers: [(&str, Reader, Option<&Path>); 3] = [
            ("mmap", Reader::open(&path).unwrap(), Some(&path)),
            (
                "stream",
                Reader::open_with(&path, ReadOptions::default().mmap(false)).unwrap(),
                Some(&path),
            ),
            (
                "from_read",
                Reader::from_read(Cursor::new(prefix.to_vec())).unwrap(),
                None,
            ),
        ];
        for (what, mut reader, want_path) in readers {
            let (got, err) = read_all(&mut reader);
            match offsets.iter().position(|&o| o == cut as u64) {
                Some(k) => {
                    assert!(
                        err.is_none(),
                        "{what}: cut at the frame boundary {cut}: {err:?}"
                    );
                    assert_eq!(got, tensors[..k], "{what}: cut {cut}");
                }
                None => {
                    let k = record_at(&offsets, cut);
                    let err = err.unwrap_or_else(|| panic!("{what}: cut {cut} went unnoticed"));
                    assert_eq!(got, tensors[..k], "{what}: cut {cut}");
                    let available = cut as u64 - offsets[k];
                    let needed = if available < 12 { 12 } else { lens[k] };
                    assert_eq!(
                        err.kind(),
                        &ErrorKind::TruncatedRecord { needed, available },
                        "{what}: cut {cut}: {err}"
                    );
                    assert!(err.is_truncated());
                    assert_eq!(
                        (err.record_index(), err.offset()),
                        (Some(k as u64), Some(offsets[k]))
                    );
                    assert_eq!(err.path(), want_path);
                }
            }
        }
        // Counting agrees.
        let counted = Reader::open(&path).unwrap().count();
        match offsets.iter().position(|&o| o == cut as u64) {
            Some(k) => assert_eq!(counted.unwrap(), k as u64),
            None => assert!(counted.unwrap_err().is_truncated()),
        }
    }
}

/// Truncating the decompressed stream inside a gzip or zlib file reads like
/// a truncated plain file.
#[test]
fn truncated_record_streams_inside_compression() {
    let (tensors, bytes, offsets) = mixed_file();
    for cut in [1, 11, 12, offsets[1] as usize + 13, bytes.len() - 1] {
        for c in [Compression::Gzip, Compression::Zlib] {
            let compressed = compress(&bytes[..cut], c);
            let (got, err) = read_all(&mut Reader::from_read(Cursor::new(compressed)).unwrap());
            let err = err.unwrap_or_else(|| panic!("{c}: cut {cut} went unnoticed"));
            assert!(err.is_truncated(), "{c}: cut {cut}: {err}");
            let k = record_at(&offsets, cut);
            assert_eq!(got, tensors[..k]);
            assert_eq!(err.record_index(), Some(k as u64));
        }
    }
}

/// Cutting a compressed file short anywhere is an error, never a clean end.
#[test]
fn every_truncation_of_a_compressed_file_is_an_error() {
    let (tensors, bytes, _) = mixed_file();
    for c in [Compression::Gzip, Compression::Zlib] {
        let compressed = compress(&bytes, c);
        for cut in 1..compressed.len() {
            let mut reader = Reader::from_read(Cursor::new(compressed[..cut].to_vec())).unwrap();
            let (got, err) = read_all(&mut reader);
            assert!(
                err.is_some(),
                "{c}: cut at {cut} of {} read as {} records",
                compressed.len(),
                got.len()
            );
            assert_eq!(got, tensors[..got.len()]);
        }
    }
}

/// A length of 2^63 or u64::MAX with a valid CRC is refused before anything
/// is read or allocated: too large under the default limit, truncated
/// without one.
#[test]
fn huge_lengths_fail_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for len in [1u64 << 63, u64::MAX] {
        let mut file = header(len);
        file.extend_from_slice(&[0u8; 40]);
        let path = dir.path().join("huge.tfrecord");
        fs::write(&path, &file).unwrap();
        let gz_path = dir.path().join("huge-gz.tfrecord");
        fs::write(&gz_path, compress(&file, Compression::Gzip)).unwrap();

        let default_limit = ReadOptions::default();
        let unlimited = ReadOptions::default().max_record_len(u64::MAX);
        let needed = len.saturating_add(16);
        let too_large = ErrorKind::RecordTooLarge {
            length: len,
            limit: 2 << 30,
        };
        let truncated = ErrorKind::TruncatedRecord {
            needed,
            available: file.len() as u64,
        };

        for (options, want) in [(default_limit, &too_large), (unlimited, &truncated)] {
            for (what, p, mmap) in [
                ("mapped", &path, true),
                ("streamed", &path, false),
                ("gzip", &gz_path, true),
            ] {
                let mut r = Reader::open_with(p, options.mmap(mmap)).unwrap();
                assert_eq!(r.mapped_bytes().is_some(), what == "mapped");
                let err = r.records().next().unwrap().unwrap_err();
                assert_eq!(err.kind(), want, "{what} {len}");
                assert_eq!((err.record_index(), err.offset()), (Some(0), Some(0)));
                assert_eq!(err.path(), Some(p.as_path()));
                assert!(
                    r.records().next().is_none(),
                    "{what}: reading goes on after an error"
                );

                let err = Reader::open_with(p, options.mmap(mmap))
                    .unwrap()
                    .count()
                    .unwrap_err();
                assert_eq!(err.kind(), want, "{what} count {len}");
            }
            let mut r = Reader::from_read_with(Cursor::new(file.clone()), options).unwrap();
            let err = r.records().next().unwrap().unwrap_err();
            assert_eq!(err.kind(), want, "from_read {len}");
            assert_eq!(err.path(), None);
            let gz = compress(&file, Compression::Gzip);
            let mut r = Reader::from_read_with(Cursor::new(gz), options).unwrap();
            assert_eq!(r.compression(), Compression::Gzip);
            assert_eq!(
                r.records().next().unwrap().unwrap_err().kind(),
                want,
                "gzip from_read {len}"
            );
        }

        // Under the default limit nothing past the header is consumed: an
        // endless stream behind it fails at once instead of being read.
        let endless = Cursor::new(header(len)).chain(BoundedZeros {
            served: 0,
            limit: 64 << 20,
        });
        let mut r = Reader::from_read(endless).unwrap();
        let err = r.records().next().unwrap().unwrap_err();
        assert_eq!(err.kind(), &too_large);
    }
}

/// Lengths just over the configured limit are refused, lengths at it are not.
#[test]
fn max_record_len_is_inclusive() {
    let payloads = vec![vec![7u8; 100]];
    let bytes = frame_all(&payloads);
    for (limit, ok) in [(99u64, false), (100, true)] {
        let options = ReadOptions::default().max_record_len(limit);
        let mut r = Reader::from_read_with(Cursor::new(bytes.clone()), options).unwrap();
        let first = r.records().next().unwrap();
        assert_eq!(first.is_ok(), ok, "limit {limit}");
        if !ok {
            assert_eq!(
                first.unwrap_err().kind(),
                &ErrorKind::RecordTooLarge { length: 100, limit }
            );
        }
    }
}

/// Decode errors name the record they come from.
#[test]
fn decode_errors_carry_the_record_position() {
    let (_, mut bytes, offsets) = mixed_file();
    let payload = b"\x08\x01\x12\x02\x12\x00\x22\x03abc".to_vec(); // float [0] with content
    bytes.extend(frame_all(&[payload]));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad-tensor.tfrecord");
    fs::write(&path, &bytes).unwrap();
    let (got, err) = read_all(&mut Reader::open(&path).unwrap());
    assert_eq!(got.len(), 6);
    let err = err.unwrap();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidTensor { .. }),
        "{err}"
    );
    assert_eq!(
        (err.record_index(), err.offset()),
        (Some(6), Some(offsets[6]))
    );
}

/// Every flip of a gzip or zlib file is noticed, except in places that no
/// check covers, by the design of the formats:
///
/// - gzip header bytes 4..8 (MTIME, a timestamp free to hold any value),
///   byte 8 (XFL, a hint about the compressor's settings), byte 9 (OS, the
///   originating file system) and bit 0 of byte 3 (FLG.FTEXT, a hint that
///   the data is probably text). A CRC covers them only when FLG.FHCRC is
///   set, which these files do not use. All other header bits are checked:
///   ID1/ID2/CM by value, reserved FLG bits are refused, and
///   FHCRC/FEXTRA/FNAME/FCOMMENT make the decoder take deflate data for
///   header fields, which then fails. In zlib every header flip breaks the
///   FCHECK multiple-of-31 rule (a single flip changes the 16-bit value by a
///   power of two, never a multiple of 31), or CM/CINFO.
/// - the padding bits after the final deflate block: deflate packs bits from
///   the low end of each byte and ends the stream at a bit boundary, so the
///   top bits of the last deflate byte (just before the gzip CRC32/ISIZE or
///   zlib Adler-32 trailer) are unused, and neither trailer checksum covers
///   compressed bytes.
fn undetectable_gzip_header_flips() -> BTreeSet<(usize, u8)> {
    let mut set: BTreeSet<(usize, u8)> = (4..10)
        .flat_map(|at| (0..8).map(move |bit| (at, bit)))
        .collect();
    set.insert((3, 0));
    set
}

#[test]
fn every_bit_flip_in_a_compressed_file_is_caught() {
    let (tensors, bytes, _) = mixed_file();
    for c in [Compression::Gzip, Compression::Zlib] {
        let compressed = compress(&bytes, c);
        let mut w = Writer::with_compression(Vec::new(), c);
        for t in &tensors {
            w.write_tensor(t).unwrap();
        }
        assert_eq!(
            w.finish().unwrap(),
            compressed,
            "the test compresses as the writer does"
        );
        let (exempt_header, trailer_len) = match c {
            Compression::Gzip => (undetectable_gzip_header_flips(), 8),
            _ => (BTreeSet::new(), 4),
        };
        let last_deflate_byte = compressed.len() - trailer_len - 1;
        let mut unnoticed = BTreeSet::new();
        for at in 0..compressed.len() {
            for bit in 0..8u8 {
                let mut damaged = compressed.clone();
                damaged[at] ^= 1 << bit;
                let (got, err) = match Reader::from_read(Cursor::new(damaged)) {
                    Ok(mut r) => read_all(&mut r),
                    Err(e) => (Vec::new(), Some(e)),
                };
                // Whatever was read before the error is right.
                assert_eq!(got, tensors[..got.len()], "{c}: byte {at} bit {bit}");
                match err {
                    None => {
                        assert_eq!(got, tensors, "{c}: byte {at} bit {bit} gave other tensors");
                        unnoticed.insert((at, bit));
                    }
                    Some(e) => assert!(
                        matches!(
                            e.kind(),
                            ErrorKind::Io
                                | ErrorKind::CorruptLength { .. }
                                | ErrorKind::CorruptData { .. }
                                | ErrorKind::TruncatedRecord { .. }
                                | ErrorKind::RecordTooLarge { .. }
                        ),
                        "{c}: byte {at} bit {bit}: {e}"
                    ),
                }
            }
        }
        let padding: Vec<u8> = unnoticed
            .iter()
            .filter(|&&(at, _)| at == last_deflate_byte)
            .map(|&(_, bit)| bit)
            .collect();
        let elsewhere: BTreeSet<(usize, u8)> = unnoticed
            .iter()
            .copied()
            .filter(|&(at, _)| at != last_deflate_byte)
            .collect();
        assert_eq!(
            elsewhere, exempt_header,
            "{c}: flips that read back without an error"
        );
        // Padding is the top bits of the byte, all of them, and never all 8.
        assert!(padding.len() < 8, "{c}: {padding:?}");
        assert_eq!(
            padding,
            (8 - padding.len() as u8..8).collect::<Vec<_>>(),
            "{c}: padding bits"
        );
        let used_mask = 0xffu8 >> padding.len();
        assert_eq!(
            compressed[last_deflate_byte] & !used_mask,
            0,
            "{c}: padding is zero"
        );
    }
}

/// A file from disk says which file: errors carry the path for mapped,
/// streamed and compressed files alike.
#[test]
fn errors_carry_the_path() {
    let (_, bytes, offsets) = mixed_file();
    let dir = tempfile::tempdir().unwrap();
    let mut damaged = bytes.clone();
    damaged[offsets[2] as usize + 14] ^= 4;
    for c in [Compression::None, Compression::Gzip, Compression::Zlib] {
        let path = dir.path().join(format!("damaged-{}.tfrecord", c.name()));
        fs::write(&path, compress(&damaged, c)).unwrap();
        for mmap in [true, false] {
            let mut r = Reader::open_with(&path, ReadOptions::default().mmap(mmap)).unwrap();
            let (_, err) = read_all(&mut r);
            let err = err.unwrap();
            assert_eq!(err.path(), Some(path.as_path()), "{c} mmap={mmap}");
            assert_eq!(err.record_index(), Some(2));
            let text = err.to_string();
            assert!(
                text.starts_with(&format!(
                    "{}: record 2 at offset {}: ",
                    path.display(),
                    offsets[2]
                )),
                "{text}"
            );
        }
    }
    let missing = dir.path().join("missing.tfrecord");
    let err = Reader::open(&missing).err().unwrap();
    assert_eq!(err.kind(), &ErrorKind::Io);
    assert_eq!(err.path(), Some(missing.as_path()));
    assert_eq!(err.io_error().unwrap().kind(), std::io::ErrorKind::NotFound);
}

/// Content detection does not take a damaged plain file for a zlib stream:
/// a plain file whose first record is 120 bytes long (length bytes `78 00`)
/// with bit 0 of byte 1 flipped starts `78 01`, a valid zlib header, yet the
/// error must be `CorruptLength`, not a deflate error. Likewise a plain file
/// cut short inside its first header when that record is 376 bytes long
/// (`78 01`) is `TruncatedRecord`.
#[test]
fn damaged_plain_file_is_not_taken_for_zlib() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.tfrecord");

    let mut bytes = frame_all(&[vec![0u8; 120], vec![1u8; 3]]);
    bytes[1] ^= 1;
    fs::write(&path, &bytes).unwrap();
    let err = read_all(&mut Reader::open(&path).unwrap()).1.unwrap();
    assert_eq!(
        kind_name(&err),
        "corrupt_length",
        "flipped length 78 00 -> 78 01: {err}"
    );

    let bytes = frame_all(&[vec![0u8; 376]]);
    fs::write(&path, &bytes[..8]).unwrap();
    let err = read_all(&mut Reader::open(&path).unwrap()).1.unwrap();
    assert!(
        err.is_truncated(),
        "plain file cut to 8 bytes, length bytes 78 01: {err}"
    );
}

/// `count` errors name the file, as `records()` and `next_record()` errors
/// do, for mapped and streamed files alike.
#[test]
fn count_errors_carry_the_path() {
    let (_, mut bytes, offsets) = mixed_file();
    bytes[offsets[3] as usize + 2] ^= 1;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad-length.tfrecord");
    fs::write(&path, &bytes).unwrap();
    for mmap in [true, false] {
        let err = Reader::open_with(&path, ReadOptions::default().mmap(mmap))
            .unwrap()
            .count()
            .unwrap_err();
        assert_eq!(kind_name(&err), "corrupt_length");
        assert_eq!(err.record_index(), Some(3));
        assert_eq!(err.path(), Some(path.as_path()), "mmap={mmap}: {err}");
    }
}
