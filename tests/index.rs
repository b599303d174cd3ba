//! Record indexes: scans, `FILE.idx` sidecars in the `offset length` format
//! other tools use, stale sidecars, random access, and `tfrec index`.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::dir_entries;
use common::process::succeeded;
use tfrec::index::{Entry, FrameBuf, Index, IndexOptions, IndexSource, IndexedFile, SidecarCheck};
use tfrec::{Compression, ErrorKind, Reader, Tensor, Writer};

const BIN: &str = env!("CARGO_BIN_EXE_tfrec");

/// A reference implementation of the sidecar written from the format's
/// description alone: walk the frames by their length fields (u64 LE, then
/// 4 bytes of CRC, the payload and 4 more), one `offset length` line each.
fn reference_sidecar(tfrecord: &Path) -> String {
    let mut file = std::fs::File::open(tfrecord).unwrap();
    let mut out = String::new();
    let mut current = 0u64;
    loop {
        let mut len = [0u8; 8];
        match file.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => panic!("{e}"),
        }
        let proto_len = u64::from_le_bytes(len);
        let mut skip = vec![0u8; 4 + proto_len as usize + 4];
        file.read_exact(&mut skip).unwrap();
        let end = current + 8 + skip.len() as u64;
        out.push_str(&format!("{} {}\n", current, end - current));
        current = end;
    }
    out
}

/// Records of varied sizes, from empty payload-ish scalars to 70 KB.
fn write_varied(path: &Path, n: usize) -> Vec<Tensor> {
    let mut tensors = Vec::new();
    let mut w = Writer::create(path).unwrap();
    for i in 0..n {
        let len = match i % 5 {
            0 => 0,
            1 => 1,
            2 => 300,
            3 => 70_000,
            _ => i * 13 % 4000,
        };
        let t = Tensor::from_slice(&vec![i as u8; len], &[len]).unwrap();
        w.write_tensor(&t).unwrap();
        tensors.push(t);
    }
    w.finish().unwrap();
    tensors
}

fn entries(index: &Index) -> Vec<Entry> {
    index.iter().collect()
}

#[test]
fn the_sidecar_matches_a_reference_writer_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.tfrecord");
    write_varied(&path, 23);
    let index = Index::open(&path).unwrap();
    assert_eq!(index.source(), &IndexSource::Scanned);
    let sidecar = index.write_sidecar(&path).unwrap();
    assert_eq!(sidecar, dir.path().join("a.tfrecord.idx"));
    let ours = std::fs::read_to_string(&sidecar).unwrap();
    assert_eq!(ours, reference_sidecar(&path));
    // Scans of the file and of its bytes agree, and so does the reader.
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        entries(&Index::scan_bytes(&bytes).unwrap()),
        entries(&index)
    );
    let mut reader = Reader::open(&path).unwrap();
    let offsets: Vec<u64> = reader.records().map(|r| r.unwrap().offset).collect();
    assert_eq!(offsets, index.iter().map(|e| e.offset).collect::<Vec<_>>());
}

#[test]
fn a_sidecar_written_elsewhere_is_used_when_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.tfrecord");
    let tensors = write_varied(&path, 40);
    // Written by "another tool": extra whitespace and CRLF are tolerated.
    let text = reference_sidecar(&path)
        .replace(' ', "  ")
        .replace('\n', "\r\n");
    std::fs::write(Index::sidecar_path(&path), text).unwrap();
    let index = Index::open_with(
        &path,
        &IndexOptions::default().sidecar_check(SidecarCheck::All),
    )
    .unwrap();
    assert_eq!(index.source(), &IndexSource::Sidecar);
    assert_eq!(entries(&index), entries(&Index::scan_file(&path).unwrap()));
    let file = IndexedFile::open(&path).unwrap();
    assert_eq!(file.index().source(), &IndexSource::Sidecar);
    // Random access in a scrambled order returns each record.
    let mut buf = FrameBuf::new();
    for k in 0..tensors.len() {
        let i = (k * 17) % tensors.len();
        assert_eq!(&file.get(i).unwrap(), &tensors[i], "record {i}");
        let record = file.record(i, &mut buf).unwrap();
        assert_eq!(record.index, i as u64);
        assert_eq!(record.offset, index.get(i).unwrap().offset);
    }
    let mapped = IndexedFile::open(&path).unwrap().mapped().unwrap();
    assert_eq!(&mapped.get(3).unwrap(), &tensors[3]);
    let err = file.get(40).unwrap_err();
    assert!(
        err.to_string().contains("record 40 does not exist"),
        "{err}"
    );
}

