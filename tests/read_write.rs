//! Writing and reading whole files: sinks, atomic creation, compression,
//! every reader source, offsets, options.

mod common;

use std::fs;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use common::*;
use tfrec::{Compression, ReadOptions, Reader, SliceReader, Tensor, TensorView, Writer};

const ALL_COMPRESSIONS: [Compression; 3] =
    [Compression::None, Compression::Gzip, Compression::Zlib];

/// (payload, offset, index) of every record, failing on the first error.
fn list(reader: &mut Reader) -> Listing {
    read_records(reader)
}

fn list_lending(reader: &mut Reader) -> Listing {
    let mut out = Vec::new();
    while let Some(r) = reader.next_record() {
        let r = r.unwrap_or_else(|e| panic!("{e}"));
        out.push((r.payload.to_vec(), r.offset, r.index));
    }
    out
}

/// What `payloads` should read back as: each with its frame's offset.
fn expected_listing(payloads: &[Vec<u8>]) -> Listing {
    let offsets = frame_offsets(&payloads.iter().map(Vec::len).collect::<Vec<_>>());
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| (p.clone(), offsets[i], i as u64))
        .collect()
}

/// Payloads of assorted sizes, including empty ones and one of 200 bytes
/// whose length takes two bytes in varint form.
fn assorted_payloads() -> Vec<Vec<u8>> {
    let mut payloads: Vec<Vec<u8>> = one_of_each_dtype()
        .iter()
        .map(|t| t.to_proto_bytes())
        .collect();
    payloads.insert(3, Vec::new());
    payloads.push(pseudo_random_bytes(200, 7));
    payloads.push(Vec::new());
    payloads
}

fn write_all(writer_payloads: &[Vec<u8>], compression: Compression) -> Vec<u8> {
    let mut w = Writer::with_compression(Vec::new(), compression);
    for p in writer_payloads {
        w.write_record(p).unwrap();
    }
    w.finish().unwrap()
}

fn write_file(path: &Path, payloads: &[Vec<u8>], compression: Compression) {
    let mut w = Writer::create_with(path, compression).unwrap();
    for p in payloads {
        w.write_record(p).unwrap();
    }
    assert_eq!(w.finish().unwrap(), path);
}

fn decompress(bytes: &[u8], compression: Compression) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    match compression {
        Compression::None => out.extend_from_slice(bytes),
        Compression::Gzip => {
            flate2::read::MultiGzDecoder::new(bytes)
                .read_to_end(&mut out)
                .unwrap();
        }
        Compression::Zlib => {
            flate2::read::ZlibDecoder::new(bytes)
                .read_to_end(&mut out)
                .unwrap();
        }
    }
    out
}

#[test]
fn writer_frames_exactly_as_specified() {
    let tensors = one_of_each_dtype();
    let mut w = Writer::new(Vec::new());
    let mut payloads = Vec::new();
    for (i, t) in tensors.iter().enumerate() {
        if i % 2 == 0 {
            w.write_tensor(t).unwrap();
        } else {
            // A view works as well as an owned tensor.
            let view: TensorView<'_> = t.view();
            w.write_tensor(&view).unwrap();
        }
        payloads.push(t.to_proto_bytes());
    }
    w.write_record(b"").unwrap();
    payloads.push(Vec::new());
    assert_eq!(w.records_written(), payloads.len() as u64);
    let frames = frame_all(&payloads);
    assert_eq!(w.bytes_written(), frames.len() as u64);
    let bytes = w.finish().unwrap();
    assert_eq!(bytes, frames);

    let read: Vec<_> = SliceReader::new(&bytes).map(|r| r.unwrap()).collect();
    assert_eq!(read.len(), payloads.len());
    for (r, t) in read.iter().zip(&tensors) {
        assert_eq!(&r.decode().unwrap(), &**t);
    }
    assert!(read.last().unwrap().payload.is_empty());
}

#[test]
fn compressed_writers_produce_the_same_frames() {
    let payloads = assorted_payloads();
    let plain = frame_all(&payloads);
    for c in [Compression::Gzip, Compression::Zlib] {
        let bytes = write_all(&payloads, c);
        assert_ne!(bytes, plain);
        assert_eq!(Compression::detect(&bytes), c);
        assert_eq!(decompress(&bytes, c), plain, "{c}");
    }
}

