//! `tfrec cat`, `pack` and `stats` on files of `tf.train.Example`s,
//! `SequenceExample`s, raw records and tensors, run as a separate process.
//! Expected JSON and payload bytes are written out by hand here, not taken
//! from the library's own writers.

mod common;

use std::fs;
use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use common::cli::{tfrec, tfrec_with_stdin};
use common::{frame_all, frame_offsets, len_field, put_varint, varint_field};
use serde_json::Value;
use tfrec::example::{Example, Feature, SequenceExample};
use tfrec::{Compression, Tensor, Writer};

// ---------------------------------------------------------------------------
// Payloads written by hand (TensorFlow's deterministic layout: map entries
// sorted by name, key then value, numbers packed).
// ---------------------------------------------------------------------------

/// A `Feature` message: `(1, values)` bytes, `(2, ..)` floats, `(3, ..)`
/// int64s; `None` for a feature with no kind.
enum Hand<'a> {
    Int64(&'a [i64]),
    Float(&'a [f32]),
    Bytes(&'a [&'a [u8]]),
    NoKind,
}

fn hand_feature(f: &Hand<'_>) -> Vec<u8> {
    match f {
        Hand::Int64(values) => {
            let mut packed = Vec::new();
            for &v in *values {
                put_varint(&mut packed, v as u64);
            }
            let list = if packed.is_empty() {
                Vec::new()
            } else {
                len_field(1, &packed)
            };
            len_field(3, &list)
        }
        Hand::Float(values) => {
            let packed: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            let list = if packed.is_empty() {
                Vec::new()
            } else {
                len_field(1, &packed)
            };
            len_field(2, &list)
        }
        Hand::Bytes(values) => {
            let list: Vec<u8> = values.iter().flat_map(|v| len_field(1, v)).collect();
            len_field(1, &list)
        }
        Hand::NoKind => Vec::new(),
    }
}