/// Each way a sidecar goes stale or wrong, with a word its reason must hold.
#[test]
fn stale_or_wrong_sidecars_are_detected_and_the_file_rescanned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.tfrecord");
    write_varied(&path, 30);
    let good = reference_sidecar(&path);
    let lines: Vec<&str> = good.lines().collect();
    let bytes = std::fs::read(&path).unwrap();

    let mut cases: Vec<(&str, String, &str)> = vec![
        (
            "garbage line",
            good.replacen('\n', "\nfoo\n", 1),
            "offset length",
        ),
        (
            "three fields",
            good.replacen('\n', " 9\n", 1),
            "offset length",
        ),
        ("a gap", lines[1..].join("\n") + "\n", "starts at"),
        ("covers too little", lines[..29].join("\n") + "\n", "covers"),
        (
            "runs past the end",
            good.clone() + &format!("{} 16\n", bytes.len()),
            "past the end",
        ),
        (
            "impossible length",
            good.replacen("0 16", "0 3", 1).replacen(lines[0], "0 3", 1),
            "impossible",
        ),
    ];
    // Same total length, but two records of different sizes swapped: the
    // layout checks pass and the frame headers do not.
    let (a, b) = (lines[2], lines[3]);
    let (oa, la): (u64, u64) = parse_line(a);
    let (_, lb): (u64, u64) = parse_line(b);
    let swapped =
        good.replacen(a, &format!("{oa} {lb}"), 1)
            .replacen(b, &format!("{} {la}", oa + lb), 1);
    cases.push(("swapped lengths", swapped, "frame header"));
    for (what, text, expect) in &cases {
        std::fs::write(Index::sidecar_path(&path), text).unwrap();
        let index = Index::open(&path).unwrap();
        match index.source() {
            IndexSource::SidecarRejected { reason } => {
                assert!(reason.contains(expect), "{what}: {reason}")
            }
            other => panic!("{what}: sidecar not rejected: {other:?}"),
        }
        assert_eq!(
            entries(&index),
            entries(&Index::scan_file(&path).unwrap()),
            "{what}"
        );
    }

    // The file grew after it was indexed (appended records).
    std::fs::write(Index::sidecar_path(&path), &good).unwrap();
    let mut w = Writer::new(Vec::new());
    w.write_tensor(&Tensor::scalar(1u8)).unwrap();
    let mut grown = bytes.clone();
    grown.extend(w.finish().unwrap());
    std::fs::write(&path, &grown).unwrap();
    let index = Index::open(&path).unwrap();
    assert!(matches!(
        index.source(),
        IndexSource::SidecarRejected { .. }
    ));
    assert_eq!(index.len(), 31);

    // A sidecar far too long for its file is not even read in.
    std::fs::write(&path, &bytes).unwrap();
    std::fs::write(Index::sidecar_path(&path), "0 16\n".repeat(bytes.len())).unwrap();
    match Index::open(&path).unwrap().source() {
        IndexSource::SidecarRejected { reason } => assert!(reason.contains("too long"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // Sidecars can be ignored altogether.
    let index = Index::open_with(&path, &IndexOptions::default().use_sidecar(false)).unwrap();
    assert_eq!(index.source(), &IndexSource::Scanned);
}

fn parse_line(line: &str) -> (u64, u64) {
    let mut it = line.split(' ').map(|f| f.parse::<u64>().unwrap());
    (it.next().unwrap(), it.next().unwrap())
}

/// A wrong index that looks consistent (contiguous, covering the file) can
/// only produce errors when read, never wrong data: every read checks its
/// frame.
#[test]
fn reads_through_a_wrong_index_fail_instead_of_returning_wrong_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.tfrecord");
    write_varied(&path, 6);
    let real = entries(&Index::scan_file(&path).unwrap());
    let len = std::fs::metadata(&path).unwrap().len();
    // Records 1 and 2 (1- and 300-byte payloads) with their lengths swapped.
    let mut wrong = real.clone();
    wrong[1].len = real[2].len;
    wrong[2] = Entry {
        offset: real[1].offset + real[2].len,
        len: real[1].len,
    };
    let index = Index::from_entries(&wrong, len).unwrap();
    let file = IndexedFile::with_index(&path, index).unwrap();
    assert!(file.get(0).is_ok());
    for i in [1, 2] {
        let err = file.get(i).unwrap_err();
        assert_eq!(err.record_index(), Some(i as u64));
        assert_eq!(err.path(), Some(path.as_path()));
    }
    assert!(Index::from_entries(&real[1..], len).is_err());
    assert!(IndexedFile::with_index(&path, Index::from_entries(&real, len).unwrap()).is_ok());
    let short = Index::from_entries(&real[..5], real[5].offset).unwrap();
    assert!(
        IndexedFile::with_index(&path, short).is_err(),
        "length mismatch"
    );
}

#[test]
fn damaged_compressed_and_empty_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.tfrecord");
    write_varied(&path, 8);
    let good = entries(&Index::scan_file(&path).unwrap());
    let mut bytes = std::fs::read(&path).unwrap();
    // A flipped bit in record 4's length field.
    bytes[good[4].offset as usize + 1] ^= 0x02;
    std::fs::write(&path, &bytes).unwrap();
    let err = Index::scan_file(&path).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::CorruptLength { .. }),
        "{err}"
    );
    assert_eq!(err.record_index(), Some(4));
    assert_eq!(err.offset(), Some(good[4].offset));
    assert_eq!(err.path(), Some(path.as_path()));
    // Truncated in the last record.
    bytes[good[4].offset as usize + 1] ^= 0x02;
    bytes.truncate(bytes.len() - 3);
    std::fs::write(&path, &bytes).unwrap();
    let err = Index::scan_file(&path).unwrap_err();
    assert!(err.is_truncated(), "{err}");
    assert_eq!(err.record_index(), Some(7));

    let gz = dir.path().join("f.tfrecord.gz");
    let mut w = Writer::create_with(&gz, Compression::Gzip).unwrap();
    w.write_tensor(&Tensor::scalar(1u8)).unwrap();
    w.finish().unwrap();
    let err = Index::open(&gz).unwrap_err();
    assert!(err.to_string().contains("no random access"), "{err}");

    let empty = dir.path().join("g.tfrecord");
    std::fs::write(&empty, b"").unwrap();
    let index = Index::open(&empty).unwrap();
    assert!(index.is_empty());
    index.write_sidecar(&empty).unwrap();
    assert_eq!(std::fs::read(Index::sidecar_path(&empty)).unwrap(), b"");
    assert_eq!(Index::open(&empty).unwrap().source(), &IndexSource::Sidecar);
}

