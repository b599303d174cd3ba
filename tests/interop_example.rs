//! `tf.train.Example` and `SequenceExample` interoperability with real
//! TensorFlow, in both directions, and byte-identical serialization.
//!
//! TensorFlow runs in a subprocess (`tests/tf_helper.py`); see
//! `tests/common/tf.rs` for where its Python comes from. Without
//! TensorFlow these tests are skipped with a message, unless
//! `TFREC_REQUIRE_TF=1`, when they fail instead.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use common::process::output_ok;
use common::tf::{python, tf_helper, tf_helper_with_env};
use common::Rng;
use serde_json::Value;
use tfrec::example::json::{example_from_json, sequence_example_from_json, write_example_json};
use tfrec::example::json::{write_sequence_example_json, JsonRecord};
use tfrec::example::{
    encode, encode_with, Deterministic, Example, ExampleView, Feature, FeatureList, FeatureLists,
    Features, MapOrder, RecordKind, SequenceExample, SequenceExampleView,
};
use tfrec::{Reader, Tensor, Writer};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Messages compare through their deterministic encoding, which keeps NaN
/// bit patterns (prost's `PartialEq` says NaN != NaN).
fn same<M: Deterministic>(a: &M, b: &M) -> bool {
    encode(a) == encode(b)
}

fn lines(out: &str) -> Vec<Value> {
    out.lines()
        .map(|l| serde_json::from_str(l).expect("helper prints JSON"))
        .collect()
}

fn records(path: &Path) -> Vec<Vec<u8>> {
    let mut reader = Reader::open(path).unwrap();
    reader
        .records()
        .map(|r| r.unwrap().payload.to_vec())
        .collect()
}

/// The features a view holds, as prost messages, by name.
fn feature_map(features: &tfrec::example::FeaturesView<'_>) -> BTreeMap<String, Feature> {
    features
        .iter()
        .map(|(n, f)| (n.to_owned(), f.to_owned()))
        .collect()
}

/// `expected` (features as TensorFlow reports them) matches the view,
/// feature by feature.
fn check_features(view: &tfrec::example::FeaturesView<'_>, expected: &Features, what: &str) {
    let ours = feature_map(view);
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        expected.feature.keys().collect::<Vec<_>>(),
        "{what}: names"
    );
    for (name, f) in &expected.feature {
        assert!(same(&ours[name], f), "{what}: feature {name:?}");
    }
}

/// The record as TensorFlow's Python protobuf classes and its C++ parsing
/// op report it agrees with our view and with prost.
fn check_record(payload: &[u8], line: &Value) {
    let index = &line["index"];
    let raw = B64.decode(line["raw"].as_str().unwrap()).unwrap();
    assert_eq!(raw, payload, "record {index}: payload");
    match line["kind"].as_str().unwrap() {
        "example" => {
            let theirs = example_from_json(&line["proto"]).unwrap();
            let view = ExampleView::parse(payload).unwrap();
            assert!(same(&view.to_owned(), &theirs), "record {index}: proto");
            let prost: Example = prost::Message::decode(payload).unwrap();
            assert!(same(&prost, &theirs), "record {index}: prost");
            let parsed = example_from_json(&line["parsed"]).unwrap();
            check_features(
                view.features(),
                parsed.features.as_ref().unwrap(),
                &format!("record {index}: parse_single_example"),
            );
        }
        _ => {
            let theirs = sequence_example_from_json(&line["proto"]).unwrap();
            let view = SequenceExampleView::parse(payload).unwrap();
            assert!(same(&view.to_owned(), &theirs), "record {index}: proto");
            let prost: SequenceExample = prost::Message::decode(payload).unwrap();
            assert!(same(&prost, &theirs), "record {index}: prost");
            let parsed = sequence_example_from_json(&line["parsed"]).unwrap();
            let what = format!("record {index}: parse_single_sequence_example");
            check_features(view.context(), parsed.context.as_ref().unwrap(), &what);
            let lists = parsed.feature_lists.unwrap();
            assert_eq!(
                view.feature_lists().len(),
                lists.feature_list.len(),
                "{what}"
            );
            for (name, list) in &lists.feature_list {
                let ours = view.feature_lists().get(name).unwrap().to_owned();
                assert!(same(&ours, list), "{what}: list {name:?}");
            }
        }
    }
}

