//! Following a file while it is written: records arrive as they are
//! completed, a partial last record is waited for, nothing is lost.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tfrec::read::{Follow, ReadOptions, Reader};
use tfrec::{ErrorKind, Tensor, Writer};

/// A file of `n` small tensors, as bytes.
fn records(n: u32) -> (Vec<Tensor>, Vec<u8>) {
    let tensors: Vec<Tensor> = (0..n)
        .map(|i| {
            let len = (i as usize * 37) % 300;
            Tensor::from_slice(&vec![i; len], &[len]).unwrap()
        })
        .collect();
    let mut w = Writer::new(Vec::new());
    for t in &tensors {
        w.write_tensor(t).unwrap();
    }
    (tensors, w.finish().unwrap())
}

/// Appends `bytes` to `path` in uneven pieces (cutting through headers,
/// payloads and footers), flushing and pausing between them.
fn append_slowly(
    path: std::path::PathBuf,
    bytes: Vec<u8>,
    pause: Duration,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut file = OpenOptions::new().append(true).open(path).unwrap();
        let mut at = 0usize;
        let mut step = 1usize;
        while at < bytes.len() {
            let end = (at + step).min(bytes.len());
            file.write_all(&bytes[at..end]).unwrap();
            file.flush().unwrap();
            at = end;
            step = step * 7 % 1013 + 1;
            thread::sleep(pause);
        }
    })
}

fn fast() -> Follow {
    Follow::new().poll_interval(Duration::from_millis(2))
}

#[test]
fn follows_a_file_being_written_and_loses_nothing() {
    let (tensors, bytes) = records(200);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("growing.tfrecord");
    File::create(&path).unwrap();
    let writer = append_slowly(path.clone(), bytes, Duration::from_micros(300));
    let follow = fast().idle_timeout(Duration::from_secs(2));
    let mut reader = Reader::follow(&path, ReadOptions::default(), follow).unwrap();
    let mut got = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        assert_eq!(record.index, got.len() as u64);
        got.push(record.decode().unwrap().to_owned());
    }
    writer.join().unwrap();
    assert_eq!(got, tensors);
}

#[test]
fn a_partial_record_is_waited_for_not_reported() {
    let (tensors, bytes) = records(3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.tfrecord");
    // The whole first record and half of the second are there already.
    let first_len = tensors[0].to_proto_bytes().len() + 16;
    let cut = first_len + 10;
    fs::write(&path, &bytes[..cut]).unwrap();
    let rest = bytes[cut..].to_vec();
    let late = {
        let path = path.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(300));
            let mut f = OpenOptions::new().append(true).open(path).unwrap();
            f.write_all(&rest).unwrap();
        })
    };
    let follow = fast().idle_timeout(Duration::from_secs(3));
    let mut reader = Reader::follow(&path, ReadOptions::default(), follow).unwrap();
    let got: Vec<Tensor> = reader
        .records()
        .map(|r| r.unwrap().decode().unwrap().to_owned())
        .collect();
    late.join().unwrap();
    assert_eq!(got, tensors);
}

#[test]
fn giving_up_inside_a_record_is_a_truncated_record() {
    let (_, bytes) = records(2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.tfrecord");
    fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
    let follow = fast().idle_timeout(Duration::from_millis(200));
    let started = Instant::now();
    let mut reader = Reader::follow(&path, ReadOptions::default(), follow).unwrap();
    let results: Vec<_> = reader.records().collect();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(results.len(), 2);
    assert!(results[0].is_ok());
    let err = results[1].as_ref().unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::TruncatedRecord { .. }),
        "{err}"
    );
    assert_eq!(err.record_index(), Some(1));
    assert_eq!(err.path(), Some(path.as_path()));
}

#[test]
fn a_stop_flag_ends_the_wait_at_a_record_boundary() {
    let (_, bytes) = records(4);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.tfrecord");
    fs::write(&path, &bytes).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let raise = stop.clone();
    let stopper = thread::spawn(move || {
        thread::sleep(Duration::from_millis(200));
        raise.store(true, Ordering::Relaxed);
    });
    let mut reader = Reader::follow(&path, ReadOptions::default(), fast().stop_flag(stop)).unwrap();
    let n = reader.records().inspect(|r| assert!(r.is_ok())).count();
    stopper.join().unwrap();
    assert_eq!(n, 4);
}

#[test]
fn compressed_files_cannot_be_followed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.tfrecord.gz");
    let mut w = Writer::with_compression(File::create(&path).unwrap(), tfrec::Compression::Gzip);
    w.write_tensor(&Tensor::scalar(1u8)).unwrap();
    w.finish().unwrap();
    let err = Reader::follow(&path, ReadOptions::default(), fast())
        .err()
        .expect("a gzip file is refused");
    assert_eq!(err.kind().name(), "invalid_input");
    assert_eq!(err.path(), Some(path.as_path()));
}

#[test]
fn cli_cat_follow_prints_records_as_they_are_written() {
    let (tensors, bytes) = records(60);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("growing.tfrecord");
    File::create(&path).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tfrec"))
        .args(["cat", "--jsonl", "--follow", "--idle-timeout", "2"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let writer = append_slowly(path.clone(), bytes, Duration::from_millis(1));
    // Lines arrive while the file is still being written: read the first
    // one before the writer is done.
    let mut lines = stdout.lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.contains("\"index\":0"), "{first}");
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    writer.join().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
    assert_eq!(rest.len() + 1, tensors.len());
    for (i, line) in std::iter::once(&first).chain(&rest).enumerate() {
        let t = tfrec::json::tensor_from_json_line(line).unwrap();
        assert_eq!(t, tensors[i], "record {i}");
    }
}
