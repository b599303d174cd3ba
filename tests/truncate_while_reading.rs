//! A mapped file cut short while it is read gives a truncated-record error
//! naming the file, offset and record, never a `SIGBUS` death.
//!
//! A failure here would be the test process killed by a signal, so each
//! case runs in a child: the test binary runs itself again with
//! `TFREC_TRUNCATE_CHILD` set, the child does the reading, and the parent
//! checks how the child ended.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use tfrec::index::{FrameBuf, IndexedFile};
use tfrec::pipeline::Dataset;
use tfrec::{Error, ErrorKind, Reader, Tensor, Writer};

const CHILD: &str = "TFREC_TRUNCATE_CHILD";
const RECORDS: usize = 200;
/// Payload elements per record: 200 records of ~32 KiB, a 6.5 MB file.
const WIDTH: usize = 8 << 10;

/// Runs test `name` in a child process when in the parent; returns whether
/// this is the child (which should then do the work).
fn child_of(name: &str) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let status = run_child(name);
    assert!(
        status.success(),
        "the child reading the truncated file ended with {status}"
    );
    false
}

fn run_child(name: &str) -> ExitStatus {
    let exe = std::env::current_exe().unwrap();
    Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .status()
        .unwrap()
}

/// A file of `RECORDS` records whose payloads are not zeros, and every
/// frame's offset (plus the file's length at the end).
fn write_file(dir: &Path) -> (PathBuf, Vec<u64>) {
    let path = dir.join("big.tfrecord");
    let mut w = Writer::create(&path).unwrap();
    for i in 0..RECORDS {
        let values: Vec<u32> = (0..WIDTH).map(|j| (i * WIDTH + j) as u32 | 1).collect();
        w.write_tensor(&Tensor::from_slice(&values, &[WIDTH]).unwrap())
            .unwrap();
    }
    w.finish().unwrap();
    let mut offsets = Vec::new();
    let mut reader = Reader::open(&path).unwrap();
    for record in reader.records() {
        offsets.push(record.unwrap().offset);
    }
    offsets.push(std::fs::metadata(&path).unwrap().len());
    assert_eq!(offsets.len(), RECORDS + 1);
    (path, offsets)
}