#[test]
fn atomic_create_appears_only_when_finished() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.tfrecord");
    let payloads = assorted_payloads();

    let mut w = Writer::create(&path).unwrap();
    for p in &payloads {
        w.write_record(p).unwrap();
    }
    assert!(!path.exists(), "the final file exists before finish()");
    let names = dir_entries(dir.path());
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(
        names[0].starts_with(".data.tfrecord.") && names[0].ends_with(".tmp"),
        "{names:?}"
    );
    assert_eq!(w.finish().unwrap(), path);
    assert_eq!(dir_entries(dir.path()), ["data.tfrecord"]);
    assert_eq!(fs::read(&path).unwrap(), frame_all(&payloads));

    // Unfinished writers leave nothing behind, whatever the compression.
    for c in ALL_COMPRESSIONS {
        let other = dir.path().join("abandoned.tfrecord");
        let mut w = Writer::create_with(&other, c).unwrap();
        for p in &payloads {
            w.write_record(p).unwrap();
        }
        assert_eq!(dir_entries(dir.path()).len(), 2);
        drop(w);
        assert_eq!(dir_entries(dir.path()), ["data.tfrecord"], "{c}");
    }
}

#[test]
fn atomic_create_replaces_an_existing_file_only_on_finish() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.tfrecord");
    fs::write(&path, b"old contents").unwrap();

    let mut w = Writer::create(&path).unwrap();
    w.write_tensor(&Tensor::scalar(1u8)).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"old contents");
    drop(w);
    assert_eq!(fs::read(&path).unwrap(), b"old contents");
    assert_eq!(dir_entries(dir.path()), ["data.tfrecord"]);

    let mut w = Writer::create(&path).unwrap();
    w.write_tensor(&Tensor::scalar(1u8)).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"old contents");
    w.finish().unwrap();
    let mut r = Reader::open(&path).unwrap();
    let listing = list(&mut r);
    assert_eq!(listing.len(), 1);
    assert_eq!(Tensor::decode(&listing[0].0).unwrap(), Tensor::scalar(1u8));
}

#[test]
fn create_fails_cleanly_for_a_missing_directory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/x.tfrecord");
    let err = Writer::create(&path)
        .err()
        .expect("creating in a missing directory");
    assert_eq!(err.kind(), &tfrec::ErrorKind::Io);
    assert_eq!(err.path(), Some(path.as_path()));
}

/// Every compression round trips through `Reader::open`, detected by content
/// (the gzip and zlib files are not named `.gz`/`.zz`), mapped when plain.
#[test]
fn every_compression_round_trips_through_open() {
    let dir = tempfile::tempdir().unwrap();
    let payloads = assorted_payloads();
    let expected = expected_listing(&payloads);
    for c in ALL_COMPRESSIONS {
        let path = dir.path().join(format!("{}-x.tfrecord", c.name()));
        write_file(&path, &payloads, c);

        let mut r = Reader::open(&path).unwrap();
        assert_eq!(r.compression(), c);
        assert_eq!(r.path(), Some(path.as_path()));
        assert_eq!(r.mapped_bytes().is_some(), c == Compression::None, "{c}");
        if c == Compression::None {
            assert_eq!(r.mapped_bytes().unwrap(), fs::read(&path).unwrap());
        }
        assert_eq!(list(&mut r), expected, "{c}");
        assert!(r.records().next().is_none());

        assert_eq!(
            Reader::open(&path).unwrap().count().unwrap(),
            payloads.len() as u64
        );

        let mut unmapped = Reader::open_with(&path, ReadOptions::default().mmap(false)).unwrap();
        assert!(unmapped.mapped_bytes().is_none());
        assert_eq!(unmapped.compression(), c);
        assert_eq!(list(&mut unmapped), expected, "{c} without mmap");
        let mut unmapped = Reader::open_with(&path, ReadOptions::default().mmap(false)).unwrap();
        assert_eq!(unmapped.count().unwrap(), payloads.len() as u64);
    }
}

