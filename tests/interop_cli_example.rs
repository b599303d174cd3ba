//! `tfrec cat` and `tfrec pack` on `tf.train.Example` and
//! `tf.train.SequenceExample` records, against real TensorFlow in both
//! directions (`tests/tf_cli_example_helper.py`).
//!
//! TensorFlow runs in a subprocess with the Python from `TFREC_PYTHON`, or
//! `.venv/bin/python` (made by `.ci/setup-venv.sh`). Without TensorFlow
//! these tests are skipped with a message, unless `TFREC_REQUIRE_TF=1`,
//! when they fail instead.

mod common;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::process::stdout_ok;
use common::python::helper_command;
use common::{tf, Rng};
use serde_json::Value;
use tfrec::Reader;

/// Which protobuf backend TensorFlow's Python classes use.
#[derive(Clone, Copy, Debug)]
enum Backend {
    /// The default (upb): deterministic output sorts map keys, except that
    /// a key that is a prefix of another comes after it.
    Default,
    /// Pure Python: map keys sorted bytewise, as TensorFlow's C++ does.
    Python,
}

/// Runs `tf_cli_example_helper.py ARGS` and returns its standard output.
fn helper(py: &Path, backend: Backend, args: &[&str]) -> String {
    let mut cmd = helper_command(py, "tf_cli_example_helper.py");
    cmd.args(args);
    match backend {
        Backend::Default => cmd.env_remove("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION"),
        Backend::Python => cmd.env("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python"),
    };
    stdout_ok(&mut cmd)
}

fn tfrec(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tfrec"));
    cmd.args(args);
    let out = match stdin {
        None => cmd.output().expect("run tfrec"),
        Some(data) => {
            use std::io::Write;
            use std::process::Stdio;
            let mut child = cmd
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn tfrec");
            let mut input = child.stdin.take().unwrap();
            let data = data.to_vec();
            let feeder = std::thread::spawn(move || input.write_all(&data));
            let out = child.wait_with_output().expect("wait for tfrec");
            feeder.join().unwrap().unwrap();
            out
        }
    };
    assert!(
        out.status.success(),
        "tfrec {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn payloads(path: &Path) -> Vec<Vec<u8>> {
    let mut reader = Reader::open(path).unwrap();
    reader
        .records()
        .map(|r| r.unwrap().payload.into_owned())
        .collect()
}

/// The value with every `float_list` number replaced by its `f32` bits,
/// so that Python's `0.10000000149011612` and our `0.1` compare equal and
/// `-0.0` does not equal `0.0`.
fn floats_as_bits(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("float_list", Value::Array(items)) => Value::Array(
                            items
                                .iter()
                                .map(|x| match x.as_f64() {
                                    Some(f) => Value::from(format!("{:08x}", (f as f32).to_bits())),
                                    None => x.clone(),
                                })
                                .collect(),
                        ),
                        _ => floats_as_bits(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(floats_as_bits).collect()),
        other => other.clone(),
    }
}

#[test]
fn tensorflow_writes_and_cat_prints_what_its_messages_hold_and_pack_writes_it_back() {
    let Some(py) = tf::python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("none", Backend::Python, false),
        ("gzip", Backend::Python, false),
        ("none", Backend::Default, false),
    ];
    for (compression, backend, no_prefix_names) in cases {
        let what = format!("{compression} {backend:?}");
        let path = dir
            .path()
            .join(format!("tf-{compression}-{backend:?}.tfrecord"));
        let path_str = path.to_str().unwrap();
        let mut args = vec!["write", path_str, "--compression", compression];
        if no_prefix_names {
            args.push("--no-prefix-names");
        }
        let expected: Vec<Value> = helper(&py, backend, &args)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let ours = tfrec(&["cat", "--jsonl", path_str], None);
        let lines: Vec<&str> = std::str::from_utf8(&ours).unwrap().lines().collect();
        assert_eq!(lines.len(), expected.len(), "{what}");
        for (i, (line, want)) in lines.iter().zip(&expected).enumerate() {
            let head = format!(
                "{{\"file\":{},\"index\":{i},\"offset\":{},",
                serde_json::to_string(path_str).unwrap(),
                want["offset"]
            );
            assert!(line.starts_with(&head), "{what} record {i}: {line:.200}");
            let got: Value = serde_json::from_str(line).unwrap();
            assert_eq!(
                floats_as_bits(&got),
                floats_as_bits(want),
                "{what} record {i}: {line:.300}"
            );
        }
        // Several MB in one value.
        let img = expected[5]["features"]["img"]["bytes_list"][0]
            .as_str()
            .unwrap();
        assert!(STANDARD.decode(img).unwrap().len() >= 4 << 20);

        // cat | pack gives TensorFlow's records back, byte for byte, in the
        // name order of the protobuf backend that wrote them.
        let back = dir.path().join("back.tfrecord");
        let order = match backend {
            Backend::Python => "cpp",
            Backend::Default => "python",
        };
        tfrec(
            &[
                "pack",
                "--map-order",
                order,
                "-o",
                back.to_str().unwrap(),
                "-",
            ],
            Some(&ours),
        );
        assert_eq!(payloads(&back), payloads(&path), "{what}");
        if compression == "none" {
            assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&path).unwrap());
        }
    }
}