/// A `Features` message body from (name, feature) pairs in sorted order.
fn hand_features(features: &[(&str, Hand<'_>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, f) in features {
        let mut entry = len_field(1, name.as_bytes());
        entry.extend(len_field(2, &hand_feature(f)));
        out.extend(len_field(1, &entry));
    }
    out
}

fn hand_example(features: &[(&str, Hand<'_>)]) -> Vec<u8> {
    len_field(1, &hand_features(features))
}

fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

fn write(dir: &Path, name: &str, payloads: &[Vec<u8>]) {
    fs::write(dir.join(name), frame_all(payloads)).unwrap();
}

/// One record of each kind, with the edge cases of each.
fn mixed_payloads() -> Vec<Vec<u8>> {
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    vec![
        Tensor::from_slice(&[1.5f32, -2.0], &[2])
            .unwrap()
            .to_proto_bytes(),
        tfrec::example::encode(
            &Example::default()
                .int64("i", [i64::MIN, -1, 0, i64::MAX])
                .float(
                    "f",
                    [0.1, -0.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e-45],
                )
                .bytes("b", [&b""[..], b"\0\xff"])
                .with_feature("none", Feature::default())
                .float("empty", [])
                .with_feature("caf\u{e9} \"\u{732b}\"", Feature::int64_list([3])),
        ),
        tfrec::example::encode(
            &SequenceExample::default()
                .context_feature("len", Feature::int64_list([2]))
                .feature_list("tok", [Feature::int64_list([5, 6]), Feature::default()])
                .feature_list("none", []),
        ),
        b"\x89PNG\r\n\x1a\n".to_vec(),
        Vec::new(),
        tfrec::example::encode(&Example::default().bytes("img", [&big[..]])),
        Tensor::from_strings(&["a", ""], &[2])
            .unwrap()
            .to_proto_bytes(),
    ]
}

// ---------------------------------------------------------------------------
// cat
// ---------------------------------------------------------------------------

#[test]
fn cat_jsonl_prints_each_kind_in_its_schema_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let payloads = mixed_payloads();
    write(dir.path(), "m.tfrecord", &payloads);
    let off = frame_offsets(&payloads.iter().map(Vec::len).collect::<Vec<_>>());
    let run = tfrec(dir.path(), &["cat", "--jsonl", "m.tfrecord"]);
    run.success();
    let lines = run.stdout_lines();
    assert_eq!(lines.len(), payloads.len());
    let head = |i: usize| {
        format!(
            "{{\"file\":\"m.tfrecord\",\"index\":{i},\"offset\":{}",
            off[i]
        )
    };
    assert_eq!(
        lines[0],
        format!(
            "{},\"dtype\":\"float32\",\"shape\":[2],\"data\":\"AADAPwAAAMA=\"}}",
            head(0)
        )
    );
    // Names in sorted (wire) order; every float form; int64 extremes.
    assert_eq!(
        lines[1],
        format!(
            "{},\"features\":{{\"b\":{{\"bytes_list\":[\"\",\"AP8=\"]}},\
             \"caf\u{e9} \\\"\u{732b}\\\"\":{{\"int64_list\":[3]}},\
             \"empty\":{{\"float_list\":[]}},\
             \"f\":{{\"float_list\":[0.1,-0.0,\"nan\",\"inf\",\"-inf\",1e-45]}},\
             \"i\":{{\"int64_list\":[-9223372036854775808,-1,0,9223372036854775807]}},\
             \"none\":{{}}}}}}",
            head(1)
        )
    );
    assert_eq!(
        lines[2],
        format!(
            "{},\"context\":{{\"len\":{{\"int64_list\":[2]}}}},\
             \"feature_lists\":{{\"none\":[],\"tok\":[{{\"int64_list\":[5,6]}},{{}}]}}}}",
            head(2)
        )
    );
    assert_eq!(lines[3], format!("{},\"raw\":\"iVBORw0KGgo=\"}}", head(3)));
    assert_eq!(lines[4], format!("{},\"raw\":\"\"}}", head(4)));
    let big = serde_json::from_str::<Value>(lines[5]).unwrap();
    let img = big["features"]["img"]["bytes_list"][0].as_str().unwrap();
    assert_eq!(STANDARD.decode(img).unwrap().len(), 3_000_000);
    assert_eq!(
        lines[6],
        format!(
            "{},\"dtype\":\"string\",\"shape\":[2],\"strings\":[\"YQ==\",\"\"]}}",
            head(6)
        )
    );
    // Every line is one object with file, index and offset first.
    for line in &lines {
        assert!(line.starts_with("{\"file\":"), "{line}");
    }
}

#[test]
fn cat_human_form_is_one_line_per_record_with_the_first_values() {
    let dir = tempfile::tempdir().unwrap();
    let payloads = mixed_payloads();
    write(dir.path(), "m.tfrecord", &payloads);
    let run = tfrec(dir.path(), &["cat", "m.tfrecord"]);
    run.success();
    let lines = run.stdout_lines();
    assert_eq!(lines.len(), payloads.len());
    assert_eq!(lines[0], "m.tfrecord:0\tfloat32[2]\t[1.5, -2]");
    assert_eq!(
        lines[1],
        "m.tfrecord:1\texample\tb=bytes[2] [b\"\", b\"\\x00\\xff\"]; \
         caf\u{e9} \\\"\u{732b}\\\"=int64[1] [3]; empty=float[0] []; \
         f=float[6] [0.1, -0.0, NaN, inf, -inf, 1e-45]; \
         i=int64[4] [-9223372036854775808, -1, 0, 9223372036854775807]; none=none"
    );
    assert_eq!(
        lines[2],
        "m.tfrecord:2\tsequence_example\tcontext: len=int64[1] [2]\t\
         feature_lists: none=steps[0]; tok=steps[2] int64[2] [5, 6] | none"
    );
    assert_eq!(
        lines[3],
        "m.tfrecord:3\traw\t8 bytes\tb\"\\x89PNG\\r\\n\\x1a\\n\""
    );
    assert_eq!(lines[4], "m.tfrecord:4\traw\t0 bytes\tb\"\"");
    // A 3 MB value shows its first bytes only.
    assert!(lines[5].starts_with("m.tfrecord:5\texample\timg=bytes[1] [b\"\\x00\\x07\\x0e"));
    assert!(lines[5].ends_with("\"... (3000000 bytes)]"), "{}", lines[5]);
    assert!(lines[5].len() < 300);
    assert_eq!(lines[6], "m.tfrecord:6\tstring[2]\t[b\"a\", b\"\"]");

    // Only the first values and steps.
    let long = tfrec::example::encode(
        &SequenceExample::default()
            .context_feature("v", Feature::float_list((0..100).map(|i| i as f32)))
            .feature_list("s", (0..10).map(|i| Feature::int64_list([i]))),
    );
    write(dir.path(), "long.tfrecord", &[long]);
    let run = tfrec(dir.path(), &["cat", "long.tfrecord"]);
    run.success();
    assert_eq!(
        run.stdout_lines(),
        ["long.tfrecord:0\tsequence_example\t\
          context: v=float[100] [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, ... (100 values)]\t\
          feature_lists: s=steps[10] int64[1] [0] | int64[1] [1] | int64[1] [2] | int64[1] [3] | ..."]
    );
}

#[test]
fn tensor_records_print_as_before_whatever_else_the_file_holds() {
    let dir = tempfile::tempdir().unwrap();
    let tensors: Vec<Tensor> = vec![
        Tensor::scalar(7u8),
        Tensor::from_slice(&[1i64, 2, 3], &[3]).unwrap(),
        Tensor::from_strings(&["x"], &[1]).unwrap(),
    ];
    let mut w = Writer::create(dir.path().join("t.tfrecord")).unwrap();
    for t in &tensors {
        w.write_tensor(t).unwrap();
    }
    w.finish().unwrap();
    for jsonl in [false, true] {
        let mut args = vec!["cat", "t.tfrecord"];
        if jsonl {
            args.push("--jsonl");
        }
        let detected = tfrec(dir.path(), &args);
        args.extend(["--as", "tensor"]);
        let forced = tfrec(dir.path(), &args);
        detected.success();
        forced.success();
        assert_eq!(detected.stdout, forced.stdout);
    }
}

#[test]
fn cat_as_forces_a_kind_and_a_record_that_is_not_one_is_an_error_at_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let payloads = mixed_payloads();
    write(dir.path(), "m.tfrecord", &payloads);
    let off = frame_offsets(&payloads.iter().map(Vec::len).collect::<Vec<_>>());

    // Raw: every payload as it is.
    let run = tfrec(dir.path(), &["cat", "--as", "raw", "--jsonl", "m.tfrecord"]);
    run.success();
    for (v, p) in run.json_lines().iter().zip(&payloads) {
        assert_eq!(v["raw"].as_str().unwrap(), b64(p));
    }

    // Example: the tensor in record 0 is not one.
    for jsonl in [false, true] {
        let mut args = vec!["cat", "--as", "example", "m.tfrecord"];
        if jsonl {
            args.push("--jsonl");
        }
        let run = tfrec(dir.path(), &args);
        run.fails_with_one_line(&["m.tfrecord", "record 0", "offset 0", "invalid example"]);
        assert!(run.stdout.is_empty());
    }
    // Sequence: an Example reads as a SequenceExample with that context.
    let run = tfrec(
        dir.path(),
        &[
            "cat",
            "--as",
            "sequence",
            "--jsonl",
            "--skip-corrupt",
            "m.tfrecord",
        ],
    );
    assert_eq!(run.code, Some(0), "{run}");
    let shown: Vec<u64> = run
        .json_lines()
        .iter()
        .map(|v| v["index"].as_u64().unwrap())
        .collect();
    let reported: Vec<&str> = run.stderr_lines();
    assert_eq!(
        shown.len() + reported.len(),
        payloads.len(),
        "each record shown or reported\n{run}"
    );
    assert!(shown.contains(&1) && shown.contains(&2) && shown.contains(&4));
    assert_eq!(run.json_lines()[0]["context"]["i"]["int64_list"][1], -1);
    for line in &reported {
        assert!(line.starts_with("tfrec: m.tfrecord: record "), "{line}");
    }
    assert!(
        reported[0].starts_with("tfrec: m.tfrecord: record 0 at offset 0: invalid example: "),
        "{run}"
    );
    // Tensor: the Example in record 1 is not one.
    let run = tfrec(dir.path(), &["cat", "--as", "tensor", "m.tfrecord"]);
    let offset = format!("offset {}", off[1]);
    run.fails_with_one_line(&["m.tfrecord", "record 1", &offset]);
    assert_eq!(run.stdout_lines().len(), 1);
    // ... and with --skip-corrupt each such record is reported and skipped.
    let run = tfrec(
        dir.path(),
        &["cat", "--as", "tensor", "--skip-corrupt", "m.tfrecord"],
    );
    assert_eq!(run.code, Some(0), "{run}");
    let printed: Vec<&str> = run.stdout_lines();
    assert_eq!(printed.len(), 2, "{run}");
    assert!(printed[0].starts_with("m.tfrecord:0\tfloat32"));
    assert!(printed[1].starts_with("m.tfrecord:6\tstring"));
    assert_eq!(run.stderr_lines().len(), payloads.len() - 2, "{run}");

    // Not a kind.
    let run = tfrec(dir.path(), &["cat", "--as", "json", "m.tfrecord"]);
    assert_eq!(run.code, Some(2), "{run}");
}

#[test]
fn cat_flags_work_with_every_kind() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let payloads: Vec<Vec<u8>> = (0..40)
        .map(|i| match i % 4 {
            0 => tfrec::example::encode(&Example::default().int64("i", [i])),
            1 => tfrec::example::encode(
                &SequenceExample::default().feature_list("s", [Feature::int64_list([i])]),
            ),
            2 => format!("raw {i}").into_bytes(),
            _ => Tensor::scalar(i).to_proto_bytes(),
        })
        .collect();
    write(d, "a.tfrecord", &payloads[..25]);
    write(d, "b.tfrecord", &payloads[25..]);
    let gz = |name: &str, part: &[Vec<u8>]| {
        let mut w = Writer::create_with(d.join(name), Compression::Gzip).unwrap();
        for p in part {
            w.write_record(p).unwrap();
        }
        w.finish().unwrap();
    };
    gz("a.gz.tfrecord", &payloads[..25]);
    gz("b.gz.tfrecord", &payloads[25..]);

    // Shuffled and sharded: the dataset's order, for indexed and streamed
    // files, with and without memory maps.
    for (a, b) in [
        ("a.tfrecord", "b.tfrecord"),
        ("a.gz.tfrecord", "b.gz.tfrecord"),
    ] {
        for (shuffle, epoch, shard) in [("5", "0", "0/1"), ("5", "2", "1/3"), ("9", "1", "0/2")] {
            let ds = tfrec::pipeline::Dataset::builder()
                .files([d.join(a), d.join(b)])
                .shuffle(shuffle.parse().unwrap())
                .shard(shard[..1].parse().unwrap(), shard[2..].parse().unwrap())
                .build()
                .unwrap();
            let want: Vec<(String, u64)> = ds
                .order(epoch.parse().unwrap())
                .iter()
                .map(|id| ([a, b][id.file].to_string(), id.index))
                .collect();
            let args = [
                "cat",
                "--jsonl",
                "--shuffle",
                shuffle,
                "--epoch",
                epoch,
                "--shard",
                shard,
                a,
                b,
            ];
            let run = tfrec(d, &args);
            run.success();
            let mapped = run.stdout.clone();
            let mut plain = vec!["--no-mmap"];
            plain.extend_from_slice(&args);
            let run_plain = tfrec(d, &plain);
            run_plain.success();
            assert_eq!(run_plain.stdout, mapped, "--no-mmap {args:?}");
            let got: Vec<(String, u64)> = run
                .json_lines()
                .iter()
                .map(|v| {
                    (
                        v["file"].as_str().unwrap().to_string(),
                        v["index"].as_u64().unwrap(),
                    )
                })
                .collect();
            assert_eq!(got, want, "{args:?}");
            // Each record is the one at that position of its file.
            for v in run.json_lines() {
                let file = v["file"].as_str().unwrap();
                let global = v["index"].as_u64().unwrap() as usize
                    + if file.starts_with('b') { 25 } else { 0 };
                let line = serde_json::to_string(&v).unwrap();
                let back = tfrec::example::json::JsonRecord::from_json_line(&line).unwrap();
                assert_eq!(back.to_payload(), payloads[global], "{line}");
            }
        }
    }

    // Skip mode over a damaged frame in a file of examples.
    let mut bytes = frame_all(&payloads);
    let off = frame_offsets(&payloads.iter().map(Vec::len).collect::<Vec<_>>());
    bytes[off[4] as usize + 13] ^= 0x40; // payload of record 4
    fs::write(d.join("bad.tfrecord"), &bytes).unwrap();
    let run = tfrec(d, &["cat", "--skip-corrupt", "--jsonl", "bad.tfrecord"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.stdout_lines().len(), payloads.len() - 1);
    assert_eq!(run.stderr_lines().len(), 1, "{run}");
    assert!(run.stderr.contains("(record 4): corrupt data"), "{run}");
    let run = tfrec(d, &["cat", "bad.tfrecord"]);
    run.fails_with_one_line(&["bad.tfrecord", "record 4"]);
    assert_eq!(run.stdout_lines().len(), 4);

    // Follow a complete file until it stops growing.
    let run = tfrec(
        d,
        &["cat", "--follow", "--idle-timeout", "0.3", "a.tfrecord"],
    );
    run.success();
    assert_eq!(run.stdout_lines().len(), 25);
    assert!(run.stdout_lines()[1].starts_with("a.tfrecord:1\tsequence_example\t"));

    // Stdin and gzip give the same lines as the plain file.
    let plain = tfrec(d, &["cat", "--jsonl", "a.tfrecord"]);
    let piped = tfrec_with_stdin(
        d,
        &["cat", "--jsonl", "-"],
        &fs::read(d.join("a.tfrecord")).unwrap(),
    );
    let zipped = tfrec(d, &["cat", "--jsonl", "a.gz.tfrecord"]);
    assert_eq!(
        piped
            .text()
            .replace("\"file\":\"-\"", "\"file\":\"a.tfrecord\""),
        plain.text()
    );
    assert_eq!(
        zipped.text().replace("a.gz.tfrecord", "a.tfrecord"),
        plain.text()
    );
}

// ---------------------------------------------------------------------------
// pack
// ---------------------------------------------------------------------------

#[test]
fn cat_jsonl_piped_into_pack_reproduces_the_file_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let payloads = mixed_payloads();
    write(d, "m.tfrecord", &payloads);
    let original = fs::read(d.join("m.tfrecord")).unwrap();
    let cat = tfrec(d, &["cat", "--jsonl", "m.tfrecord"]);
    cat.success();
    let run = tfrec_with_stdin(d, &["pack", "-o", "back.tfrecord", "-"], &cat.stdout);
    run.success();
    assert_eq!(fs::read(d.join("back.tfrecord")).unwrap(), original);

    // Through a .jsonl file, into gzip, and into shards: the same records.
    fs::write(d.join("m.jsonl"), &cat.stdout).unwrap();
    tfrec(
        d,
        &[
            "pack",
            "--compression",
            "gzip",
            "-o",
            "back.gz.tfrecord",
            "m.jsonl",
        ],
    )
    .success();
    let plain = tfrec(d, &["cat", "--jsonl", "--as", "raw", "m.tfrecord"]);
    let zipped = tfrec(d, &["cat", "--jsonl", "--as", "raw", "back.gz.tfrecord"]);
    assert_eq!(
        zipped.text().replace("back.gz.tfrecord", "m.tfrecord"),
        plain.text()
    );
    let run = tfrec(
        d,
        &[
            "pack",
            "--out-dir",
            "shards",
            "--shards",
            "2",
            "--stem",
            "m",
            "m.jsonl",
        ],
    );
    assert_eq!(run.code, Some(0), "{run}");
    let mut packed: Vec<Vec<u8>> = Vec::new();
    for shard in ["m-00000-of-00002.tfrecord", "m-00001-of-00002.tfrecord"] {
        let mut reader = tfrec::Reader::open(d.join("shards").join(shard)).unwrap();
        packed.extend(common::read_records(&mut reader).into_iter().map(|r| r.0));
    }
    let mut want = payloads.clone();
    want.sort();
    packed.sort();
    assert_eq!(packed, want);
}