/// Only the named file is named: a gzip file called `x.tfrecord`.
#[test]
fn gzip_detected_without_a_gz_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.tfrecord");
    let tensors = one_of_each_dtype();
    let mut w = Writer::create_with(&path, Compression::Gzip).unwrap();
    for t in &tensors {
        w.write_tensor(t).unwrap();
    }
    w.finish().unwrap();
    assert_eq!(&fs::read(&path).unwrap()[..2], [0x1f, 0x8b]);

    let mut r = Reader::open(&path).unwrap();
    assert_eq!(r.compression(), Compression::Gzip);
    assert!(r.mapped_bytes().is_none());
    let decoded: Vec<Tensor> = r
        .records()
        .map(|rec| Tensor::decode(&rec.unwrap().payload).unwrap())
        .collect();
    assert_eq!(decoded, tensors);
}

#[test]
fn from_read_over_cursor_and_a_one_byte_pipe() {
    let payloads = assorted_payloads();
    let expected = expected_listing(&payloads);
    for c in ALL_COMPRESSIONS {
        let bytes = write_all(&payloads, c);

        let mut r = Reader::from_read(Cursor::new(bytes.clone())).unwrap();
        assert_eq!(r.compression(), c);
        assert_eq!(r.path(), None);
        assert!(r.mapped_bytes().is_none());
        assert_eq!(list(&mut r), expected, "{c}");

        let mut r = Reader::from_read(OneByteAtATime(Cursor::new(bytes.clone()))).unwrap();
        assert_eq!(r.compression(), c);
        assert_eq!(list(&mut r), expected, "{c}, one byte per read");

        let mut r = Reader::from_read(OneByteAtATime(Cursor::new(bytes.clone()))).unwrap();
        assert_eq!(
            list_lending(&mut r),
            expected,
            "{c}, one byte per read, lending"
        );

        assert_eq!(
            Reader::from_read(Cursor::new(bytes.clone()))
                .unwrap()
                .count()
                .unwrap(),
            payloads.len() as u64
        );
        let mut slow = Reader::from_read(OneByteAtATime(Cursor::new(bytes))).unwrap();
        assert_eq!(slow.count().unwrap(), payloads.len() as u64);
    }
}

#[test]
fn slice_reader_borrows_and_tracks_position() {
    let payloads = assorted_payloads();
    let bytes = frame_all(&payloads);
    let offsets = frame_offsets(&payloads.iter().map(Vec::len).collect::<Vec<_>>());
    let mut reader = SliceReader::new(&bytes);
    for (i, p) in payloads.iter().enumerate() {
        assert_eq!(reader.position(), offsets[i]);
        let rec = reader.next().unwrap().unwrap();
        assert_eq!(&rec.payload[..], &p[..]);
        assert!(matches!(rec.payload, std::borrow::Cow::Borrowed(_)));
        assert_eq!((rec.offset, rec.index), (offsets[i], i as u64));
        // Borrowed from the buffer itself.
        let start = offsets[i] as usize + 12;
        assert!(std::ptr::eq(rec.payload.as_ptr(), bytes[start..].as_ptr()));
    }
    assert_eq!(reader.position(), bytes.len() as u64);
    assert!(reader.next().is_none());
    assert!(reader.next().is_none());
    assert_eq!(SliceReader::new(&bytes).count(), payloads.len());
    assert_eq!(SliceReader::new(&[]).count(), 0);
}

#[test]
fn mapped_records_borrow_from_the_map() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.tfrecord");
    let payloads = assorted_payloads();
    write_file(&path, &payloads, Compression::None);
    let mut r = Reader::open(&path).unwrap();
    let map = r.mapped_bytes().unwrap().as_ptr() as usize;
    let offsets = frame_offsets(&payloads.iter().map(Vec::len).collect::<Vec<_>>());
    for (i, rec) in r.records().enumerate() {
        let rec = rec.unwrap();
        assert!(matches!(rec.payload, std::borrow::Cow::Borrowed(_)));
        assert_eq!(
            rec.payload.as_ptr() as usize,
            map + offsets[i] as usize + 12
        );
        if let Ok(t) = rec.decode() {
            if t.bytes().is_some_and(|b| !b.is_empty()) {
                assert!(t.is_borrowed());
            }
        }
    }
}