fn truncate(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

/// Where to cut the file, and which record the cut falls in.
#[derive(Clone, Copy, Debug)]
enum Cut {
    /// 100 bytes into record 120.
    MidRecord,
    /// 3 bytes into record 120's header.
    MidHeader,
    /// Exactly at record 120's frame.
    AtFrame,
    /// Everything.
    ToZero,
}

impl Cut {
    fn len(self, offsets: &[u64]) -> u64 {
        match self {
            Cut::MidRecord => offsets[120] + 100,
            Cut::MidHeader => offsets[120] + 3,
            Cut::AtFrame => offsets[120],
            Cut::ToZero => 0,
        }
    }
}

/// Asserts that `err` is the truncation of record `index`, the file being
/// `len` bytes long now.
fn assert_truncated(err: &Error, path: &Path, offsets: &[u64], index: usize, len: u64) {
    let offset = offsets[index];
    assert_eq!(err.path(), Some(path), "{err}");
    assert_eq!(err.offset(), Some(offset), "{err}");
    assert_eq!(err.record_index(), Some(index as u64), "{err}");
    let ErrorKind::TruncatedRecord { needed, available } = *err.kind() else {
        panic!("not a truncated record: {err}");
    };
    assert_eq!(available, len.saturating_sub(offset), "{err}");
    if offset + 12 <= len {
        // The header survived: the whole frame is what is missing.
        assert_eq!(needed, offsets[index + 1] - offset, "{err}");
    } else {
        assert_eq!(needed, 12, "{err}");
    }
    assert!(
        err.to_string().contains(&format!("offset {offset}")),
        "{err}"
    );
}

/// Reads 10 records of a mapped reader, cuts the file, reads on.
fn reader_case(cut: Cut) {
    let dir = tempfile::tempdir().unwrap();
    let (path, offsets) = write_file(dir.path());
    let mut reader = Reader::open(&path).unwrap();
    assert!(reader.mapped_bytes().is_some(), "the file is not mapped");
    let mut records = reader.records();
    for i in 0..10 {
        assert_eq!(records.next().unwrap().unwrap().index, i);
    }
    let len = cut.len(&offsets);
    truncate(&path, len);
    // Records wholly before the cut are still read; the one the cut falls
    // in (or the next one, for a cut before it) is a truncated record.
    let first_lost = (10..RECORDS).find(|&i| offsets[i + 1] > len).unwrap();
    for i in 10..first_lost {
        let record = records.next().unwrap().unwrap();
        assert_eq!(record.index, i as u64);
        let tensor = record.decode().unwrap();
        assert_eq!(tensor.to_vec::<u32>().unwrap()[0], (i * WIDTH) as u32 | 1);
    }
    let err = records.next().unwrap().unwrap_err();
    assert_truncated(&err, &path, &offsets, first_lost, len);
    assert!(records.next().is_none());
}

#[test]
fn reader_cut_mid_record() {
    if child_of("reader_cut_mid_record") {
        reader_case(Cut::MidRecord);
    }
}

#[test]
fn reader_cut_mid_header() {
    if child_of("reader_cut_mid_header") {
        reader_case(Cut::MidHeader);
    }
}

#[test]
fn reader_cut_at_frame_boundary() {
    if child_of("reader_cut_at_frame_boundary") {
        reader_case(Cut::AtFrame);
    }
}

#[test]
fn reader_cut_to_zero() {
    if child_of("reader_cut_to_zero") {
        reader_case(Cut::ToZero);
    }
}

#[test]
fn reader_count_after_cut() {
    if !child_of("reader_count_after_cut") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (path, offsets) = write_file(dir.path());
    let mut reader = Reader::open(&path).unwrap();
    assert!(reader.mapped_bytes().is_some());
    let len = Cut::MidRecord.len(&offsets);
    truncate(&path, len);
    let err = reader.count().unwrap_err();
    assert_truncated(&err, &path, &offsets, 120, len);
}

#[test]
fn reader_skipping_damage_still_stops_at_a_cut() {
    if !child_of("reader_skipping_damage_still_stops_at_a_cut") {
        return;
    }
    use tfrec::read::{CorruptionPolicy, ReadOptions};
    let dir = tempfile::tempdir().unwrap();
    let (path, offsets) = write_file(dir.path());
    let options = ReadOptions::default().corruption(CorruptionPolicy::Skip);
    let mut reader = Reader::open_with(&path, options).unwrap();
    assert!(reader.mapped_bytes().is_some());
    let len = Cut::MidRecord.len(&offsets);
    truncate(&path, len);
    let results: Vec<_> = reader.records().map(|r| r.map(|r| r.index)).collect();
    assert_eq!(results.len(), 121);
    let err = results.last().unwrap().as_ref().unwrap_err();
    assert_truncated(err, &path, &offsets, 120, len);
    assert_eq!(reader.skipped().records, 0);
}

#[test]
fn indexed_file_random_access_after_cut() {
    if !child_of("indexed_file_random_access_after_cut") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (path, offsets) = write_file(dir.path());
    let file = IndexedFile::open(&path).unwrap().mapped().unwrap();
    let mut buf = FrameBuf::new();
    assert_eq!(file.record(3, &mut buf).unwrap().index, 3);
    let len = Cut::MidRecord.len(&offsets);
    truncate(&path, len);
    // Past the cut first, so that the fault lands far beyond record 120.
    let err = file.record(170, &mut buf).unwrap_err();
    assert_truncated(&err, &path, &offsets, 170, len);
    let err = file.record(120, &mut buf).unwrap_err();
    assert_truncated(&err, &path, &offsets, 120, len);
    // Records before the cut are still whole.
    for i in [10, 119, 0] {
        let record = file.record(i, &mut buf).unwrap();
        let tensor = record.decode().unwrap();
        assert_eq!(tensor.to_vec::<u32>().unwrap()[0], (i * WIDTH) as u32 | 1);
    }
    let err = file.get(199).unwrap_err();
    assert_truncated(&err, &path, &offsets, 199, len);
}

#[test]
fn dataset_with_mmap_after_cut() {
    if !child_of("dataset_with_mmap_after_cut") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (path, offsets) = write_file(dir.path());
    let ds = Dataset::builder()
        .file(&path)
        .mmap(true)
        .batch(4)
        .build()
        .unwrap();
    let mut batches = ds.epoch(0).unwrap();
    for _ in 0..2 {
        assert_eq!(batches.next().unwrap().unwrap().len(), 4);
    }
    let len = Cut::MidRecord.len(&offsets);
    truncate(&path, len);
    let mut read = 8;
    let err = loop {
        match batches.next() {
            Some(Ok(batch)) => read += batch.len(),
            Some(Err(e)) => break e,
            None => panic!("the dataset ended without an error after {read} records"),
        }
    };
    // Batches already prefetched before the cut may have been whole; the
    // error is at a record at or past the cut.
    let index = err.record_index().unwrap() as usize;
    assert!((120..RECORDS).contains(&index), "{err}");
    assert_truncated(&err, &path, &offsets, index, len);
}

/// The guard passes on faults that are not in its maps: a child that reads
/// a page of its own map past the end of a file dies of `SIGBUS` as it
/// would without the guard (installed here by a mapped reader first).
#[test]
fn a_fault_outside_guarded_maps_still_kills() {
    if std::env::var_os(CHILD).is_some() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = write_file(dir.path());
        let reader = Reader::open(&path).unwrap();
        assert!(reader.mapped_bytes().is_some());
        let other = dir.path().join("other");
        std::fs::write(&other, vec![7u8; 1 << 20]).unwrap();
        let file = File::open(&other).unwrap();
        // SAFETY: deliberately not sound: the file is truncated while mapped
        // and the read past its end must kill this child process.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file).unwrap() };
        truncate(&other, 0);
        let byte = std::hint::black_box(&map[1 << 19]);
        println!("read {byte} past the end of a truncated file");
        std::process::exit(0);
    }
    let status = run_child("a_fault_outside_guarded_maps_still_kills");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(7), "{status}");
}

