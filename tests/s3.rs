//! Object storage against real servers: an S3-compatible `moto_server`
//! started on a free 127.0.0.1 port (from the venv of `TFREC_PYTHON`), and
//! a small range-serving HTTP server in the test itself.
//!
//! Without moto the S3 test is skipped with a message, unless
//! `TFREC_REQUIRE_S3=1`, when it fails instead.

#![cfg(feature = "cloud")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::process::{output_ok, succeeded};
use common::{cli, tf};

use tfrec::index::IndexedFile;
use tfrec::pipeline::Dataset;
use tfrec::{Reader, Tensor, Writer};

const KEY_ID: &str = "tfrec-test-key-id";
const SECRET: &str = "tfrec-test-secret-value";

/// A `moto_server` child, killed on drop.
struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    fn start() -> Option<Moto> {
        let python = std::env::var_os("TFREC_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| tf::root().join(".venv/bin/python"));
        let server = python.with_file_name("moto_server");
        if !server.exists() {
            if std::env::var_os("TFREC_REQUIRE_S3").is_some_and(|v| v == "1") {
                panic!(
                    "moto is required (TFREC_REQUIRE_S3=1) but {} is missing",
                    server.display()
                );
            }
            eprintln!("skipping S3 test: no moto_server at {}", server.display());
            return None;
        }
        let port = free_port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment a client of this server needs.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET.into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("TFREC_STORE_TIMEOUT_SECS", "30".into()),
        ]
    }

    /// An unsigned request (moto does not check signatures).
    fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        http_request(self.port, method, path, body)
    }

    fn make_bucket(&self, bucket: &str) {
        let (status, body) = self.request("PUT", &format!("/{bucket}"), b"");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    }

    fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        let (status, _) = self.request("PUT", &format!("/{bucket}/{key}"), bytes);
        assert_eq!(status, 200);
    }

    fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let (status, body) = self.request("GET", &format!("/{bucket}/{key}"), b"");
        (status == 200).then_some(body)
    }

    fn keys(&self, bucket: &str) -> Vec<String> {
        let (status, body) = self.request("GET", &format!("/{bucket}?list-type=2"), b"");
        assert_eq!(status, 200);
        let text = String::from_utf8(body).unwrap();
        text.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_string)
            .collect()
    }

    fn tfrec(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tfrec"))
            .args(args)
            .envs(self.env())
            .output()
            .expect("run tfrec")
    }

    fn tfrec_ok(&self, args: &[&str]) -> String {
        let out = succeeded(self.tfrec(args), ("tfrec", args));
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request with `Connection: close`; the status and body.
fn http_request(port: u16, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    s.write_all(body).unwrap();
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).unwrap();
    let split = reply.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&reply[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let mut rest = reply[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        rest = dechunk(&rest);
    }
    (status, rest)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 2 + size + 2..];
    }
}

