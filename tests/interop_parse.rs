//! Parsing Examples against real TensorFlow, both ways: files written by
//! `tf.io.TFRecordWriter` and files written by tfrec, each parsed by
//! `tf.io.parse_example` (in batches) and `tf.io.parse_single_example` in
//! Python (`tests/tf_parse_helper.py`) and by `ParseSpec` through a
//! `Dataset` and one record at a time: the same values, shapes, dtypes and
//! sparse indices, and errors at the same records.
//!
//! Without TensorFlow these tests are skipped with a message, unless
//! `TFREC_REQUIRE_TF=1` (set by `.ci/test`), when they fail instead.

mod common;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use common::python::run_helper;
use common::tf::python;
use common::Rng;
use serde_json::{json, Value};
use tfrec::example::{Column, DefaultValue, Example, Feature, ParseSpec};
use tfrec::pipeline::{Dataset, IterState};
use tfrec::{DType, Reader, Tensor, TensorView, Writer};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// One feature of a record.
#[derive(Clone)]
enum F {
    /// `tf.train.Feature()`: no kind.
    NoKind,
    Int(Vec<i64>),
    Float(Vec<f32>),
    Bytes(Vec<Vec<u8>>),
}

/// A record: named features, or raw bytes that are not an Example.
#[derive(Clone)]
enum Rec {
    Ex(Vec<(&'static str, F)>),
    Raw(Vec<u8>),
}

/// One entry of a spec.
#[derive(Clone)]
enum E {
    Fixed(&'static str, DType, Vec<usize>, Option<DefaultValue>),
    VarLen(&'static str, DType),
    Tensor(&'static str, DType, Vec<usize>),
}

impl E {
    fn name(&self) -> &'static str {
        match self {
            E::Fixed(n, ..) | E::VarLen(n, _) | E::Tensor(n, ..) => n,
        }
    }
}

struct Case {
    name: &'static str,
    spec: Vec<E>,
    records: Vec<Rec>,
    batch: usize,
    /// The record and feature that must fail, on both sides.
    error: Option<(u64, &'static str)>,
}

fn spec_of(entries: &[E]) -> ParseSpec {
    entries
        .iter()
        .fold(ParseSpec::new(), |s, e| match e.clone() {
            E::Fixed(n, d, shape, default) => s.fixed(n, d, &shape, default),
            E::VarLen(n, d) => s.var_len(n, d),
            E::Tensor(n, d, shape) => s.tensor(n, d, &shape),
        })
}

fn spec_json(entries: &[E]) -> Value {
    let default = |d: &Option<DefaultValue>| match d {
        None => Value::Null,
        Some(DefaultValue::F32(v)) => {
            json!({"bits": v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()})
        }
        Some(DefaultValue::I64(v)) => json!({"values": v}),
        Some(DefaultValue::String(v)) => {
            json!({"values": v.iter().map(|s| B64.encode(s)).collect::<Vec<_>>()})
        }
    };
    Value::Array(
        entries
            .iter()
            .map(|e| match e {
                E::Fixed(n, d, shape, def) => {
                    json!({"name": n, "kind": "fixed", "dtype": d.name(), "shape": shape, "default": default(def)})
                }
                E::VarLen(n, d) => json!({"name": n, "kind": "var_len", "dtype": d.name()}),
                E::Tensor(n, d, shape) => {
                    json!({"name": n, "kind": "tensor", "dtype": d.name(), "shape": shape})
                }
            })
            .collect(),
    )
}

fn records_jsonl(records: &[Rec]) -> String {
    records
        .iter()
        .map(|r| {
            let v = match r {
                Rec::Raw(bytes) => json!({"raw": B64.encode(bytes)}),
                Rec::Ex(features) => {
                    let mut map = serde_json::Map::new();
                    for (name, f) in features {
                        let f = match f {
                            F::NoKind => json!({"kind": "none"}),
                            F::Int(v) => json!({"kind": "int64", "values": v}),
                            F::Float(v) => json!({"kind": "float", "bits": v.iter().map(|x| x.to_bits()).collect::<Vec<_>>()}),
                            F::Bytes(v) => json!({"kind": "bytes", "values": v.iter().map(|s| B64.encode(s)).collect::<Vec<_>>()}),
                        };
                        map.insert(name.to_string(), f);
                    }
                    json!({"features": map})
                }
            };
            v.to_string() + "\n"
        })
        .collect()
}

fn write_ours(path: &Path, records: &[Rec]) {
    let mut w = Writer::create(path).unwrap();
    for r in records {
        match r {
            Rec::Raw(bytes) => w.write_record(bytes).unwrap(),
            Rec::Ex(features) => {
                let mut ex = Example::default();
                for (name, f) in features {
                    ex = match f {
                        F::NoKind => ex.with_feature(*name, Feature::default()),
                        F::Int(v) => ex.int64(*name, v.iter().copied()),
                        F::Float(v) => ex.float(*name, v.iter().copied()),
                        F::Bytes(v) => ex.bytes(*name, v.iter().cloned()),
                    };
                }
                w.write_example(&ex).unwrap();
            }
        }
    }
    w.finish().unwrap();
}

fn helper(py: &Path, args: &[&str]) -> String {
    run_helper(py, "tf_parse_helper.py", args, &[])
}

fn lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A tensor in the helper's JSON form.
fn tensor_json(t: &TensorView<'_>) -> Value {
    match t.strings() {
        Some(s) => json!({
            "dtype": "string",
            "shape": t.shape(),
            "strings": s.map(|s| B64.encode(s)).collect::<Vec<_>>(),
        }),
        None => json!({
            "dtype": t.dtype().name(),
            "shape": t.shape(),
            "data": B64.encode(t.bytes().unwrap()),
        }),
    }
}

fn sparse_json(s: &tfrec::example::SparseTensor) -> Value {
    json!({
        "indices": s.indices,
        "values": tensor_json(&s.values),
        "dense_shape": s.dense_shape,
    })
}

fn column_json(c: &Column<'_>) -> Value {
    match c.to_sparse() {
        Some(s) => sparse_json(&s),
        None => tensor_json(&c.view().unwrap()),
    }
}

/// Our batches (or the error) in the helper's form, and the error.
fn ours_batched(path: &Path, case: &Case) -> (Vec<Value>, Option<tfrec::Error>) {
    let spec = spec_of(&case.spec);
    let ds = Dataset::builder()
        .file(path)
        .batch(case.batch)
        .build()
        .unwrap();
    let mut out = Vec::new();
    for b in ds.example_batches(&spec, IterState::default()).unwrap() {
        match b {
            Ok(b) => {
                let mut features = serde_json::Map::new();
                for e in &case.spec {
                    features.insert(e.name().into(), column_json(&b.get(e.name()).unwrap()));
                }
                out.push(json!({ "features": features }));
            }
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

fn ours_single(path: &Path, case: &Case) -> (Vec<Value>, Option<(u64, tfrec::Error)>) {
    let spec = spec_of(&case.spec);
    let mut out = Vec::new();
    let mut reader = Reader::open(path).unwrap();
    for (i, r) in reader.records().enumerate() {
        let r = r.unwrap();
        match spec.parse(&r.payload) {
            Ok(p) => {
                let mut features = serde_json::Map::new();
                for e in &case.spec {
                    let v = match p.sparse(e.name()) {
                        Some(s) => sparse_json(&s),
                        None => tensor_json(&p.get(e.name()).unwrap()),
                    };
                    features.insert(e.name().into(), v);
                }
                out.push(json!({ "features": features }));
            }
            Err(e) => return (out, Some((i as u64, e))),
        }
    }
    (out, None)
}

/// The files of a case: TensorFlow's (written by the helper) and ours.
struct Files {
    spec: PathBuf,
    input: PathBuf,
    tf: PathBuf,
    ours: PathBuf,
}

fn prepare(dir: &Path, case: &Case) -> Files {
    let files = Files {
        spec: dir.join(format!("{}.spec.json", case.name)),
        input: dir.join(format!("{}.jsonl", case.name)),
        tf: dir.join(format!("{}.tf.tfrecord", case.name)),
        ours: dir.join(format!("{}.ours.tfrecord", case.name)),
    };
    std::fs::write(&files.spec, spec_json(&case.spec).to_string()).unwrap();
    std::fs::write(&files.input, records_jsonl(&case.records)).unwrap();
    write_ours(&files.ours, &case.records);
    files
}

/// Runs every case's writes and parses in one helper process (TensorFlow
/// loads once) and checks each parse against ours.
fn check_cases(py: &Path, dir: &Path, cases: &[Case]) {
    let files: Vec<Files> = cases.iter().map(|c| prepare(dir, c)).collect();
    let path = |p: &Path| p.to_str().unwrap().to_owned();
    let mut jobs = Vec::new();
    for f in &files {
        jobs.push(json!({"op": "write", "out": path(&f.tf), "input": path(&f.input)}));
    }
    // (case, file, batched) for each parse job, in order.
    let mut parses = Vec::new();
    for (c, (case, f)) in cases.iter().zip(&files).enumerate() {
        for file in [&f.tf, &f.ours] {
            for batched in [true, false] {
                let batch = if batched {
                    json!(case.batch)
                } else {
                    Value::Null
                };
                jobs.push(json!({"op": "parse", "input": path(file), "spec": path(&f.spec), "batch": batch}));
                parses.push((c, file.clone(), batched));
            }
        }
    }
    let jobs_path = dir.join("jobs.json");
    std::fs::write(&jobs_path, Value::Array(jobs).to_string()).unwrap();
    let results = lines(&helper(py, &["jobs", jobs_path.to_str().unwrap()]));
    assert_eq!(results.len(), files.len() + parses.len());
    for (result, (c, file, batched)) in results[files.len()..].iter().zip(parses) {
        let case = &cases[c];
        let theirs: Vec<Value> = result["lines"].as_array().unwrap().clone();
        let who = if file == files[c].tf {
            "written by TensorFlow"
        } else {
            "written by tfrec"
        };
        let what = format!("{}: {who}", case.name);
        if batched {
            let (ours, err) = ours_batched(&file, case);
            compare(&what, "parse_example", &theirs, &ours, err.as_ref(), case);
            if let Some(e) = &err {
                assert_eq!(e.path(), Some(file.as_path()), "{what}");
            }
        } else {
            let (ours, err) = ours_single(&file, case);
            if let (Some((i, _)), Some((want, _))) = (&err, case.error) {
                assert_eq!(*i, want, "{what}: single record error");
            }
            compare(
                &what,
                "parse_single_example",
                &theirs,
                &ours,
                err.as_ref().map(|(_, e)| e),
                case,
            );
        }
    }
}

fn compare(
    what: &str,
    how: &str,
    theirs: &[Value],
    ours: &[Value],
    err: Option<&tfrec::Error>,
    case: &Case,
) {
    let tf_error = theirs
        .last()
        .and_then(|v| v.get("error"))
        .and_then(Value::as_str);
    let tf_ok = &theirs[..theirs.len() - usize::from(tf_error.is_some())];
    assert_eq!(
        tf_ok.len(),
        ours.len(),
        "{what} ({how}): batches before any error"
    );
    for (k, (t, o)) in tf_ok.iter().zip(ours).enumerate() {
        assert_eq!(t, o, "{what} ({how}): batch {k}");
    }
    match (case.error, tf_error, err) {
        (None, None, None) => {}
        (Some((index, feature)), Some(_), Some(e)) => {
            let text = e.to_string();
            if how == "parse_example" {
                assert_eq!(e.record_index(), Some(index), "{what}: {text}");
            }
            assert!(
                text.contains(feature),
                "{what} ({how}): {text}, want {feature}"
            );
        }
        (want, tf, ours) => {
            panic!("{what} ({how}): expected error {want:?}; TensorFlow {tf:?}; tfrec {ours:?}")
        }
    }
}

/// Deterministic bytes.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed | 1);
    (0..len).map(|_| (rng.next() >> 24) as u8).collect()
}

fn floats(n: usize, seed: u64) -> Vec<f32> {
    noise(4 * n, seed)
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3] & 0x3f]))
        .collect()
}

fn serialized(t: &Tensor) -> Vec<u8> {
    t.to_proto_bytes()
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    cases.push(Case {
        name: "label_floats_bytes",
        spec: vec![
            E::Fixed("label", DType::I64, vec![], None),
            E::Fixed("x", DType::F32, vec![16], None),
            E::Fixed("img", DType::String, vec![], None),
        ],
        records: (0..40u64)
            .map(|i| {
                Rec::Ex(vec![
                    ("label", F::Int(vec![(i as i64 - 20) * 1_000_000_007])),
                    ("x", F::Float(floats(16, i))),
                    ("img", F::Bytes(vec![noise(1024, i + 99)])),
                ])
            })
            .collect(),
        batch: 16,
        error: None,
    });
    cases.push(Case {
        name: "defaults_and_missing",
        spec: vec![
            E::Fixed(
                "a",
                DType::F32,
                vec![3],
                Some(DefaultValue::from([1.5f32, -2.0, 3.25])),
            ),
            E::Fixed("b", DType::I64, vec![], Some(DefaultValue::from(7i64))),
            E::Fixed(
                "s",
                DType::String,
                vec![2],
                Some(DefaultValue::from(vec!["p", "qq"])),
            ),
            E::Fixed(
                "c",
                DType::F32,
                vec![2, 2],
                Some(DefaultValue::from([1i64, 2, 3, 4])),
            ),
        ],
        records: (0..13u64)
            .map(|i| {
                let mut f = vec![("other", F::Int(vec![i as i64]))];
                match i % 4 {
                    0 => f.push(("a", F::Float(vec![0.25, 0.5, i as f32]))),
                    1 => f.push(("a", F::NoKind)),
                    _ => {}
                }
                if i % 3 == 0 {
                    f.push(("b", F::Int(vec![-(i as i64)])));
                }
                if i % 2 == 0 {
                    f.push((
                        "s",
                        F::Bytes(vec![format!("r{i}").into_bytes(), Vec::new()]),
                    ));
                }
                if i % 5 == 0 {
                    f.push(("c", F::Float(vec![9.0, 8.0, 7.0, 6.0])));
                } else if i % 5 == 1 {
                    f.push(("c", F::NoKind));
                }
                Rec::Ex(f)
            })
            .collect(),
        batch: 5,
        error: None,
    });
    cases.push(Case {
        name: "var_len",
        spec: vec![
            E::VarLen("v", DType::I64),
            E::VarLen("f", DType::F32),
            E::VarLen("s", DType::String),
        ],
        records: (0..11u64)
            .map(|i| {
                let n = (i * 7 % 5) as usize;
                let mut f = Vec::new();
                match i % 4 {
                    0 => f.push(("v", F::Int((0..n as i64).map(|k| k * 1000 - 3).collect()))),
                    1 => f.push(("v", F::Int(Vec::new()))),
                    2 => f.push(("v", F::NoKind)),
                    _ => {}
                }
                if i >= 4 {
                    // The first batch has no floats at all: dense shape [4, 0].
                    f.push(("f", F::Float(floats(n, i))));
                }
                if i % 3 != 1 {
                    f.push((
                        "s",
                        F::Bytes((0..n).map(|k| vec![b'a' + k as u8; k]).collect()),
                    ));
                }
                Rec::Ex(f)
            })
            .collect(),
        batch: 4,
        error: None,
    });
    cases.push(Case {
        name: "large_bytes",
        spec: vec![
            E::Fixed("img", DType::String, vec![], None),
            E::VarLen("parts", DType::String),
        ],
        records: vec![
            Rec::Ex(vec![
                ("img", F::Bytes(vec![noise(3 << 20, 1)])),
                (
                    "parts",
                    F::Bytes(vec![noise(2 << 20, 2), noise(2 << 20, 3)]),
                ),
            ]),
            Rec::Ex(vec![("img", F::Bytes(vec![noise(5 << 20, 4)]))]),
            Rec::Ex(vec![
                ("img", F::Bytes(vec![vec![0]])),
                ("parts", F::Bytes(vec![Vec::new()])),
            ]),
        ],
        batch: 2,
        error: None,
    });
    let t23 = |i: u64| Tensor::from_slice(&floats(6, i + 50), &[2, 3]).unwrap();
    cases.push(Case {
        name: "serialized_tensors",
        spec: vec![
            E::Tensor("t", DType::F32, vec![2, 3]),
            E::Tensor("u", DType::I32, vec![]),
            E::Tensor("w", DType::String, vec![2]),
            E::Tensor("e", DType::U8, vec![0, 4]),
        ],
        records: (0..7u64)
            .map(|i| {
                Rec::Ex(vec![
                    ("t", F::Bytes(vec![serialized(&t23(i))])),
                    (
                        "u",
                        F::Bytes(vec![serialized(&Tensor::scalar(i as i32 - 3))]),
                    ),
                    (
                        "w",
                        F::Bytes(vec![serialized(
                            &Tensor::from_strings(&[format!("x{i}"), String::new()], &[2]).unwrap(),
                        )]),
                    ),
                    (
                        "e",
                        F::Bytes(vec![serialized(
                            &Tensor::from_slice::<u8>(&[], &[0, 4]).unwrap(),
                        )]),
                    ),
                ])
            })
            .collect(),
        batch: 3,
        error: None,
    });
    cases.push(Case {
        name: "shapes",
        spec: vec![
            E::Fixed("m", DType::F32, vec![2, 3], None),
            E::Fixed("z", DType::F32, vec![0], None),
            E::Fixed("one", DType::I64, vec![1], None),
        ],
        records: (0..5u64)
            .map(|i| {
                Rec::Ex(vec![
                    ("m", F::Float(floats(6, i))),
                    ("z", F::Float(Vec::new())),
                    ("one", F::Int(vec![i as i64])),
                ])
            })
            .collect(),
        batch: 4,
        error: None,
    });

    // Errors, on both sides at the same record.
    let plain = |n: u64, bad: u64, good: F, wrong: Option<F>| -> Vec<Rec> {
        (0..n)
            .map(|i| {
                let f = if i == bad {
                    wrong.clone()
                } else {
                    Some(good.clone())
                };
                Rec::Ex(f.map(|f| vec![("x", f)]).unwrap_or_default())
            })
            .collect()
    };
    let fixed2 = |default: Option<DefaultValue>| vec![E::Fixed("x", DType::F32, vec![2], default)];
    cases.push(Case {
        name: "missing_without_default",
        spec: fixed2(None),
        records: plain(6, 3, F::Float(vec![1.0, 2.0]), None),
        batch: 2,
        error: Some((3, "\"x\"")),
    });
    cases.push(Case {
        name: "kind_without_values_is_missing",
        spec: fixed2(None),
        records: plain(6, 4, F::Float(vec![1.0, 2.0]), Some(F::NoKind)),
        batch: 4,
        error: Some((4, "\"x\"")),
    });
    cases.push(Case {
        name: "wrong_kind",
        spec: fixed2(Some(DefaultValue::from([0.0f32, 0.0]))),
        records: plain(6, 2, F::Float(vec![1.0, 2.0]), Some(F::Int(vec![1, 2]))),
        batch: 4,
        error: Some((2, "int64_list")),
    });
    cases.push(Case {
        name: "wrong_count",
        spec: fixed2(None),
        records: plain(
            6,
            1,
            F::Float(vec![1.0, 2.0]),
            Some(F::Float(vec![1.0, 2.0, 3.0])),
        ),
        batch: 3,
        error: Some((1, "holds 3 values")),
    });
    cases.push(Case {
        name: "empty_list_with_default",
        spec: fixed2(Some(DefaultValue::from([0.0f32, 0.0]))),
        records: plain(6, 5, F::Float(vec![1.0, 2.0]), Some(F::Float(Vec::new()))),
        batch: 2,
        error: Some((5, "holds 0 values")),
    });
    cases.push(Case {
        name: "var_len_empty_list_of_another_kind",
        spec: vec![E::VarLen("x", DType::I64)],
        records: plain(3, 0, F::Int(vec![1]), Some(F::Float(Vec::new()))),
        batch: 2,
        error: Some((0, "float_list")),
    });
    let tensor_case = |name, bad: Tensor, why| Case {
        name,
        spec: vec![E::Tensor("x", DType::F32, vec![2])],
        records: (0..5)
            .map(|i| {
                let t = if i == 2 {
                    bad.clone()
                } else {
                    Tensor::from_slice(&[1.0f32, 2.0], &[2]).unwrap()
                };
                Rec::Ex(vec![("x", F::Bytes(vec![t.to_proto_bytes()]))])
            })
            .collect(),
        batch: 2,
        error: Some((2, why)),
    };
    cases.push(tensor_case(
        "tensor_of_another_dtype",
        Tensor::from_slice(&[1i32, 2], &[2]).unwrap(),
        "holds a tensor int32[2]",
    ));
    cases.push(tensor_case(
        "tensor_of_another_shape",
        Tensor::from_slice(&[1.0f32, 2.0, 3.0], &[3]).unwrap(),
        "holds a tensor float32[3]",
    ));
    cases.push(Case {
        name: "not_an_example",
        spec: vec![E::VarLen("x", DType::I64)],
        records: vec![
            Rec::Ex(vec![("x", F::Int(vec![1]))]),
            Rec::Ex(vec![]),
            Rec::Raw(vec![0x0a, 0x07, 0x0a, 0x05, 0xff]),
        ],
        batch: 2,
        error: Some((2, "invalid example")),
    });
    cases
}

#[test]
fn parse_example_agrees_with_tensorflow() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    check_cases(&py, dir.path(), &cases());
}