#[test]
fn tensorflow_writes_examples_tfrec_reads() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tf-examples.tfrecord");
    let out = lines(&tf_helper(&py, &["write-examples", path.to_str().unwrap()]));
    let payloads = records(&path);
    assert_eq!(payloads.len(), out.len());
    assert!(payloads.len() >= 12);
    for (payload, line) in payloads.iter().zip(&out) {
        check_record(payload, line);
    }

    // Detection: the empty Example is raw, a context-only SequenceExample
    // is an Example; everything else is what TensorFlow wrote.
    let kinds: Vec<RecordKind> = payloads.iter().map(|p| RecordKind::detect(p)).collect();
    for (i, (kind, line)) in kinds.iter().zip(&out).enumerate() {
        let wrote = line["kind"].as_str().unwrap();
        let only_context = line["proto"].get("feature_lists").is_none();
        let want = match wrote {
            _ if payloads[i].is_empty() => RecordKind::Raw,
            "sequence_example" if !only_context => RecordKind::SequenceExample,
            _ => RecordKind::Example,
        };
        assert_eq!(*kind, want, "record {i}");
    }

    // Spot checks of what the records hold.
    let first = ExampleView::parse(&payloads[0]).unwrap();
    let big = first.get("big").unwrap();
    let values: Vec<&[u8]> = big.bytes_list().unwrap().collect();
    assert_eq!(values[0].len(), 5 << 20);
    assert_eq!(values[1], b"tail");
    let floats = first.get("floats").unwrap().floats().unwrap();
    assert!(floats[2].is_nan() && floats[3] == f32::INFINITY && floats[4] == f32::NEG_INFINITY);
    assert!(floats[1] == 0.0 && floats[1].is_sign_negative());
    let ints: Vec<i64> = first.get("ints").unwrap().int64_list().unwrap().collect();
    assert_eq!(ints, [0, -1, i64::MAX, i64::MIN, 300]);
    assert!(first.get("no_kind").unwrap().to_owned().kind.is_none());
    assert_eq!(first.get("empty_float").unwrap().floats().unwrap().len(), 0);
    assert!(first.get("\u{540d}\u{524d}").is_some() && first.get("").is_some());
    // Features absent from some records.
    let labels: Vec<bool> = (1..5)
        .map(|i| {
            ExampleView::parse(&payloads[i])
                .unwrap()
                .get("label")
                .is_some()
        })
        .collect();
    assert_eq!(labels, [true, false, true, false]);
    // Two Examples concatenated: the later "x" wins, as TensorFlow's
    // parsing op also has it.
    let merged = ExampleView::parse(&payloads[7]).unwrap();
    let x: Vec<i64> = merged.get("x").unwrap().int64_list().unwrap().collect();
    assert_eq!(x, [3]);
    assert_eq!(merged.len(), 3);

    // Every record through the JSON form and back to the same bytes.
    for (i, payload) in payloads.iter().enumerate() {
        let mut line = Vec::new();
        tfrec::example::json::write_detected_json(&mut line, "f", i as u64, 0, payload).unwrap();
        let back = JsonRecord::from_json_line(std::str::from_utf8(&line).unwrap()).unwrap();
        let bytes = back.to_payload();
        // TensorFlow writes maps in hash order; ours are sorted, so compare
        // the messages unless the bytes are raw.
        match back {
            JsonRecord::Raw(raw) => assert_eq!(&raw, payload),
            JsonRecord::Example(ex) => {
                assert!(same(&ex, &ExampleView::parse(payload).unwrap().to_owned()));
                assert_eq!(
                    bytes,
                    encode(&ExampleView::parse(payload).unwrap().to_owned())
                );
            }
            JsonRecord::SequenceExample(seq) => {
                assert!(same(
                    &seq,
                    &SequenceExampleView::parse(payload).unwrap().to_owned()
                ));
            }
            JsonRecord::Tensor(t) => panic!("record {i} read back as a tensor {t:?}"),
        }
    }
}

/// Random Examples and SequenceExamples with awkward names and values.
trait RandomExamples {
    fn name(&mut self) -> String;
    fn float(&mut self) -> f32;
    fn int(&mut self) -> i64;
    fn count(&mut self) -> usize;
    fn feature_of(&mut self, kind: usize) -> Feature;
    fn feature(&mut self) -> Feature;
    fn features(&mut self) -> Features;
    fn example(&mut self) -> Example;
    fn sequence_example(&mut self, homogeneous: bool) -> SequenceExample;
}

impl RandomExamples for Rng {
    /// Names of every sort: empty, prefixes of one another, unicode,
    /// punctuation, long.
    fn name(&mut self) -> String {
        const PIECES: [&str; 12] = [
            "a",
            "ab",
            "label",
            "image/encoded",
            "\u{e9}",
            "\u{732b}",
            "\u{1F600}",
            " ",
            "_",
            "x",
            "\"",
            "Z",
        ];
        match self.below(10) {
            0 => String::new(),
            1 => "n".repeat(self.below(40) + 1),
            _ => (0..self.below(4) + 1)
                .map(|_| PIECES[self.below(PIECES.len())])
                .collect(),
        }
    }

