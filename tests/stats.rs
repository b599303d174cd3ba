//! `tfrec stats` and `tfrec::stats`: exact integer sums, float, bool,
//! complex and string rules, parallel walks that agree with a plain
//! sequential tally, and the JSON and text output.

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use common::cli::{self, BIN};
use common::Rng;
use tfrec::stats::{self, Stats, Summary};
use tfrec::{bf16, f16, Complex32, Complex64, Compression, DType, Reader, Tensor, Writer};

fn write(path: &Path, tensors: &[Tensor], compression: Compression) {
    let mut w = Writer::create_with(path, compression).unwrap();
    for t in tensors {
        w.write_tensor(t).unwrap();
    }
    w.finish().unwrap();
}

/// (stdout, stderr, exit code) of `tfrec ARGS` run in `dir`.
fn tfrec(dir: &Path, args: &[&str]) -> (String, String, Option<i32>) {
    let run = cli::tfrec(dir, args);
    (run.text().to_string(), run.stderr.clone(), run.code)
}

#[test]
fn integer_sums_are_exact_beyond_64_bits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.tfrecord");
    let tensors = vec![
        Tensor::from_slice(&[u64::MAX; 4], &[2, 2]).unwrap(),
        Tensor::from_slice(&[u64::MAX, 0, 7], &[3]).unwrap(),
        Tensor::from_slice(&[i64::MIN, i64::MIN, i64::MIN, -1], &[4]).unwrap(),
        Tensor::from_slice(&[i64::MAX, 5], &[2]).unwrap(),
        Tensor::from_slice(&[i8::MIN, i8::MAX, -1], &[3]).unwrap(),
        Tensor::from_slice(&[u32::MAX; 3], &[3]).unwrap(),
    ];
    write(&path, &tensors, Compression::None);
    let s = stats::stats_file(&path, &|_| {}).unwrap();
    let u64_sum = 5 * u128::from(u64::MAX) + 7;
    assert!(u64_sum > u128::from(u64::MAX));
    assert_eq!(
        s.dtypes[&DType::U64].summary,
        Summary::UInt {
            sum: u64_sum,
            min: Some(0),
            max: Some(u64::MAX)
        }
    );
    let i64_sum = 3 * i128::from(i64::MIN) - 1 + i128::from(i64::MAX) + 5;
    assert_eq!(
        s.dtypes[&DType::I64].summary,
        Summary::Int {
            sum: i64_sum,
            min: Some(i64::MIN),
            max: Some(i64::MAX)
        }
    );
    assert_eq!(
        s.dtypes[&DType::I8].summary,
        Summary::Int {
            sum: -2,
            min: Some(-128),
            max: Some(127)
        }
    );
    let json = s.to_json();
    assert!(json.contains(&format!("\"uint64\": {{\"tensors\": 2, \"elements\": 7, \"sum\": {u64_sum}, \"min\": 0, \"max\": 18446744073709551615}}")), "{json}");
    assert!(
        json.contains(&format!(
            "\"sum\": {i64_sum}, \"min\": -9223372036854775808"
        )),
        "{json}"
    );
    assert!(
        json.contains("\"uint32\": {\"tensors\": 1, \"elements\": 3, \"sum\": 12884901885,"),
        "{json}"
    );
}