/// JSON text of an object whose entries come in a random order.
fn object(rng: &mut Rng, mut entries: Vec<(String, String)>) -> String {
    for i in (1..entries.len()).rev() {
        entries.swap(i, rng.below(i + 1));
    }
    let mut out = String::from("{");
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{}: {v}", serde_json::to_string(k).unwrap());
    }
    out.push('}');
    out
}

fn float_text(rng: &mut Rng) -> String {
    let specials = [
        "0",
        "-0.0",
        "0.1",
        "1.5",
        "1e-45",
        "3.4028235e38",
        "-1.1754944e-38",
        "\"nan\"",
        "\"inf\"",
        "\"-inf\"",
        "7",
        "2.5E3",
    ];
    if rng.below(2) == 0 {
        return rng.pick(&specials).to_string();
    }
    let v = f32::from_bits(rng.next() as u32);
    if v.is_finite() {
        format!("{v:?}")
    } else {
        "\"inf\"".into()
    }
}

fn feature_text(rng: &mut Rng, big: &mut usize) -> String {
    let n = rng.below(6);
    match rng.below(4) {
        0 => "{}".into(),
        1 => {
            let ints = [i64::MIN, -1, 0, 1, 300, i64::MAX];
            let values: Vec<String> = (0..n)
                .map(|_| {
                    if rng.below(2) == 0 {
                        rng.pick(&ints).to_string()
                    } else {
                        (rng.next() as i64).to_string()
                    }
                })
                .collect();
            format!("{{\"int64_list\": [{}]}}", values.join(", "))
        }
        2 => {
            let values: Vec<String> = (0..n).map(|_| float_text(rng)).collect();
            format!("{{\"float_list\": [{}]}}", values.join(", "))
        }
        _ => {
            let values: Vec<String> = (0..n)
                .map(|_| {
                    let len = if *big > 0 && rng.below(40) == 0 {
                        *big -= 1;
                        3 << 20
                    } else {
                        rng.below(12)
                    };
                    let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                    format!("\"{}\"", STANDARD.encode(bytes))
                })
                .collect();
            format!("{{\"bytes_list\": [{}]}}", values.join(", "))
        }
    }
}

fn features_text(rng: &mut Rng, names: &[&str], big: &mut usize) -> String {
    let mut entries = Vec::new();
    for name in names {
        if rng.below(3) > 0 {
            entries.push((name.to_string(), feature_text(rng, big)));
        }
    }
    object(rng, entries)
}

