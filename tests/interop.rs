//! Interoperability with real TensorFlow, in both directions.
//!
//! TensorFlow runs in a subprocess (`tests/tf_helper.py`) with the Python
//! from `TFREC_PYTHON`, or `.venv/bin/python` (made by `.ci/setup-venv.sh`).
//! Without TensorFlow these tests are skipped with a message, unless
//! `TFREC_REQUIRE_TF=1` (set by `.ci/test`), when they fail instead.

mod common;

use std::process::Command;

use base64::Engine as _;
use common::process::output_ok;
use common::tf::{python, tf_helper};
use common::{cli, Rng};
use tfrec::{Compression, DType, Reader, Tensor, Writer};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const COMPRESSIONS: [Compression; 3] = [Compression::None, Compression::Gzip, Compression::Zlib];

/// Runs `tfrec ARGS`, which must succeed.
fn tfrec_cli(args: &[&str]) -> std::process::Output {
    output_ok(Command::new(cli::BIN).args(args))
}

/// Random tensors of every dtype: scalars, empty tensors, ranks up to 5.
fn random_tensors(seed: u64, count: usize) -> Vec<Tensor> {
    let mut rng = Rng::new(seed | 1);
    let mut out = Vec::new();
    for i in 0..count {
        let dtype = DType::ALL[i % DType::ALL.len()];
        let rank = rng.below(6);
        let mut shape: Vec<usize> = (0..rank).map(|_| rng.below(4) + 1).collect();
        if rng.below(8) == 0 && rank > 0 {
            shape[rng.below(rank)] = 0;
        }
        let n: usize = shape.iter().product();
        let tensor = match dtype {
            DType::String => {
                let strings: Vec<Vec<u8>> = (0..n)
                    .map(|_| {
                        let len = rng.below(12);
                        rng.bytes(len)
                    })
                    .collect();
                Tensor::from_strings(&strings, &shape)
            }
            DType::Bool => {
                let bytes = (0..n).map(|_| rng.below(2) as u8).collect();
                Tensor::from_bytes(dtype, &shape, bytes)
            }
            _ => {
                let size = dtype.size().unwrap();
                Tensor::from_bytes(dtype, &shape, rng.bytes(n * size))
            }
        };
        out.push(tensor.unwrap());
    }
    out
}

fn to_jsonl(tensors: &[Tensor]) -> String {
    tensors
        .iter()
        .map(|t| serde_json::Value::Object(tfrec::json::tensor_to_json(t)).to_string() + "\n")
        .collect()
}

/// Parses `tf_helper read` output: (tensor, raw payload) per record.
fn parse_tf_read(out: &str) -> Vec<(Tensor, Vec<u8>, u64)> {
    out.lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let tensor = tfrec::json::tensor_from_json(&v).unwrap();
            let raw = B64.decode(v["raw"].as_str().unwrap()).unwrap();
            (tensor, raw, v["offset"].as_u64().unwrap())
        })
        .collect()
}

/// Bitwise equality, so NaN payloads count.
fn assert_same(ours: &Tensor, theirs: &Tensor, what: &str) {
    assert_eq!(ours.dtype(), theirs.dtype(), "{what}: dtype");
    assert_eq!(ours.shape(), theirs.shape(), "{what}: shape");
    assert_eq!(ours.bytes(), theirs.bytes(), "{what}: data");
    let s1: Option<Vec<&[u8]>> = ours.strings().map(Iterator::collect);
    let s2: Option<Vec<&[u8]>> = theirs.strings().map(Iterator::collect);
    assert_eq!(s1, s2, "{what}: strings");
}

#[test]
fn tensorflow_writes_tfrec_reads() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tensors = random_tensors(0x5eed_0001, 96);
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, to_jsonl(&tensors)).unwrap();
    for c in COMPRESSIONS {
        let path = dir.path().join(format!("tf-{c}.tfrecord"));
        tf_helper(
            &py,
            &[
                "write",
                input.to_str().unwrap(),
                path.to_str().unwrap(),
                "--compression",
                c.name(),
            ],
        );
        let mut reader = Reader::open(&path).unwrap();
        assert_eq!(reader.compression(), c);
        let got: Vec<Tensor> = reader
            .records()
            .map(|r| Tensor::decode(&r.unwrap().payload).unwrap())
            .collect();
        assert_eq!(got.len(), tensors.len(), "{c}");
        for (i, (ours, theirs)) in tensors.iter().zip(&got).enumerate() {
            assert_same(theirs, ours, &format!("{c} record {i}"));
        }
        // And through the CLI: `cat --jsonl` gives back the same tensors.
        let out = tfrec_cli(&["cat", "--jsonl", path.to_str().unwrap()]);
        let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
        assert_eq!(lines.len(), tensors.len());
        for (i, line) in lines.iter().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["index"], i as u64);
            assert_same(
                &tfrec::json::tensor_from_json(&v).unwrap(),
                &tensors[i],
                "cat --jsonl",
            );
        }
    }
}