#[test]
fn empty_files_have_no_records() {
    let dir = tempfile::tempdir().unwrap();
    for c in ALL_COMPRESSIONS {
        let bytes = write_all(&[], c);
        assert_eq!(bytes.is_empty(), c == Compression::None, "{c}");
        let path = dir.path().join(format!("empty-{}.tfrecord", c.name()));
        write_file(&path, &[], c);
        assert_eq!(fs::read(&path).unwrap().is_empty(), c == Compression::None);

        for mmap in [true, false] {
            let options = ReadOptions::default().mmap(mmap);
            let mut r = Reader::open_with(&path, options).unwrap();
            assert!(list(&mut r).is_empty(), "{c} mmap={mmap}");
            assert!(Reader::open_with(&path, options)
                .unwrap()
                .next_record()
                .is_none());
            assert_eq!(
                Reader::open_with(&path, options).unwrap().count().unwrap(),
                0
            );
        }
        let mut r = Reader::from_read(Cursor::new(bytes.clone())).unwrap();
        assert!(list(&mut r).is_empty());
        assert_eq!(
            Reader::from_read(Cursor::new(bytes))
                .unwrap()
                .count()
                .unwrap(),
            0
        );
    }
    // A zero-byte file maps to an empty slice.
    let path = dir.path().join("empty-none.tfrecord");
    assert_eq!(Reader::open(&path).unwrap().mapped_bytes(), Some(&[][..]));
}

#[test]
fn records_with_empty_payloads() {
    let payloads = vec![Vec::new(), b"x".to_vec(), Vec::new(), Vec::new()];
    let expected = expected_listing(&payloads);
    assert_eq!(
        expected.iter().map(|e| e.1).collect::<Vec<_>>(),
        [0, 16, 33, 49]
    );
    let dir = tempfile::tempdir().unwrap();
    for c in ALL_COMPRESSIONS {
        let path = dir.path().join(format!("e-{}.tfrecord", c.name()));
        write_file(&path, &payloads, c);
        assert_eq!(list(&mut Reader::open(&path).unwrap()), expected, "{c}");
        let bytes = fs::read(&path).unwrap();
        assert_eq!(
            list(&mut Reader::from_read(Cursor::new(bytes)).unwrap()),
            expected,
            "{c}"
        );
    }
}

#[test]
fn a_five_megabyte_record() {
    let big = pseudo_random_bytes(5 << 20, 99);
    let payloads = vec![b"before".to_vec(), big, b"after".to_vec()];
    let expected = expected_listing(&payloads);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.tfrecord");
    write_file(&path, &payloads, Compression::None);
    assert_eq!(list(&mut Reader::open(&path).unwrap()), expected);
    let mut streamed = Reader::open_with(&path, ReadOptions::default().mmap(false)).unwrap();
    assert_eq!(list_lending(&mut streamed), expected);
    assert_eq!(Reader::open(&path).unwrap().count().unwrap(), 3);
    let bytes = fs::read(&path).unwrap();
    assert_eq!(
        list(&mut Reader::from_read(Cursor::new(bytes)).unwrap()),
        expected
    );
}

/// Compressed records larger than the stream buffers (deflate is slow in
/// debug builds, so these are smaller than 5 MB).
#[test]
fn compressed_records_larger_than_the_buffers() {
    let payloads = vec![
        pseudo_random_bytes(600 << 10, 5),
        Vec::new(),
        pseudo_random_bytes(300 << 10, 6),
    ];
    let expected = expected_listing(&payloads);
    let dir = tempfile::tempdir().unwrap();
    for c in [Compression::Gzip, Compression::Zlib] {
        let path = dir.path().join(format!("big-{}.tfrecord", c.name()));
        write_file(&path, &payloads, c);
        assert_eq!(list(&mut Reader::open(&path).unwrap()), expected, "{c}");
        assert_eq!(
            list_lending(&mut Reader::open(&path).unwrap()),
            expected,
            "{c}"
        );
        assert_eq!(Reader::open(&path).unwrap().count().unwrap(), 3);
    }
}