#[test]
fn pack_reads_hand_written_lines_in_any_key_order() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lines = [
        // Keys and names in reverse order, extra keys anywhere.
        r#"{"features": {"z": {"int64_list": [1, -2]}, "a": {"float_list": [1, 0.5, "nan", "-inf"]}, "m": {"bytes_list": ["aGk=", ""]}, "e": {}}, "offset": 99, "file": "x", "note": [1]}"#,
        r#"{"index": 3, "features": {}}"#,
        r#"{"feature_lists": {"t": [{"int64_list": [7]}, {}], "a": []}, "context": {"c": {"bytes_list": []}}}"#,
        r#"{"feature_lists": {"only": [{"float_list": []}]}}"#,
        r#"{"raw": "AAEC", "file": "y"}"#,
        r#"{"shape": [2], "data": "AQI=", "dtype": "uint8"}"#,
    ];
    fs::write(d.join("in.jsonl"), lines.join("\n") + "\n").unwrap();
    tfrec(d, &["pack", "-o", "out.tfrecord", "in.jsonl"]).success();

    let nan = f32::from_bits(0x7fc0_0000);
    let want = vec![
        hand_example(&[
            ("a", Hand::Float(&[1.0, 0.5, nan, f32::NEG_INFINITY])),
            ("e", Hand::NoKind),
            ("m", Hand::Bytes(&[b"hi", b""])),
            ("z", Hand::Int64(&[1, -2])),
        ]),
        len_field(1, &[]),
        {
            let mut seq = len_field(1, &hand_features(&[("c", Hand::Bytes(&[]))]));
            let mut lists = Vec::new();
            for (name, steps) in [
                ("a", Vec::new()),
                ("t", vec![hand_feature(&Hand::Int64(&[7])), Vec::new()]),
            ] {
                let list: Vec<u8> = steps.iter().flat_map(|s| len_field(1, s)).collect();
                let mut entry = len_field(1, name.as_bytes());
                entry.extend(len_field(2, &list));
                lists.extend(len_field(1, &entry));
            }
            seq.extend(len_field(2, &lists));
            seq
        },
        {
            let step = len_field(1, &hand_feature(&Hand::Float(&[])));
            let mut entry = len_field(1, b"only");
            entry.extend(len_field(2, &step));
            len_field(2, &len_field(1, &entry))
        },
        vec![0, 1, 2],
        {
            // dtype uint8 (4), shape [2], content.
            let mut t = varint_field(1, 4);
            t.extend(len_field(2, &len_field(2, &varint_field(1, 2))));
            t.extend(len_field(4, &[1, 2]));
            t
        },
    ];
    assert_eq!(fs::read(d.join("out.tfrecord")).unwrap(), frame_all(&want));
}