fn tfrec(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn tfrec_index_writes_sidecars_atomically_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = (0..2)
        .map(|i| {
            let p = dir.path().join(format!("s{i}.tfrecord"));
            write_varied(&p, 7 + i);
            p
        })
        .collect();
    // A stale sidecar is replaced, not trusted.
    std::fs::write(Index::sidecar_path(&files[1]), "0 16\n").unwrap();
    let out = succeeded(
        tfrec(dir.path(), &["index", "s0.tfrecord", "s1.tfrecord"]),
        "tfrec index",
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        stdout,
        "s0.tfrecord.idx\t7 records\ns1.tfrecord.idx\t8 records\n"
    );
    for f in &files {
        assert_eq!(
            std::fs::read_to_string(Index::sidecar_path(f)).unwrap(),
            reference_sidecar(f)
        );
        assert_eq!(Index::open(f).unwrap().source(), &IndexSource::Sidecar);
    }
    assert_eq!(
        dir_entries(dir.path()),
        [
            "s0.tfrecord",
            "s0.tfrecord.idx",
            "s1.tfrecord",
            "s1.tfrecord.idx"
        ],
        "no temporary files left behind"
    );

    // Compressed, missing and stdin inputs fail with one line each; the
    // others are still indexed.
    let gz = dir.path().join("z.tfrecord");
    let mut w = Writer::create_with(&gz, Compression::Zlib).unwrap();
    w.write_tensor(&Tensor::scalar(1u8)).unwrap();
    w.finish().unwrap();
    std::fs::remove_file(Index::sidecar_path(&files[0])).unwrap();
    let out = tfrec(
        dir.path(),
        &[
            "index",
            "z.tfrecord",
            "missing.tfrecord",
            "s0.tfrecord",
            "-",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{stderr}");
    assert!(
        lines[0].starts_with("z.tfrecord: ") && lines[0].contains("no random access"),
        "{stderr}"
    );
    assert!(lines[1].starts_with("missing.tfrecord: "), "{stderr}");
    assert!(lines[2].starts_with("-: "), "{stderr}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "s0.tfrecord.idx\t7 records\n"
    );
    assert!(!Index::sidecar_path(&gz).exists());
}