/// A version 1.0 `.npy` file of a `<u4` vector.
fn npy_u32(values: &[u32]) -> Vec<u8> {
    let mut header = format!(
        "{{'descr': '<u4', 'fortran_order': False, 'shape': ({},), }}",
        values.len()
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

fn tensor(i: u32) -> Tensor {
    Tensor::from_slice(&[i, i * 3, 7], &[3]).unwrap()
}

/// `n` tensors written locally; the file's bytes and path.
fn local_file(dir: &std::path::Path, name: &str, n: u32) -> (PathBuf, Vec<u8>) {
    let path = dir.join(name);
    let mut w = Writer::create(&path).unwrap();
    for i in 0..n {
        w.write_tensor(&tensor(i)).unwrap();
    }
    w.finish().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

fn values(reader: &mut Reader) -> Vec<u32> {
    reader
        .records()
        .map(|r| r.unwrap().decode().unwrap().to_vec::<u32>().unwrap()[0])
        .collect()
}

fn count_total(out: &str) -> u64 {
    let line = out.lines().find(|l| l.starts_with("total")).unwrap();
    line.split('\t').nth(1).unwrap().parse().unwrap()
}

#[test]
fn s3_end_to_end() {
    let Some(moto) = Moto::start() else { return };
    // The library calls below (this process) use the same server.
    for (k, v) in moto.env() {
        std::env::set_var(k, v);
    }
    let dir = tempfile::tempdir().unwrap();
    moto.make_bucket("tfrec-in");
    moto.make_bucket("tfrec-out");

    // convert local -> s3: two shards, sidecars, the manifest last.
    let (local, _) = local_file(dir.path(), "train.tfrecord", 500);
    let out = moto.tfrec_ok(&[
        "convert",
        local.to_str().unwrap(),
        "--out-dir",
        "s3://tfrec-in/data",
        "--shards",
        "2",
    ]);
    assert!(
        out.contains("s3://tfrec-in/data/train.manifest.json\t2 shards\t500 records"),
        "{out}"
    );
    let keys = moto.keys("tfrec-in");
    assert!(
        keys.contains(&"data/train-00000-of-00002.tfrecord".to_string()),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"data/train.manifest.json".to_string()),
        "{keys:?}"
    );

    // count, verify, stats over a glob of keys.
    let glob = "s3://tfrec-in/data/train-*.tfrecord";
    assert_eq!(count_total(&moto.tfrec_ok(&["count", glob])), 500);
    let verify = moto.tfrec_ok(&["verify", glob]);
    assert_eq!(
        verify.lines().filter(|l| l.contains("\tok\t")).count(),
        2,
        "{verify}"
    );
    let stats = moto.tfrec_ok(&["stats", glob]);
    assert!(stats.contains("records\t500"), "{stats}");

    // cat --shuffle --shard: the ranks' records are disjoint and cover all.
    let mut seen = Vec::new();
    for rank in ["0/2", "1/2"] {
        let out = moto.tfrec_ok(&["cat", "--shuffle", "7", "--shard", rank, glob]);
        seen.extend(
            out.lines()
                .map(|l| l.split('\t').next().unwrap().to_string()),
        );
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 500);

    // index writes sidecars next to the objects; they are then used.
    moto.tfrec_ok(&["index", glob]);
    let sidecar = moto
        .get("tfrec-in", "data/train-00000-of-00002.tfrecord.idx")
        .unwrap();
    assert!(!sidecar.is_empty());
    let url = "s3://tfrec-in/data/train-00000-of-00002.tfrecord";
    let file = IndexedFile::open(url).unwrap();
    assert_eq!(file.index().source(), &tfrec::index::IndexSource::Sidecar);
    let streamed = values(&mut Reader::open(url).unwrap());
    assert_eq!(file.len(), streamed.len());
    for i in [file.len() - 1, 0, 77] {
        assert_eq!(
            file.get(i).unwrap().to_vec::<u32>().unwrap()[0],
            streamed[i]
        );
    }

    // convert s3 -> s3 and s3 -> local round trip the records.
    moto.tfrec_ok(&[
        "convert",
        glob,
        "--out-dir",
        "s3://tfrec-out/copy",
        "--stem",
        "copy",
    ]);
    let mut reader = Reader::open("s3://tfrec-out/copy/copy-00000-of-00001.tfrecord").unwrap();
    let copied = values(&mut reader);
    let mut sorted = copied.clone();
    sorted.sort();
    assert_eq!(sorted, (0..500).collect::<Vec<_>>());
    let back = dir.path().join("back");
    moto.tfrec_ok(&[
        "convert",
        "s3://tfrec-out/copy/copy-00000-of-00001.tfrecord",
        "--out-dir",
        back.to_str().unwrap(),
        "--stem",
        "back",
    ]);
    let back_file = back.join("back-00000-of-00001.tfrecord");
    assert_eq!(values(&mut Reader::open(&back_file).unwrap()), copied);

    // The Dataset over a glob of keys, global shuffle, two ranks.
    let mut all = Vec::new();
    for rank in 0..2 {
        let ds = Dataset::builder()
            .glob(glob)
            .shuffle(11)
            .shard(rank, 2)
            .batch(16)
            .threads(2)
            .build()
            .unwrap();
        for batch in ds.epoch(0).unwrap() {
            all.extend(
                batch
                    .unwrap()
                    .values::<u32>()
                    .unwrap()
                    .chunks(3)
                    .map(|c| c[0]),
            );
        }
    }
    assert_eq!(all.len(), 500);
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(sorted, (0..500).collect::<Vec<_>>());
    assert_ne!(all, sorted, "the shuffle left the order as it was");

    // Writer::create to a URL; a writer dropped unfinished leaves nothing.
    let mut w = Writer::create("s3://tfrec-out/lib/a.tfrecord").unwrap();
    for i in 0..10 {
        w.write_tensor(&tensor(i)).unwrap();
    }
    w.finish().unwrap();
    assert_eq!(
        Reader::open("s3://tfrec-out/lib/a.tfrecord")
            .unwrap()
            .count()
            .unwrap(),
        10
    );
    let mut w = Writer::create("s3://tfrec-out/lib/dropped.tfrecord").unwrap();
    w.write_tensor(&tensor(1)).unwrap();
    drop(w);
    // An upload of several parts abandoned midway leaves no object either.
    let url = tfrec::storage::ObjectUrl::parse("s3://tfrec-out/lib/parts.bin").unwrap();
    let mut upload = tfrec::storage::ObjectWriter::create(&url).unwrap();
    upload.write_all(&vec![7u8; 20 << 20]).unwrap();
    drop(upload);
    assert!(!moto
        .keys("tfrec-out")
        .iter()
        .any(|k| k.contains("dropped") || k.contains("parts")));
    // A conversion that fails midway (damaged input) leaves no shard and
    // no manifest.
    let (_, mut bytes) = local_file(dir.path(), "bad.tfrecord", 50);
    let at = bytes.len() - 10;
    bytes[at] ^= 0xff;
    std::fs::write(dir.path().join("bad.tfrecord"), &bytes).unwrap();
    let out = moto.tfrec(&[
        "convert",
        dir.path().join("bad.tfrecord").to_str().unwrap(),
        "--out-dir",
        "s3://tfrec-out/failed",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!moto
        .keys("tfrec-out")
        .iter()
        .any(|k| k.starts_with("failed/")));

    // pack -o to an object.
    let npy = dir.path().join("a.npy");
    std::fs::write(&npy, npy_u32(&[5, 6, 7])).unwrap();
    moto.tfrec_ok(&[
        "pack",
        npy.to_str().unwrap(),
        "-o",
        "s3://tfrec-out/packed.tfrecord",
    ]);
    let mut packed = Reader::open("s3://tfrec-out/packed.tfrecord").unwrap();
    let record = packed.next_record().unwrap().unwrap();
    assert_eq!(record.decode().unwrap().to_vec::<u32>().unwrap(), [5, 6, 7]);

    // A truncated object: one line naming the URL, exit 1.
    let (_, bytes) = local_file(dir.path(), "t.tfrecord", 20);
    moto.put("tfrec-in", "cut.tfrecord", &bytes[..bytes.len() - 5]);
    let out = moto.tfrec(&["count", "s3://tfrec-in/cut.tfrecord"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("s3://tfrec-in/cut.tfrecord"), "{err}");
    assert!(err.to_lowercase().contains("truncated"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    // A missing object: one line naming the URL, no credentials.
    let out = moto.tfrec(&["verify", "s3://tfrec-in/missing.tfrecord"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("s3://tfrec-in/missing.tfrecord"), "{err}");
    assert!(err.contains("not found"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains(SECRET) && !err.contains(KEY_ID), "{err}");
    let e = Reader::open("s3://tfrec-in/missing.tfrecord")
        .err()
        .unwrap();
    assert_eq!(
        e.io_error().map(|e| e.kind()),
        Some(std::io::ErrorKind::NotFound)
    );
    // A missing bucket too.
    let out = moto.tfrec(&["count", "s3://no-such-bucket/x.tfrecord"]);
    assert_eq!(out.status.code(), Some(1));

    // TensorFlow reads back what was written (downloaded: its S3 plugin is
    // not part of tensorflow-cpu).
    if let Some(py) = tf::python() {
        let bytes = moto
            .get("tfrec-out", "copy/copy-00000-of-00001.tfrecord")
            .unwrap();
        let path = dir.path().join("for_tf.tfrecord");
        std::fs::write(&path, bytes).unwrap();
        let out = tf::tf_helper(&py, &["read", path.to_str().unwrap()]);
        let lines: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 500);
        let mut ours = Reader::open(&path).unwrap();
        for (line, record) in lines.iter().zip(ours.records()) {
            use base64::Engine;
            let raw = base64::engine::general_purpose::STANDARD
                .decode(line["raw"].as_str().unwrap())
                .unwrap();
            assert_eq!(raw, record.unwrap().payload.as_ref());
        }
    }
}

/// Serves `bytes` at every path with HEAD and ranged GET, until the test
/// process ends.
fn range_server(bytes: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let bytes = bytes.clone();
            std::thread::spawn(move || serve(stream, &bytes));
        }
    });
    port
}

fn serve(stream: TcpStream, bytes: &[u8]) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        let mut range = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(r) = lower.strip_prefix("range: bytes=") {
                let (a, b) = r.trim().split_once('-').unwrap();
                let a: usize = a.parse().unwrap();
                let b: usize = if b.is_empty() {
                    bytes.len() - 1
                } else {
                    b.parse().unwrap()
                };
                range = Some((a, b.min(bytes.len() - 1)));
            }
        }
        if request.contains("/denied") {
            let _ = out.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
            continue;
        }
        if request.contains("/silent") {
            // Never answers: the client's timeout must end the wait.
            std::thread::sleep(Duration::from_secs(600));
            return;
        }
        let head = request.starts_with("HEAD");
        let written = match range {
            Some((a, b)) => {
                let body = &bytes[a..=b];
                write!(
                    out,
                    "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {a}-{b}/{}\r\n\r\n",
                    body.len(),
                    bytes.len()
                )
                .and_then(|_| out.write_all(body))
            }
            None => write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                bytes.len()
            )
            .and_then(|_| if head { Ok(()) } else { out.write_all(bytes) }),
        };
        if written.is_err() {
            return;
        }
    }
}