/// A `SIGBUS` sent by someone else is not taken for a fault in a map: a
/// child that sends itself two (the runtime's own handler lets the first
/// pass) ends the same way with the guard installed as without.
#[test]
fn a_sent_sigbus_does_what_it_would_without_the_guard() {
    const NAME: &str = "a_sent_sigbus_does_what_it_would_without_the_guard";
    if let Some(mode) = std::env::var_os(CHILD) {
        let dir = tempfile::tempdir().unwrap();
        // Without a map opened, the guard is never installed.
        let _reader = (mode != "bare").then(|| {
            let (path, _) = write_file(dir.path());
            let reader = Reader::open(&path).unwrap();
            assert!(reader.mapped_bytes().is_some());
            reader
        });
        let pid = std::process::id().to_string();
        for _ in 0..2 {
            let _ = Command::new("kill").args(["-BUS", &pid]).status();
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        std::process::exit(0);
    }
    use std::os::unix::process::ExitStatusExt;
    let exe = std::env::current_exe().unwrap();
    let run = |mode: &str| {
        Command::new(&exe)
            .args([NAME, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, mode)
            .status()
            .unwrap()
    };
    let guarded = run("1");
    assert_eq!(guarded.signal(), Some(7), "{guarded}");
    assert_eq!(guarded.signal(), run("bare").signal());
}

/// `tfrec cat` whose output is read slowly: the file is cut while cat is
/// blocked writing, then the rest is drained.
fn cat_cut_mid_read(extra: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (path, offsets) = write_file(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_tfrec"))
        .args(["cat", "--jsonl"])
        .args(extra)
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    // Enough to know cat is under way, far less than it prints.
    let mut head = vec![0u8; 64 << 10];
    stdout.read_exact(&mut head).unwrap();
    let len = Cut::MidRecord.len(&offsets);
    truncate(&path, len);
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{:?}: {stderr}",
        output.status
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    let line = lines[0];
    assert!(line.contains(&path.display().to_string()), "{line}");
    assert!(line.contains("truncated record"), "{line}");
    let offset = line
        .split("at offset ")
        .nth(1)
        .and_then(|s| s.split(':').next())
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no offset in {line}"));
    let index = offsets.iter().position(|&o| o == offset).unwrap();
    assert!((120..RECORDS).contains(&index), "{line}");
}

#[test]
fn cli_cat_cut_mid_read() {
    cat_cut_mid_read(&[]);
}

#[test]
fn cli_cat_shuffled_cut_mid_read() {
    cat_cut_mid_read(&["--shuffle", "1"]);
}

/// A file replaced by a rename (or removed) while mapped keeps its old
/// inode mapped: the reader goes on to the end of the old contents.
#[test]
fn replaced_or_removed_file_reads_to_the_end() {
    if !child_of("replaced_or_removed_file_reads_to_the_end") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for replace in [true, false] {
        let (path, _) = write_file(dir.path());
        let mut reader = Reader::open(&path).unwrap();
        assert!(reader.mapped_bytes().is_some());
        let mut records = reader.records();
        assert_eq!(records.next().unwrap().unwrap().index, 0);
        if replace {
            let other = dir.path().join("new.tfrecord");
            let mut w = Writer::create(&other).unwrap();
            w.write_tensor(&Tensor::scalar(1u8)).unwrap();
            w.finish().unwrap();
            std::fs::rename(&other, &path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
        let mut n = 1;
        for record in records {
            let record = record.unwrap();
            let tensor = record.decode().unwrap();
            assert_eq!(tensor.to_vec::<u32>().unwrap()[0], (n * WIDTH) as u32 | 1);
            n += 1;
        }
        assert_eq!(n, RECORDS);
        if replace {
            drop(reader);
            assert_eq!(Reader::open(&path).unwrap().count().unwrap(), 1);
        }
    }
}

/// More maps alive at once than the guard can register: the next readers
/// read with positioned reads, the same records, until a map is dropped.
#[test]
fn readers_past_the_guard_registry_read_unmapped() {
    if !child_of("readers_past_the_guard_registry_read_unmapped") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.tfrecord");
    let mut w = Writer::create(&path).unwrap();
    for i in 0..3u8 {
        w.write_tensor(&Tensor::scalar(i)).unwrap();
    }
    w.finish().unwrap();
    let mut readers = Vec::new();
    loop {
        let reader = Reader::open(&path).unwrap();
        if reader.mapped_bytes().is_none() {
            readers.push(reader);
            break;
        }
        readers.push(reader);
        assert!(readers.len() <= 1 << 16, "every reader was mapped");
    }
    let mapped = readers.len() - 1;
    assert!(mapped >= 1024, "only {mapped} maps guarded");
    for i in [mapped, 0] {
        let reader = &mut readers[i];
        let values: Vec<u8> = reader
            .records()
            .map(|r| r.unwrap().decode().unwrap().to_vec::<u8>().unwrap()[0])
            .collect();
        assert_eq!(values, [0, 1, 2]);
    }
    readers.truncate(mapped - 1);
    assert!(Reader::open(&path).unwrap().mapped_bytes().is_some());
}