#[test]
fn floats_bools_complex_and_strings_follow_the_documented_rules() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.tfrecord");
    let tensors = vec![
        Tensor::from_slice(&[1.5f32, f32::NAN, -2.0, f32::NAN], &[2, 2]).unwrap(),
        Tensor::from_slice(&[0.25f64], &[]).unwrap(),
        Tensor::from_slice(&[f16::from_f32(3.0), f16::from_f32(-0.5)], &[2]).unwrap(),
        Tensor::from_slice(&[bf16::from_f32(8.0)], &[1]).unwrap(),
        Tensor::from_bools(&[true, false, true], &[3]).unwrap(),
        Tensor::from_bools(&[true], &[1]).unwrap(),
        Tensor::from_slice(&[Complex32::new(1.0, -1.0), Complex32::new(2.0, 0.5)], &[2]).unwrap(),
        Tensor::from_slice(
            &[Complex64::new(f64::NAN, 1.0), Complex64::new(-4.0, 4.0)],
            &[2],
        )
        .unwrap(),
        Tensor::from_strings(&["a", "bcd"], &[2]).unwrap(),
        Tensor::from_slice::<f32>(&[], &[0, 3]).unwrap(),
        Tensor::from_slice(&[f32::NAN], &[1]).unwrap(),
    ];
    write(&path, &tensors, Compression::None);
    let s = stats::stats_file(&path, &|_| {}).unwrap();
    assert_eq!(s.records, 11);
    assert_eq!(s.bytes, std::fs::metadata(&path).unwrap().len());
    let f32s = &s.dtypes[&DType::F32];
    assert_eq!((f32s.tensors, f32s.elements), (3, 5));
    assert_eq!(
        f32s.summary,
        Summary::Float {
            sum: -0.5,
            min: Some(-2.0),
            max: Some(1.5),
            nan: 3
        }
    );
    assert_eq!(
        s.dtypes[&DType::F16].summary,
        Summary::Float {
            sum: 2.5,
            min: Some(-0.5),
            max: Some(3.0),
            nan: 0
        }
    );
    assert_eq!(
        s.dtypes[&DType::BF16].summary,
        Summary::Float {
            sum: 8.0,
            min: Some(8.0),
            max: Some(8.0),
            nan: 0
        }
    );
    assert_eq!(s.dtypes[&DType::Bool].summary, Summary::Bool { trues: 3 });
    assert_eq!(
        s.dtypes[&DType::Complex64].summary,
        Summary::Complex {
            re: 3.0,
            im: -0.5,
            nan: 0
        }
    );
    assert_eq!(
        s.dtypes[&DType::Complex128].summary,
        Summary::Complex {
            re: -4.0,
            im: 4.0,
            nan: 1
        }
    );
    assert_eq!(s.dtypes[&DType::String].summary, Summary::String);
    assert_eq!(s.shapes[&vec![2]], 4);
    assert_eq!(s.shapes[&vec![]], 1);
    assert_eq!(s.shapes[&vec![0, 3]], 1);

    let json = s.to_json();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let keys =
        |v: &serde_json::Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(
        keys(&value),
        ["bytes", "dtypes", "holds", "records", "shapes", "sizes"]
    );
    assert_eq!(value["holds"], "tensor");
    let d = &value["dtypes"];
    for name in [
        "float32",
        "float16",
        "bfloat16",
        "float64",
        "bool",
        "complex64",
        "complex128",
    ] {
        assert_eq!(
            keys(&d[name]),
            ["elements", "max", "min", "sum", "tensors"],
            "{name}"
        );
    }
    assert_eq!(keys(&d["string"]), ["elements", "tensors"]);
    assert_eq!(d["bool"]["sum"], 3);
    assert_eq!(
        (d["bool"]["min"].as_u64(), d["bool"]["max"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(d["complex64"]["sum"], serde_json::json!([3.0, -0.5]));
    assert!(d["complex64"]["min"].is_null());
    assert_eq!(d["float32"]["sum"], -0.5);
    assert_eq!(value["shapes"]["[]"], 1);
    assert_eq!(value["shapes"]["[0, 3]"], 1);
    assert!(json.contains("\"shapes\": {\"[]\": 1, "), "{json}");
}

/// Deterministic pseudo-random tensors of a few dtypes and shapes.
fn random_tensors(n: usize, seed: u64) -> Vec<Tensor> {
    let mut rng = Rng::new(seed | 1);
    let mut next = move || rng.next();
    (0..n)
        .map(|_| {
            let r = next();
            let len = (r % 200) as usize;
            match r % 4 {
                0 => {
                    Tensor::from_slice(&(0..len).map(|_| next() as u8).collect::<Vec<_>>(), &[len])
                        .unwrap()
                }
                1 => {
                    Tensor::from_slice(&(0..len).map(|_| next() as i32).collect::<Vec<_>>(), &[len])
                        .unwrap()
                }
                // Small integers in floats: exact in any summation order.
                2 => Tensor::from_slice(
                    &(0..len * 2)
                        .map(|_| (next() % 1000) as f32 - 500.0)
                        .collect::<Vec<_>>(),
                    &[len, 2],
                )
                .unwrap(),
                _ => {
                    Tensor::from_slice(&(0..len).map(|_| next() as i64).collect::<Vec<_>>(), &[len])
                        .unwrap()
                }
            }
        })
        .collect()
}

/// The plain, sequential tally the parallel walks must agree with.
fn reference(path: &Path) -> Stats {
    let mut reader = Reader::open(path).unwrap();
    let mut s = Stats::new();
    for record in reader.records() {
        let record = record.unwrap();
        let frame = record.payload.len() as u64 + 16;
        s.add(&record.decode().unwrap(), frame).unwrap();
    }
    s
}

#[test]
fn parallel_walks_agree_with_a_sequential_tally() {
    let dir = tempfile::tempdir().unwrap();
    // Over 3 MiB: several segments, split points inside records.
    let path = dir.path().join("r.tfrecord");
    let mut tensors = random_tensors(6000, 42);
    // A payload that is itself a whole valid frame: a false boundary.
    let mut inner = Vec::new();
    tfrec::framing::encode_frame(&Tensor::scalar(9u8).to_proto_bytes(), &mut inner);
    tensors.insert(
        2500,
        Tensor::from_bytes(DType::U8, &[inner.len()], inner).unwrap(),
    );
    write(&path, &tensors, Compression::None);
    assert!(std::fs::metadata(&path).unwrap().len() > 3 << 20);
    let expected = reference(&path);
    assert_eq!(expected.records, 6001);
    let progress = std::sync::atomic::AtomicU64::new(0);
    let tick = |n: u64| {
        progress.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    };
    assert_eq!(
        stats::stats_file(&path, &tick).unwrap(),
        expected,
        "segmented walk"
    );
    assert_eq!(progress.into_inner(), expected.bytes);
    // Through a sidecar index.
    tfrec::index::Index::scan_file(&path)
        .unwrap()
        .write_sidecar(&path)
        .unwrap();
    assert_eq!(
        stats::stats_file(&path, &|_| {}).unwrap(),
        expected,
        "indexed"
    );
    // Compressed: streamed.
    let gz = dir.path().join("r.gz.tfrecord");
    write(&gz, &tensors, Compression::Gzip);
    assert_eq!(stats::stats_file(&gz, &|_| {}).unwrap(), expected, "gzip");
    // Two files together.
    let both = stats::stats_files(&[&path, &gz], &|_| {}).unwrap();
    assert_eq!(both.records, 2 * expected.records);
}

#[test]
fn a_corrupt_record_is_named_with_its_global_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.tfrecord");
    let tensors = random_tensors(5000, 7);
    write(&path, &tensors, Compression::None);
    let index = tfrec::index::Index::scan_file(&path).unwrap();
    let victim = 4321;
    let e = index.get(victim).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[(e.offset + e.len - 6) as usize] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    for with_sidecar in [false, true] {
        if with_sidecar {
            index.write_sidecar(&path).unwrap();
        }
        let err = stats::stats_file(&path, &|_| {}).unwrap_err();
        assert_eq!(
            err.record_index(),
            Some(victim as u64),
            "sidecar {with_sidecar}: {err}"
        );
        assert_eq!(err.offset(), Some(e.offset));
        assert_eq!(err.path(), Some(path.as_path()));
    }
    let (_, stderr, code) = tfrec(dir.path(), &["stats", "c.tfrecord"]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.starts_with(&format!(
            "tfrec: c.tfrecord: record {victim} at offset {}: corrupt data",
            e.offset
        )),
        "{stderr}"
    );
}

#[test]
fn cli_json_is_exactly_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    let images: Vec<Tensor> = (0..3u8)
        .map(|i| Tensor::from_bytes(DType::U8, &[4, 4, 3], vec![i * 10; 48]).unwrap())
        .collect();
    write(&dir.path().join("img.tfrecord"), &images, Compression::None);
    let labels: Vec<Tensor> = (0..3i64).map(Tensor::scalar).collect();
    write(&dir.path().join("lab.tfrecord"), &labels, Compression::Gzip);
    let (out, err, code) = tfrec(
        dir.path(),
        &["stats", "--json", "img.tfrecord", "lab.tfrecord"],
    );
    assert_eq!(code, Some(0), "{err}");
    let bytes = reference(&dir.path().join("img.tfrecord")).bytes
        + reference(&dir.path().join("lab.tfrecord")).bytes;
    let lens: Vec<usize> = images
        .iter()
        .chain(&labels)
        .map(|t| t.to_proto_bytes().len())
        .collect();
    let (min, max) = (lens.iter().min().unwrap(), lens.iter().max().unwrap());
    let mean = lens.iter().sum::<usize>() as f64 / 6.0;
    assert_eq!(
        out,
        format!(
            "{{\"records\": 6, \"bytes\": {bytes}, \"holds\": \"tensor\", \
             \"sizes\": {{\"min\": {min}, \"mean\": {mean:?}, \"max\": {max}, \"empty\": 0}}, \
             \"dtypes\": {{\"int64\": {{\"tensors\": 3, \"elements\": 3, \"sum\": 3, \"min\": 0, \"max\": 2}}, \
             \"uint8\": {{\"tensors\": 3, \"elements\": 144, \"sum\": 1440, \"min\": 0, \"max\": 20}}}}, \
             \"shapes\": {{\"[]\": 3, \"[4, 4, 3]\": 3}}}}\n"
        )
    );
    // The same through stdin.
    let mut child = Command::new(BIN)
        .current_dir(dir.path())
        .args(["stats", "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let data = std::fs::read(dir.path().join("lab.tfrecord")).unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let piped = child.wait_with_output().unwrap();
    assert!(piped.status.success());
    let v: serde_json::Value = serde_json::from_slice(&piped.stdout).unwrap();
    assert_eq!(v["dtypes"]["int64"]["sum"], 3);

    // For people: totals, a dtype table, a shape table.
    let (text, _, code) = tfrec(dir.path(), &["stats", "img.tfrecord", "lab.tfrecord"]);
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "records\t6");
    assert!(lines[1].starts_with("bytes\t"));
    let table: BTreeMap<&str, Vec<&str>> = lines
        .iter()
        .filter(|l| l.starts_with("int64") || l.starts_with("uint8") || l.starts_with("dtype"))
        .map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            (cells[0], cells)
        })
        .collect();
    assert_eq!(
        table["dtype"],
        ["dtype", "tensors", "elements", "sum", "min", "max", "NaN"]
    );
    assert_eq!(table["uint8"], ["uint8", "3", "144", "1440", "0", "20"]);
    assert!(text.contains("[4, 4, 3]  3"), "{text}");

    let (_, err, code) = tfrec(dir.path(), &["stats", "nope.tfrecord"]);
    assert_eq!(code, Some(1));
    assert!(err.starts_with("tfrec: nope.tfrecord: "), "{err}");
}

#[test]
fn float_sums_are_the_same_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.tfrecord");
    let mut x = 1u32;
    let tensors: Vec<Tensor> = (0..20_000)
        .map(|_| {
            let v: Vec<f32> = (0..16)
                .map(|_| {
                    x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (x as f32 / u32::MAX as f32 - 0.5) * 1e3
                })
                .collect();
            Tensor::from_slice(&v, &[16]).unwrap()
        })
        .collect();
    write(&path, &tensors, Compression::None);
    let first = stats::stats_file(&path, &|_| {}).unwrap().to_json();
    for _ in 0..3 {
        assert_eq!(stats::stats_file(&path, &|_| {}).unwrap().to_json(), first);
    }
}