/// Random records as JSON lines in the `tfrec cat --jsonl` schemas, keys
/// and names in random order, with extra keys.
fn random_lines(seed: u64, count: usize, names: &[&str]) -> String {
    let mut rng = Rng::new(seed | 1);
    let mut big = 2;
    let mut out = String::new();
    for i in 0..count {
        let mut entries: Vec<(String, String)> = Vec::new();
        match i % 7 {
            0..=3 => {
                let features = features_text(&mut rng, names, &mut big);
                entries.push(("features".into(), features));
            }
            4 | 5 => {
                if rng.below(2) == 0 {
                    let context = features_text(&mut rng, names, &mut big);
                    entries.push(("context".into(), context));
                }
                let mut lists = Vec::new();
                for name in names {
                    if rng.below(2) == 0 {
                        let steps: Vec<String> = (0..rng.below(4))
                            .map(|_| feature_text(&mut rng, &mut big))
                            .collect();
                        lists.push((name.to_string(), format!("[{}]", steps.join(", "))));
                    }
                }
                entries.push(("feature_lists".into(), object(&mut rng, lists)));
            }
            _ => {
                if rng.below(2) == 0 {
                    let bytes: Vec<u8> = (0..rng.below(30)).map(|_| rng.next() as u8).collect();
                    entries.push(("raw".into(), format!("\"{}\"", STANDARD.encode(bytes))));
                } else {
                    entries.push(("dtype".into(), "\"float32\"".into()));
                    entries.push(("shape".into(), "[2]".into()));
                    entries.push(("data".into(), "\"AADAPwAAAMA=\"".into()));
                }
            }
        }
        if rng.below(2) == 0 {
            entries.push(("file".into(), "\"elsewhere.tfrecord\"".into()));
            entries.push(("index".into(), i.to_string()));
            entries.push(("offset".into(), "0".into()));
        }
        if rng.below(4) == 0 {
            entries.push(("note".into(), "{\"any\": [1, \"two\"]}".into()));
        }
        out.push_str(&object(&mut rng, entries));
        out.push('\n');
    }
    out
}

/// Names with every kind of relation: prefixes, the empty name, unicode.
const ANY_NAMES: &[&str] = &[
    "a",
    "ab",
    "abc",
    "b",
    "",
    "label",
    "x/y",
    "caf\u{e9}",
    "\u{732b}",
    "\u{1F600}",
    "q\"t",
    "t\tb",
];
/// Names none of which is a prefix of another (all three bytes long).
const NO_PREFIX_NAMES: &[&str] = &["lab", "img", "x/y", "q\"u", "\u{732b}", "\u{e9}t", "t\tb"];

#[test]
fn pack_is_byte_identical_to_serialize_to_string_and_tensorflow_reads_it() {
    let Some(py) = tf::python() else { return };
    let dir = tempfile::tempdir().unwrap();
    // The default order is that of TensorFlow's Python as installed (upb);
    // `--map-order cpp` is that of C++ and the pure-Python backend.
    let cases = [
        (
            0x5eed_e001,
            ANY_NAMES,
            Backend::Python,
            &["--map-order", "cpp"][..],
        ),
        (0x5eed_e002, NO_PREFIX_NAMES, Backend::Default, &[][..]),
        (0x5eed_e003, ANY_NAMES, Backend::Default, &[][..]),
    ];
    for (seed, names, backend, order) in cases {
        let jsonl = dir.path().join(format!("in-{seed:x}.jsonl"));
        std::fs::write(&jsonl, random_lines(seed, 140, names)).unwrap();
        let jsonl = jsonl.to_str().unwrap();
        let theirs: Vec<Vec<u8>> = helper(&py, backend, &["serialize", jsonl])
            .lines()
            .map(|l| STANDARD.decode(l.trim()).unwrap())
            .collect();
        assert_eq!(theirs.len(), 140);
        for compression in ["none", "zlib"] {
            let out = dir
                .path()
                .join(format!("ours-{seed:x}-{compression}.tfrecord"));
            let out_str = out.to_str().unwrap();
            let mut args = vec!["pack", "--compression", compression, "-o", out_str];
            args.extend_from_slice(order);
            args.push(jsonl);
            tfrec(&args, None);
            let ours = payloads(&out);
            assert_eq!(ours.len(), theirs.len());
            for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
                assert_eq!(a, b, "{backend:?} record {i}");
            }
            // TensorFlow reads our file: TFRecordDataset, parse_single_example,
            // parse_single_sequence_example and the protobuf classes.
            let summary: Value = serde_json::from_str(&helper(
                &py,
                backend,
                &["check", out_str, jsonl, "--compression", compression],
            ))
            .unwrap();
            assert_eq!(summary["records"], 140);
            assert_eq!(summary["example"], 80);
            assert_eq!(summary["sequence_example"], 40);
        }
    }
}