    fn float(&mut self) -> f32 {
        match self.below(10) {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            3 => -0.0,
            4 => f32::MAX,
            5 => f32::from_bits(1),
            // JSON carries one NaN, the canonical one; other patterns only.
            _ => match f32::from_bits(self.next() as u32) {
                v if v.is_nan() => f32::NAN,
                v => v,
            },
        }
    }

    fn int(&mut self) -> i64 {
        match self.below(6) {
            0 => i64::MIN,
            1 => i64::MAX,
            2 => self.below(300) as i64 - 150,
            _ => self.next() as i64,
        }
    }

    fn count(&mut self) -> usize {
        if self.below(4) == 0 {
            self.below(51)
        } else {
            self.below(6)
        }
    }

    /// A feature of `kind` (0 bytes, 1 float, 2 int64, 3 none).
    fn feature_of(&mut self, kind: usize) -> Feature {
        let n = self.count();
        match kind {
            0 => Feature::bytes_list((0..n).map(|_| {
                let len = self.below(20);
                self.bytes(len)
            })),
            1 => Feature::float_list((0..n).map(|_| self.float())),
            2 => Feature::int64_list((0..n).map(|_| self.int())),
            _ => Feature::default(),
        }
    }

    fn feature(&mut self) -> Feature {
        let kind = self.below(4);
        self.feature_of(kind)
    }

    fn features(&mut self) -> Features {
        let mut feature = BTreeMap::new();
        for _ in 0..self.below(8) {
            let name = self.name();
            let f = self.feature();
            feature.insert(name, f);
        }
        Features { feature }
    }

    fn example(&mut self) -> Example {
        Example {
            features: (self.below(12) != 0).then(|| self.features()),
        }
    }

    /// With `homogeneous`, each list holds one kind (and steps with none),
    /// which TensorFlow's parsing op needs.
    fn sequence_example(&mut self, homogeneous: bool) -> SequenceExample {
        let context = (self.below(4) != 0).then(|| self.features());
        let feature_lists = (self.below(8) != 0).then(|| {
            let mut feature_list = BTreeMap::new();
            for _ in 0..self.below(5) {
                let name = self.name();
                let kind = self.below(3);
                let steps = (0..self.count())
                    .map(|_| match self.below(6) {
                        0 => Feature::default(),
                        _ if homogeneous => self.feature_of(kind),
                        _ => self.feature(),
                    })
                    .collect();
                feature_list.insert(name, FeatureList { feature: steps });
            }
            FeatureLists { feature_list }
        });
        SequenceExample {
            context,
            feature_lists,
        }
    }
}

/// Examples as JSON lines. An Example without a `features` field, which
/// our writer prints as `{"features": {}}` (an empty one), is written as
/// `{}` here, which the helper reads as the field absent.
fn example_jsonl(examples: &[Example]) -> String {
    let mut out = Vec::new();
    for (i, ex) in examples.iter().enumerate() {
        if ex.features.is_none() {
            out.extend_from_slice(b"{}\n");
            continue;
        }
        let bytes = encode(ex);
        write_example_json(
            &mut out,
            "x",
            i as u64,
            0,
            &ExampleView::parse(&bytes).unwrap(),
        )
        .unwrap();
    }
    String::from_utf8(out).unwrap()
}