#[test]
fn http_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bytes) = local_file(dir.path(), "h.tfrecord", 300);
    let port = range_server(bytes);
    let url = format!("http://127.0.0.1:{port}/data/h.tfrecord");

    let out = output_ok(Command::new(cli::BIN).args(["count", &url]));
    assert_eq!(count_total(&String::from_utf8(out.stdout).unwrap()), 300);

    let mut reader = Reader::open(&url).unwrap();
    assert_eq!(values(&mut reader), (0..300).collect::<Vec<_>>());

    // A refused request and a server that never answers: one line naming
    // the URL, exit 1, and no hang (retries end within three timeouts).
    let denied = format!("http://127.0.0.1:{port}/denied/h.tfrecord");
    let out = Command::new(env!("CARGO_BIN_EXE_tfrec"))
        .args(["count", &denied])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        err.contains(&denied) && err.contains("access denied"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    let silent = format!("http://127.0.0.1:{port}/silent/h.tfrecord");
    let out = Command::new(env!("CARGO_BIN_EXE_tfrec"))
        .args(["count", &silent])
        .env("TFREC_STORE_TIMEOUT_SECS", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains(&silent) && err.contains("timed out"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    // Random access by ranged GETs.
    let file = IndexedFile::open(&url).unwrap();
    assert_eq!(file.len(), 300);
    for i in [299, 0, 150] {
        assert_eq!(file.get(i).unwrap().to_vec::<u32>().unwrap()[0], i as u32);
    }
}
