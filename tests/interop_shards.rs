//! TensorFlow reads every shard `tfrec convert` and `tfrec pack --out-dir`
//! write, and the records it finds are the input's, byte for byte.
//!
//! TensorFlow runs in a subprocess (`tests/tf_helper.py read`) with the
//! Python from `TFREC_PYTHON`, or `.venv/bin/python` (made by
//! `.ci/setup-venv.sh`). Without TensorFlow these tests are skipped with a
//! message, unless `TFREC_REQUIRE_TF=1` (set by `.ci/test`), when they fail
//! instead.

mod common;

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use common::cli;
use common::process::output_ok;
use common::tf::{python, tf_helper};
use tfrec::write::sharded::Manifest;
use tfrec::{Compression, DType, Tensor, Writer};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// What TensorFlow reads from one file: (offset, raw payload) per record.
fn tf_read(py: &Path, path: &Path, c: Compression) -> Vec<(u64, Vec<u8>)> {
    let args = [
        "read",
        path.to_str().unwrap(),
        "--compression",
        c.name(),
        "--allow-non-tensor",
    ];
    tf_helper(py, &args)
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let raw = B64.decode(v["raw"].as_str().unwrap()).unwrap();
            (v["offset"].as_u64().unwrap(), raw)
        })
        .collect()
}

/// Runs `tfrec ARGS` in `dir`, which must succeed.
fn tfrec_cli(dir: &Path, args: &[&str]) {
    output_ok(Command::new(cli::BIN).args(args).current_dir(dir));
}

/// Reads every shard of the job in `dir` with TensorFlow, checking each
/// record's offset against the shard's `.idx`; returns all payloads.
fn tf_read_job(py: &Path, dir: &Path, stem: &str) -> Vec<Vec<u8>> {
    let manifest = Manifest::read(dir.join(Manifest::file_name(stem))).unwrap();
    manifest.check(dir).unwrap();
    let mut all = Vec::new();
    for shard in &manifest.shards {
        let records = tf_read(py, &dir.join(&shard.name), manifest.compression);
        assert_eq!(records.len() as u64, shard.records, "{}", shard.name);
        let idx = std::fs::read_to_string(dir.join(shard.index.as_ref().unwrap())).unwrap();
        let listed: Vec<String> = idx.lines().map(String::from).collect();
        let seen: Vec<String> = records
            .iter()
            .map(|(offset, raw)| format!("{offset} {}", raw.len() + 16))
            .collect();
        assert_eq!(
            listed, seen,
            "{}: TensorFlow's offsets and the .idx",
            shard.name
        );
        all.extend(records.into_iter().map(|(_, raw)| raw));
    }
    all
}

fn tensors(n: usize) -> Vec<Tensor> {
    (0..n)
        .map(|i| match i % 4 {
            0 => Tensor::from_slice(&[i as f32; 6], &[2, 3]).unwrap(),
            1 => Tensor::from_strings(&[format!("s{i}"), String::new()], &[2]).unwrap(),
            2 => Tensor::from_bytes(DType::U8, &[i % 7, 3], vec![i as u8; (i % 7) * 3]).unwrap(),
            _ => Tensor::scalar(i as i64),
        })
        .collect()
}

fn sorted(mut v: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    v.sort();
    v
}

#[test]
fn tensorflow_reads_every_shard_of_convert() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Tensors, and payloads that are no tensor at all: kept byte for byte.
    let mut input: Vec<Vec<u8>> = tensors(60).iter().map(|t| t.to_proto_bytes()).collect();
    input.extend((0..15).map(|i| format!("raw record {i}").into_bytes()));
    input.push(Vec::new());
    let mut w = Writer::create_with(d.join("in.tfrecord"), Compression::Zlib).unwrap();
    for p in &input {
        w.write_record(p).unwrap();
    }
    w.finish().unwrap();
    tfrec_cli(
        d,
        &[
            "convert",
            "in.tfrecord",
            "--out-dir",
            "gz",
            "--shards",
            "3",
            "--compression",
            "gzip",
            "--shuffle",
            "11",
        ],
    );
    let got = tf_read_job(&py, &d.join("gz"), "in");
    assert_eq!(got.len(), input.len());
    assert_eq!(sorted(got), sorted(input));
}

#[test]
fn tensorflow_reads_every_shard_of_pack() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tensors = tensors(40);
    let jsonl: String = tensors
        .iter()
        .map(|t| serde_json::Value::Object(tfrec::json::tensor_to_json(t)).to_string() + "\n")
        .collect();
    std::fs::write(d.join("t.jsonl"), jsonl).unwrap();
    tfrec_cli(
        d,
        &[
            "pack",
            "t.jsonl",
            "--out-dir",
            "p",
            "--bytes-per-shard",
            "1KiB",
        ],
    );
    let manifest = Manifest::read(d.join("p/t.manifest.json")).unwrap();
    assert!(manifest.shards.len() >= 2);
    let got = tf_read_job(&py, &d.join("p"), "t");
    let want: Vec<Vec<u8>> = tensors.iter().map(|t| t.to_proto_bytes()).collect();
    assert_eq!(got, want, "in order");
}