fn sequence_jsonl(examples: &[SequenceExample]) -> String {
    let mut out = Vec::new();
    for (i, seq) in examples.iter().enumerate() {
        let bytes = encode(seq);
        let view = SequenceExampleView::parse(&bytes).unwrap();
        write_sequence_example_json(&mut out, "x", i as u64, 0, &view).unwrap();
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn tfrec_writes_examples_tensorflow_reads() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(0x5eed_e001);

    let mut examples: Vec<Example> = (0..120).map(|_| rng.example()).collect();
    // A tensor in a bytes feature, as tf.io.serialize_tensor writes it.
    let t = Tensor::from_slice(&[1.5f32, -2.0, 0.25, 8.0], &[2, 2]).unwrap();
    examples.push(
        Example::default()
            .bytes("tensor", [t.to_proto_bytes()])
            .int64("n", [1]),
    );
    examples.push(Example::default().bytes("big", [rng.bytes(3 << 20)]));
    let path = dir.path().join("ours-examples.tfrecord");
    let mut w = Writer::create(&path).unwrap();
    for ex in &examples {
        w.write_example(ex).unwrap();
    }
    w.finish().unwrap();
    let out = lines(&tf_helper(
        &py,
        &["read-examples", path.to_str().unwrap(), "--kind", "example"],
    ));
    assert_eq!(out.len(), examples.len());
    for (ex, line) in examples.iter().zip(&out) {
        let index = &line["index"];
        let raw = B64.decode(line["raw"].as_str().unwrap()).unwrap();
        assert_eq!(raw, encode(ex), "record {index}: payload");
        let theirs = example_from_json(&line["proto"]).unwrap();
        assert!(same(&theirs, ex), "record {index}: proto");
        let parsed = example_from_json(&line["parsed"]).unwrap();
        let ours = ex.features.clone().unwrap_or_default();
        assert!(
            same(&parsed.features.unwrap(), &ours),
            "record {index}: parsed"
        );
    }

    let sequences: Vec<SequenceExample> = (0..60).map(|_| rng.sequence_example(true)).collect();
    let path = dir.path().join("ours-sequences.tfrecord");
    let mut w = Writer::create(&path).unwrap();
    for seq in &sequences {
        w.write_example(seq).unwrap();
    }
    w.finish().unwrap();
    let out = lines(&tf_helper(
        &py,
        &[
            "read-examples",
            path.to_str().unwrap(),
            "--kind",
            "sequence_example",
        ],
    ));
    assert_eq!(out.len(), sequences.len());
    for (seq, line) in sequences.iter().zip(&out) {
        let index = &line["index"];
        assert_eq!(
            B64.decode(line["raw"].as_str().unwrap()).unwrap(),
            encode(seq)
        );
        let theirs = sequence_example_from_json(&line["proto"]).unwrap();
        assert!(same(&theirs, seq), "record {index}: proto");
        let parsed = sequence_example_from_json(&line["parsed"]).unwrap();
        let context = seq.context.clone().unwrap_or_default();
        let lists = seq.feature_lists.clone().unwrap_or_default();
        assert!(
            same(&parsed.context.unwrap(), &context),
            "record {index}: context"
        );
        assert!(
            same(&parsed.feature_lists.unwrap(), &lists),
            "record {index}: lists"
        );
    }
}

/// A tensor serialized by `tf.io.serialize_tensor` inside an Example that
/// TensorFlow wrote decodes through `FeatureView::tensor`.
#[test]
fn serialized_tensors_in_bytes_features() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tensors.tfrecord");
    let script = r#"
import sys, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, tensorflow as tf
tensors = [
    tf.constant([[1.5, -2.0], [0.25, 8.0]], dtype=tf.float32),
    tf.constant([b"cat", b"", b"\x00dog"]),
    tf.constant(7, dtype=tf.int64),
    tf.zeros([0, 3], dtype=tf.uint8),
]
with tf.io.TFRecordWriter(sys.argv[1]) as w:
    ex = tf.train.Example(features=tf.train.Features(feature={
        "t": tf.train.Feature(bytes_list=tf.train.BytesList(
            value=[tf.io.serialize_tensor(t).numpy() for t in tensors])),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[1])),
    }))
    w.write(ex.SerializeToString())
"#;
    output_ok(
        std::process::Command::new(&py)
            .args(["-c", script, path.to_str().unwrap()])
            .env("TF_CPP_MIN_LOG_LEVEL", "3"),
    );
    let payloads = records(&path);
    let view = ExampleView::parse(&payloads[0]).unwrap();
    let t = view.get("t").unwrap();
    let all = t.decode_tensors().unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(
        all[0],
        *Tensor::from_slice(&[1.5f32, -2.0, 0.25, 8.0], &[2, 2]).unwrap()
    );
    assert!(all[0].is_borrowed());
    assert_eq!(
        all[1],
        *Tensor::from_strings(&[&b"cat"[..], b"", b"\0dog"], &[3]).unwrap()
    );
    assert_eq!(t.tensor(2).unwrap(), *Tensor::scalar(7i64));
    assert_eq!(t.tensor(3).unwrap().shape(), [0, 3]);
    assert!(view.get("label").unwrap().tensor(0).is_err());
}

fn names_have_prefixes(features: &BTreeMap<String, impl Sized>) -> bool {
    let names: Vec<&String> = features.keys().collect();
    names.windows(2).any(|w| w[1].starts_with(w[0].as_str()))
}

fn any_prefixes_example(ex: &Example) -> bool {
    ex.features
        .as_ref()
        .is_some_and(|f| names_have_prefixes(&f.feature))
}

fn any_prefixes_sequence(seq: &SequenceExample) -> bool {
    seq.context
        .as_ref()
        .is_some_and(|f| names_have_prefixes(&f.feature))
        || seq
            .feature_lists
            .as_ref()
            .is_some_and(|l| names_have_prefixes(&l.feature_list))
}