#[test]
fn offsets_and_indices_follow_frame_lengths() {
    let payloads: Vec<Vec<u8>> = [0usize, 1, 127, 128, 300, 0, 5, 70_000]
        .iter()
        .enumerate()
        .map(|(i, &n)| pseudo_random_bytes(n, i as u64 + 1))
        .collect();
    let lens: Vec<usize> = payloads.iter().map(Vec::len).collect();
    let mut offset = 0u64;
    for (k, &off) in frame_offsets(&lens)[..lens.len()].iter().enumerate() {
        assert_eq!(off, offset);
        offset += lens[k] as u64 + 16;
    }
    let expected = expected_listing(&payloads);
    let dir = tempfile::tempdir().unwrap();
    for c in ALL_COMPRESSIONS {
        let path = dir.path().join(format!("o-{}.tfrecord", c.name()));
        write_file(&path, &payloads, c);
        assert_eq!(list(&mut Reader::open(&path).unwrap()), expected, "{c}");
        assert_eq!(
            list(&mut Reader::open_with(&path, ReadOptions::default().mmap(false)).unwrap()),
            expected,
            "{c}"
        );
    }
}

/// The lending `next_record` and the iterator agree, and can be mixed.
#[test]
fn next_record_agrees_with_records() {
    let payloads = assorted_payloads();
    let expected = expected_listing(&payloads);
    let dir = tempfile::tempdir().unwrap();
    for c in ALL_COMPRESSIONS {
        let path = dir.path().join(format!("n-{}.tfrecord", c.name()));
        write_file(&path, &payloads, c);
        for mmap in [true, false] {
            let options = ReadOptions::default().mmap(mmap);
            let mut a = Reader::open_with(&path, options).unwrap();
            let mut b = Reader::open_with(&path, options).unwrap();
            assert_eq!(list_lending(&mut a), list(&mut b), "{c} mmap={mmap}");
            assert!(a.next_record().is_none());

            // Alternate between the two APIs on one reader.
            let mut r = Reader::open_with(&path, options).unwrap();
            let mut mixed = Vec::new();
            loop {
                let item = if mixed.len() % 2 == 0 {
                    r.next_record()
                        .map(|x| x.map(|x| (x.payload.to_vec(), x.offset, x.index)))
                } else {
                    r.records()
                        .next()
                        .map(|x| x.map(|x| (x.payload.to_vec(), x.offset, x.index)))
                };
                match item {
                    Some(x) => mixed.push(x.unwrap()),
                    None => break,
                }
            }
            assert_eq!(mixed, expected, "{c} mmap={mmap}");
        }
    }
}

/// `count` counts what is left.
#[test]
fn count_after_partial_reading() {
    let payloads = assorted_payloads();
    let dir = tempfile::tempdir().unwrap();
    for c in ALL_COMPRESSIONS {
        let path = dir.path().join(format!("c-{}.tfrecord", c.name()));
        write_file(&path, &payloads, c);
        let mut r = Reader::open(&path).unwrap();
        r.records().take(3).for_each(|x| drop(x.unwrap()));
        assert_eq!(r.count().unwrap(), payloads.len() as u64 - 3, "{c}");
        assert_eq!(r.count().unwrap(), 0);
    }
}