#[test]
fn tfrec_writes_tensorflow_reads() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tensors = random_tensors(0x5eed_0002, 96);
    for c in COMPRESSIONS {
        let path = dir.path().join(format!("ours-{c}.tfrecord"));
        let mut w = Writer::create_with(&path, c).unwrap();
        for t in &tensors {
            w.write_tensor(t).unwrap();
        }
        w.finish().unwrap();
        let read = parse_tf_read(&tf_helper(
            &py,
            &["read", path.to_str().unwrap(), "--compression", c.name()],
        ));
        assert_eq!(read.len(), tensors.len(), "{c}");
        let mut offset = 0;
        for (i, ((theirs, raw, off), ours)) in read.iter().zip(&tensors).enumerate() {
            assert_same(theirs, ours, &format!("{c} record {i}"));
            assert_eq!(raw, &ours.to_proto_bytes(), "{c} record {i}: payload bytes");
            assert_eq!(*off, offset, "{c} record {i}: offset");
            offset += raw.len() as u64 + 16;
        }
    }
}

#[test]
fn serialization_is_byte_identical_to_serialize_tensor() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut tensors = random_tensors(0x5eed_0003, 160);
    // Edge cases TensorFlow encodes specially.
    tensors.push(Tensor::from_strings::<&[u8]>(&[], &[0]).unwrap());
    tensors.push(Tensor::from_strings(&[b"".as_slice()], &[]).unwrap());
    tensors.push(Tensor::from_slice::<f32>(&[], &[3, 0, 2]).unwrap());
    tensors.push(Tensor::scalar(f64::NAN));
    tensors.push(Tensor::from_slice(&[1u8; 300], &[300]).unwrap());
    tensors.push(Tensor::from_slice(&[7i64; 1], &[1, 1, 1, 1, 1]).unwrap());
    tensors.push(Tensor::from_slice(&[0u16; 200], &[200, 1]).unwrap());
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, to_jsonl(&tensors)).unwrap();
    let out = tf_helper(&py, &["serialize", input.to_str().unwrap()]);
    let theirs: Vec<Vec<u8>> = out.lines().map(|l| B64.decode(l.trim()).unwrap()).collect();
    assert_eq!(theirs.len(), tensors.len());
    for (i, (t, bytes)) in tensors.iter().zip(&theirs).enumerate() {
        assert_eq!(&t.to_proto_bytes(), bytes, "tensor {i}: {t:?}");
    }
}

#[test]
fn cli_pack_jsonl_and_npy_is_read_by_tensorflow() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // numpy writes .npy files (C and Fortran order, big-endian, strings) and
    // the tensors TensorFlow makes of them.
    let script = r#"
import sys, os, json, base64
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
arrays = {
  "f32": rng.standard_normal((3, 4)).astype(np.float32),
  "f64_fortran": np.asfortranarray(rng.standard_normal((2, 3, 4))),
  "i16_be": rng.integers(-300, 300, (5,)).astype(">i2"),
  "u64": rng.integers(0, 2**63, (2, 2), dtype=np.uint64),
  "bool": rng.integers(0, 2, (7,)).astype(bool),
  "c64_fortran": np.asfortranarray((rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))).astype(np.complex64)),
  "f16_scalar": np.array(1.5, dtype=np.float16),
  "empty": np.zeros((0, 3), dtype=np.int32),
  "bytes": np.array([b"a", b"", b"xyz"]),
  "unicode": np.array([["h\u00e9", "z"], ["", "\u732b"]]),
}
names = sorted(arrays)
for n in names:
    np.save(os.path.join(d, n + ".npy"), arrays[n])
print(json.dumps(names))
"#;
    let out = output_ok(Command::new(&py).args(["-c", script, d.to_str().unwrap()]));
    let names: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    let npys: Vec<String> = names
        .iter()
        .map(|n| d.join(format!("{n}.npy")).to_str().unwrap().to_string())
        .collect();

    let tensors = random_tensors(0x5eed_0004, 48);
    let jsonl = d.join("in.jsonl");
    std::fs::write(&jsonl, to_jsonl(&tensors)).unwrap();

    for c in COMPRESSIONS {
        let packed = d.join(format!("packed-{c}.tfrecord"));
        let mut args = vec![
            "pack",
            "-o",
            packed.to_str().unwrap(),
            "--compression",
            c.name(),
            jsonl.to_str().unwrap(),
        ];
        args.extend(npys.iter().map(String::as_str));
        tfrec_cli(&args);
        let read = parse_tf_read(&tf_helper(
            &py,
            &["read", packed.to_str().unwrap(), "--compression", c.name()],
        ));
        assert_eq!(read.len(), tensors.len() + npys.len());
        for (i, ours) in tensors.iter().enumerate() {
            assert_same(&read[i].0, ours, &format!("pack {c} jsonl record {i}"));
            assert_eq!(read[i].1, ours.to_proto_bytes());
        }
        // What TensorFlow makes of each .npy through numpy must equal the record.
        let check = r#"
import sys, os, base64
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, tensorflow as tf
for path in sys.argv[1:]:
    a = np.load(path)
    print(base64.b64encode(tf.io.serialize_tensor(tf.constant(a)).numpy()).decode())
"#;
        let mut cmd = Command::new(&py);
        cmd.args(["-c", check])
            .args(&npys)
            .env("TF_CPP_MIN_LOG_LEVEL", "3");
        let out = output_ok(&mut cmd);
        let expected: Vec<Vec<u8>> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| B64.decode(l.trim()).unwrap())
            .collect();
        for (k, want) in expected.iter().enumerate() {
            assert_eq!(&read[tensors.len() + k].1, want, "pack {c}: {}", names[k]);
        }
    }
}