#[test]
fn pack_bad_lines_fail_naming_the_file_and_line_and_leave_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = r#"{"features": {"a": {"int64_list": [1]}}}"#;
    let bad = [
        (
            r#"{"features": {"a": {"int64_list": [1.5]}}}"#,
            "not an integer",
        ),
        (
            r#"{"features": {"a": {"int64_list": ["1"]}}}"#,
            "not an integer",
        ),
        (
            r#"{"features": {"a": {"int64_list": [9223372036854775808]}}}"#,
            "out of int64 range",
        ),
        (
            r#"{"features": {"a": {"float_list": [1e39]}}}"#,
            "float32 range",
        ),
        (r#"{"features": {"a": {"float_list": ["NaN"]}}}"#, "\"NaN\""),
        (r#"{"features": {"a": {"bytes_list": ["!!"]}}}"#, "base64"),
        (
            r#"{"features": {"a": {"int64_list": [], "float_list": []}}}"#,
            "more than one key",
        ),
        (r#"{"features": {"a": {"int_list": []}}}"#, "unknown key"),
        (r#"{"features": {"a": [1]}}"#, "feature \"a\""),
        (r#"{"features": []}"#, "not an object"),
        (r#"{"feature_lists": {"s": {}}}"#, "feature list \"s\""),
        (r#"{"feature_lists": {"s": [{"x": []}]}}"#, "step 0"),
        (r#"{"context": 1}"#, "context"),
        (r#"{"features": {}, "raw": ""}"#, "both"),
        (r#"{"raw": 5}"#, "not a base64 string"),
        (r#"{"file": "x", "index": 0}"#, "none of"),
        (r#"{"features": {"a": {"int64_list": [1]}}"#, "invalid JSON"),
    ];
    fs::create_dir(d.join("out")).unwrap();
    for (line, why) in bad {
        fs::write(
            d.join("in.jsonl"),
            format!("{good}\n\n{good}\n{line}\n{good}\n"),
        )
        .unwrap();
        let run = tfrec(d, &["pack", "-o", "out/x.tfrecord", "in.jsonl"]);
        run.fails_with_one_line(&["in.jsonl: line 4: ", why]);
        assert!(common::dir_entries(&d.join("out")).is_empty(), "{line}");
        let run = tfrec_with_stdin(d, &["pack", "-o", "out/x.tfrecord", "-"], line.as_bytes());
        run.fails_with_one_line(&["-: line 1: ", why]);
    }
}

// ---------------------------------------------------------------------------
// stats
// ---------------------------------------------------------------------------

#[test]
fn stats_counts_kinds_features_and_histograms() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let payloads = vec![
        Tensor::scalar(5i64).to_proto_bytes(),
        hand_example(&[
            ("label", Hand::Int64(&[1])),
            ("x", Hand::Float(&[0.5, 0.25])),
        ]),
        hand_example(&[
            ("label", Hand::Int64(&[2])),
            ("tag", Hand::Bytes(&[b"a"])),
            ("x", Hand::Float(&[])),
        ]),
        hand_example(&[("label", Hand::NoKind)]),
        tfrec::example::encode(
            &SequenceExample::default()
                .context_feature("label", Feature::int64_list([3]))
                .feature_list("t", [Feature::int64_list([1]), Feature::int64_list([2, 3])])
                .feature_list("u", []),
        ),
        b"junk".to_vec(),
        Vec::new(),
    ];
    write(d, "s.tfrecord", &payloads);
    let bytes: usize = payloads.iter().map(|p| p.len() + 16).sum();
    let lens: Vec<usize> = payloads.iter().map(Vec::len).collect();
    let (min, max) = (lens.iter().min().unwrap(), lens.iter().max().unwrap());
    let mean = lens.iter().sum::<usize>() as f64 / 7.0;
    let want = format!(
        "{{\"records\": 7, \"bytes\": {bytes}, \"holds\": \"example\", \
         \"sizes\": {{\"min\": {min}, \"mean\": {mean:?}, \"max\": {max}, \"empty\": 1}}, \
         \"dtypes\": {{\"int64\": {{\"tensors\": 1, \"elements\": 1, \"sum\": 5, \"min\": 5, \"max\": 5}}}}, \
         \"shapes\": {{\"[]\": 1}}, \
         \"kinds\": {{\"tensor\": 1, \"example\": 3, \"sequence_example\": 1, \"raw\": 2}}, \
         \"features\": {{\
         \"label\": {{\"kind\": \"int64_list\", \"kinds\": {{\"int64_list\": 3, \"none\": 1}}, \"records\": 4, \"value_counts\": {{\"0\": 1, \"1\": 3}}}}, \
         \"tag\": {{\"kind\": \"bytes_list\", \"records\": 1, \"value_counts\": {{\"1\": 1}}}}, \
         \"x\": {{\"kind\": \"float_list\", \"records\": 2, \"value_counts\": {{\"0\": 1, \"2\": 1}}}}}}, \
         \"feature_lists\": {{\
         \"t\": {{\"kind\": \"int64_list\", \"records\": 1, \"lengths\": {{\"2\": 1}}}}, \
         \"u\": {{\"kind\": null, \"records\": 1, \"lengths\": {{\"0\": 1}}}}}}}}\n"
    );
    let run = tfrec(d, &["stats", "--json", "s.tfrecord"]);
    run.success();
    assert_eq!(run.text(), want);
    // The stream path gives the same.
    let piped = tfrec_with_stdin(
        d,
        &["stats", "--json", "-"],
        &fs::read(d.join("s.tfrecord")).unwrap(),
    );
    piped.success();
    assert_eq!(piped.text(), want);

    // For people: the kinds, features and lists as tables.
    let run = tfrec(d, &["stats", "s.tfrecord"]);
    run.success();
    let text = run.text();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    for row in [
        &["kind", "records"][..],
        &["tensor", "1"],
        &["example", "3"],
        &["sequence_example", "1"],
        &["raw", "2"],
        &["feature", "kind", "records", "values:records"],
        &["label", "int64_list 3, none 1", "4", "0:1, 1:3"],
        &["tag", "bytes_list", "1", "1:1"],
        &["x", "float_list", "2", "0:1, 2:1"],
        &["feature_list", "kind", "records", "steps:records"],
        &["t", "int64_list", "1", "2:1"],
        &["u", "-", "1", "0:1"],
        &["int64", "1", "1", "5", "5", "5"],
    ] {
        assert!(rows.iter().any(|r| r == row), "no row {row:?} in\n{text}");
    }
}

#[test]
fn stats_of_a_large_file_agree_on_every_read_path() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // About 4 MB: several segments walked in parallel.
    let payloads: Vec<Vec<u8>> = (0..20_000u32)
        .map(|i| match i % 5 {
            0 => format!("raw record {i}").into_bytes(),
            1 => tfrec::example::encode(
                &SequenceExample::default()
                    .context_feature("id", Feature::int64_list([i64::from(i)]))
                    .feature_list(
                        "frames",
                        (0..i % 7).map(|k| Feature::float_list([k as f32; 3])),
                    ),
            ),
            _ => tfrec::example::encode(
                &Example::default()
                    .int64("id", [i64::from(i)])
                    .float("v", (0..i % 50).map(|k| k as f32))
                    .bytes("blob", [vec![7u8; (i % 300) as usize]]),
            ),
        })
        .collect();
    write(d, "big.tfrecord", &payloads);
    assert!(fs::metadata(d.join("big.tfrecord")).unwrap().len() > 3 << 20);
    let mut w = Writer::create_with(d.join("big.gz.tfrecord"), Compression::Gzip).unwrap();
    for p in &payloads {
        w.write_record(p).unwrap();
    }
    w.finish().unwrap();

    let file = tfrec(d, &["stats", "--json", "big.tfrecord"]);
    file.success();
    let value: Value = serde_json::from_str(file.text()).unwrap();
    assert_eq!(value["kinds"]["raw"], 4000);
    assert_eq!(value["kinds"]["sequence_example"], 4000);
    assert_eq!(value["kinds"]["example"], 12_000);
    assert_eq!(value["features"]["id"]["records"], 16_000);
    // Examples are i % 5 in 2..5, with i % 50 values in "v".
    assert_eq!(value["features"]["v"]["value_counts"]["2"], 20_000 / 50);
    assert!(value["features"]["v"]["value_counts"].get("0").is_none());
    let sixes = (0..20_000).filter(|i| i % 5 == 1 && i % 7 == 6).count();
    assert_eq!(value["feature_lists"]["frames"]["lengths"]["6"], sixes);
    assert_eq!(value["feature_lists"]["frames"]["kind"], "float_list");
    let zipped = tfrec(d, &["stats", "--json", "big.gz.tfrecord"]);
    let piped = tfrec_with_stdin(
        d,
        &["stats", "--json", "-"],
        &fs::read(d.join("big.tfrecord")).unwrap(),
    );
    assert_eq!(zipped.text(), file.text());
    assert_eq!(piped.text(), file.text());
    tfrec(d, &["index", "big.tfrecord"]).success();
    let indexed = tfrec(d, &["stats", "--json", "big.tfrecord"]);
    assert_eq!(indexed.text(), file.text());
    // Two files: counts add up.
    let both = tfrec(d, &["stats", "--json", "big.tfrecord", "big.gz.tfrecord"]);
    let both: Value = serde_json::from_str(both.text()).unwrap();
    assert_eq!(both["features"]["id"]["records"], 32_000);
    assert_eq!(both["records"], 40_000);
}

// ---------------------------------------------------------------------------
// Malformed examples
// ---------------------------------------------------------------------------

/// Every truncation of a valid `Example` and `SequenceExample`, and every
/// single-byte change of them.
fn malformed() -> Vec<Vec<u8>> {
    let ex = hand_example(&[
        ("a", Hand::Int64(&[1, 300, -5])),
        ("b", Hand::Bytes(&[b"xyz"])),
        ("c", Hand::Float(&[1.5])),
    ]);
    let seq = tfrec::example::encode(
        &SequenceExample::default()
            .context_feature("c", Feature::int64_list([1]))
            .feature_list("s", [Feature::bytes_list(["q"]), Feature::default()]),
    );
    let mut out = Vec::new();
    for p in [&ex, &seq] {
        for k in 0..p.len() {
            out.push(p[..k].to_vec());
        }
        for i in 0..p.len() {
            for delta in [1u8, 0x7f, 0x80, 0xff] {
                let mut q = p.clone();
                q[i] = q[i].wrapping_add(delta);
                out.push(q);
            }
        }
    }
    out
}

#[test]
fn malformed_examples_are_errors_with_their_position_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let payloads = malformed();
    write(d, "bad.tfrecord", &payloads);
    let off = frame_offsets(&payloads.iter().map(Vec::len).collect::<Vec<_>>());

    // Forced: the first record that is not an Example stops cat, named.
    let first_bad = payloads
        .iter()
        .position(|p| tfrec::example::ExampleView::parse(p).is_err())
        .unwrap();
    let run = tfrec(d, &["cat", "--as", "example", "bad.tfrecord"]);
    let record = format!("record {first_bad} at offset {}", off[first_bad]);
    run.fails_with_one_line(&["tfrec: bad.tfrecord: ", &record, "invalid example"]);
    assert_eq!(run.stdout_lines().len(), first_bad);

    for kind in ["example", "sequence"] {
        let run = tfrec(
            d,
            &[
                "cat",
                "--as",
                kind,
                "--jsonl",
                "--skip-corrupt",
                "bad.tfrecord",
            ],
        );
        assert_eq!(run.code, Some(0), "{run}");
        let shown = run.stdout_lines().len();
        let reported = run.stderr_lines();
        assert_eq!(shown + reported.len(), payloads.len(), "{kind}");
        assert!(!reported.is_empty());
        for line in reported {
            let (_, rest) = line.split_once("bad.tfrecord: record ").unwrap();
            let (index, rest) = rest.split_once(" at offset ").unwrap();
            let (offset, _) = rest.split_once(':').unwrap();
            let index: usize = index.parse().unwrap();
            assert_eq!(offset.parse::<u64>().unwrap(), off[index], "{line}");
        }
        // What was shown packs back. A SequenceExample with neither part
        // (the empty payload, or one of unknown fields only) prints no key
        // that tells its kind, and is left out.
        let keyed: Vec<&str> = run
            .stdout_lines()
            .into_iter()
            .filter(|l| {
                let v: Value = serde_json::from_str(l).unwrap();
                let obj = v.as_object().unwrap();
                let keyed = obj.len() > 3;
                if !keyed {
                    let i = v["index"].as_u64().unwrap() as usize;
                    let seq = tfrec::example::SequenceExampleView::parse(&payloads[i]).unwrap();
                    assert!(kind == "sequence" && !seq.has_context() && !seq.has_feature_lists());
                }
                keyed
            })
            .collect();
        let packed = tfrec_with_stdin(
            d,
            &["pack", "-o", "x.tfrecord", "-"],
            (keyed.join("\n") + "\n").as_bytes(),
        );
        packed.success();
    }

    // Detected: every record is shown, malformed ones as raw (which pack
    // writes back as they were).
    let run = tfrec(d, &["cat", "--jsonl", "bad.tfrecord"]);
    run.success();
    let lines = run.json_lines();
    assert_eq!(lines.len(), payloads.len());
    for (v, p) in lines.iter().zip(&payloads) {
        if tfrec::example::RecordKind::detect(p) == tfrec::example::RecordKind::Raw {
            assert_eq!(v["raw"].as_str().unwrap(), b64(p));
        }
    }
    tfrec_with_stdin(d, &["pack", "-o", "back.tfrecord", "-"], &run.stdout).success();
    tfrec(d, &["cat", "bad.tfrecord"]).success();
    let stats = tfrec(d, &["stats", "--json", "bad.tfrecord"]);
    stats.success();
    let v: Value = serde_json::from_str(stats.text()).unwrap();
    assert_eq!(v["records"], payloads.len());
    let kinds = &v["kinds"];
    let total: u64 = ["tensor", "example", "sequence_example", "raw"]
        .iter()
        .map(|k| kinds[k].as_u64().unwrap())
        .sum();
    assert_eq!(total, payloads.len() as u64);
    assert!(kinds["raw"].as_u64().unwrap() > 0);
}