/// With payload CRCs off, a corrupt payload is handed out as it is; with
/// them on (the default) it is an error. Length CRCs are always checked.
#[test]
fn verify_data_crc_off_skips_only_the_payload_check() {
    let payloads = assorted_payloads();
    let mut bytes = frame_all(&payloads);
    let offsets = frame_offsets(&payloads.iter().map(Vec::len).collect::<Vec<_>>());
    let victim = 2;
    let at = offsets[victim] as usize + 12 + 1;
    bytes[at] ^= 0x10;
    let mut corrupted = payloads.clone();
    corrupted[victim][1] ^= 0x10;
    let expected = expected_listing(&corrupted);

    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("bad.tfrecord");
    fs::write(&plain, &bytes).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&bytes).unwrap();
    let gz = gz.finish().unwrap();
    let gz_path = dir.path().join("bad-gz.tfrecord");
    fs::write(&gz_path, &gz).unwrap();

    let lax = ReadOptions::default().verify_data_crc(false);
    for path in [&plain, &gz_path] {
        for mmap in [true, false] {
            let mut r = Reader::open_with(path, lax.mmap(mmap)).unwrap();
            assert_eq!(list(&mut r), expected, "{} mmap={mmap}", path.display());

            let mut strict = Reader::open_with(path, ReadOptions::default().mmap(mmap)).unwrap();
            let results: Vec<_> = strict.records().collect();
            assert_eq!(results.len(), victim + 1);
            let err = results[victim].as_ref().unwrap_err();
            assert!(
                matches!(err.kind(), tfrec::ErrorKind::CorruptData { .. }),
                "{err}"
            );
            assert_eq!(err.record_index(), Some(victim as u64));
        }
    }
    let mut r = Reader::from_read_with(Cursor::new(bytes.clone()), lax).unwrap();
    assert_eq!(list(&mut r), expected);
    let lax_check = tfrec::framing::FrameCheck {
        data_crc: false,
        ..Default::default()
    };
    let got: Vec<_> = SliceReader::with_check(&bytes, lax_check)
        .map(|r| r.unwrap().payload.to_vec())
        .collect();
    assert_eq!(got, corrupted);

    // A corrupt length is caught even so.
    let mut bad_len = frame_all(&payloads);
    bad_len[offsets[1] as usize] ^= 1;
    let mut r = Reader::from_read_with(Cursor::new(bad_len), lax).unwrap();
    let results: Vec<_> = r.records().collect();
    assert!(matches!(
        results.last().unwrap().as_ref().unwrap_err().kind(),
        tfrec::ErrorKind::CorruptLength { .. }
    ));
}

#[test]
fn mmap_and_stream_read_identical_records() {
    let dir = tempfile::tempdir().unwrap();
    let path: PathBuf = dir.path().join("same.tfrecord");
    let tensors = one_of_each_dtype();
    let mut w = Writer::create(&path).unwrap();
    for t in tensors.iter().chain(&mixed_tensors()) {
        w.write_tensor(t).unwrap();
    }
    w.finish().unwrap();
    let mut mapped = Reader::open(&path).unwrap();
    let mut streamed = Reader::open_with(&path, ReadOptions::default().mmap(false)).unwrap();
    assert!(mapped.mapped_bytes().is_some() && streamed.mapped_bytes().is_none());
    let a = list(&mut mapped);
    let b = list(&mut streamed);
    assert_eq!(a.len(), tensors.len() + 6);
    assert_eq!(a, b);
}

/// `set_sync(false)` drops the fsyncs of the file and its directory, and
/// nothing else: the file still appears only at `finish`, whole.
#[test]
fn writer_set_sync_controls_fsync_only() {
    use std::sync::{Arc, Mutex};
    use tfrec::write::{FileOp, IoHook};

    for compression in ALL_COMPRESSIONS {
        for sync in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("a.tfrecord");
            let syncs = Arc::new(Mutex::new(0usize));
            let seen = Arc::clone(&syncs);
            let mut w = Writer::create_with(&path, compression).unwrap();
            w.set_hook(IoHook::new(move |op| {
                if matches!(op, FileOp::Sync { .. } | FileOp::SyncDir { .. }) {
                    *seen.lock().unwrap() += 1;
                }
                Ok(())
            }));
            w.set_sync(sync);
            w.write_tensor(&Tensor::scalar(7i32)).unwrap();
            assert!(!path.exists(), "the file appears only at finish");
            w.finish().unwrap();
            let count = *syncs.lock().unwrap();
            if sync {
                assert!(count >= 2, "{compression}: file and directory fsynced");
            } else {
                assert_eq!(count, 0, "{compression}: no fsync");
            }
            let mut reader = Reader::open(&path).unwrap();
            let records = list(&mut reader);
            assert_eq!(records.len(), 1);
            assert_eq!(
                TensorView::decode(&records[0].0)
                    .unwrap()
                    .to_vec::<i32>()
                    .unwrap(),
                [7]
            );
        }
    }
}