/// Our encoding against `SerializeToString(deterministic=True)` of the same
/// message built in Python, with both of protobuf's Python backends, always
/// byte for byte: the default (upb) one against `encode` (`MapOrder::Python`,
/// where a name comes after the names it is a prefix of), the pure-Python
/// one against `MapOrder::Cpp` (C++ protobuf's order).
#[test]
fn serialization_is_byte_identical_to_tensorflow() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng::new(0x5eed_e002);
    let mut examples: Vec<Example> = (0..300).map(|_| rng.example()).collect();
    examples.push(Example::default());
    examples.push(Example {
        features: Some(Features::default()),
    });
    examples.push(
        Example::default()
            .with_feature("", Feature::default())
            .float("f", [])
            .int64("i", [])
            .bytes::<&[u8]>("b", []),
    );
    let mut sequences: Vec<SequenceExample> =
        (0..150).map(|_| rng.sequence_example(false)).collect();
    sequences.push(SequenceExample::default());
    sequences.push(SequenceExample::default().feature_list("", []));

    let ex_path = dir.path().join("examples.jsonl");
    std::fs::write(&ex_path, example_jsonl(&examples)).unwrap();
    let seq_path = dir.path().join("sequences.jsonl");
    std::fs::write(&seq_path, sequence_jsonl(&sequences)).unwrap();

    let serialize = |path: &Path, kind: &str, pure_python: bool| -> Vec<Vec<u8>> {
        let args = ["serialize-examples", path.to_str().unwrap(), "--kind", kind];
        let out = if pure_python {
            tf_helper_with_env(
                &py,
                &args,
                &[("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")],
            )
        } else {
            tf_helper(&py, &args)
        };
        out.lines().map(|l| B64.decode(l.trim()).unwrap()).collect()
    };

    let mut prefixed = 0;
    for pure_python in [true, false] {
        let order = if pure_python {
            MapOrder::Cpp
        } else {
            MapOrder::Python
        };
        let theirs = serialize(&ex_path, "example", pure_python);
        assert_eq!(theirs.len(), examples.len());
        for (i, (ex, bytes)) in examples.iter().zip(&theirs).enumerate() {
            prefixed += usize::from(any_prefixes_example(ex));
            assert_eq!(
                &encode_with(ex, order),
                bytes,
                "example {i} (pure Python: {pure_python}): {ex:?}"
            );
            if !pure_python {
                assert_eq!(&encode(ex), bytes, "example {i}: the default order");
            }
        }
        let theirs = serialize(&seq_path, "sequence_example", pure_python);
        assert_eq!(theirs.len(), sequences.len());
        for (i, (seq, bytes)) in sequences.iter().zip(&theirs).enumerate() {
            prefixed += usize::from(any_prefixes_sequence(seq));
            assert_eq!(
                &encode_with(seq, order),
                bytes,
                "sequence {i} (pure Python: {pure_python}): {seq:?}"
            );
        }
    }
    // The generator does make maps with prefixed names.
    assert!(prefixed > 10, "{prefixed}");
}

/// The upb ordering, pinned down on one message, so that a change in
/// protobuf's Python runtime shows up here; `encode` follows it.
#[test]
fn upb_orders_prefixed_names_differently() {
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let ex = Example::default()
        .int64("a", [1])
        .int64("ab", [2])
        .int64("", [3])
        .int64("b", [4]);
    let path = dir.path().join("one.jsonl");
    std::fs::write(&path, example_jsonl(std::slice::from_ref(&ex))).unwrap();
    let out = tf_helper(
        &py,
        &[
            "serialize-examples",
            path.to_str().unwrap(),
            "--kind",
            "example",
        ],
    );
    let theirs = B64.decode(out.trim()).unwrap();
    let view = ExampleView::parse(&theirs).unwrap();
    let names: Vec<&str> = view.iter().map(|(n, _)| n).collect();
    let our_names = |bytes: &[u8]| -> Vec<String> {
        ExampleView::parse(bytes)
            .unwrap()
            .iter()
            .map(|(n, _)| n.to_owned())
            .collect()
    };
    assert_eq!(
        our_names(&encode_with(&ex, MapOrder::Cpp)),
        ["", "a", "ab", "b"]
    );
    assert_eq!(our_names(&encode(&ex)), ["ab", "a", "b", ""]);
    assert_eq!(encode(&ex), theirs);
    assert_eq!(
        names,
        ["ab", "a", "b", ""],
        "upb's order changed: {names:?}"
    );
}
