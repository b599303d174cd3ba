//! Golden files written by real TensorFlow (see `testdata/README.md`), read
//! and checked record by record against their JSON sidecars.

mod common;
use common::read_records;

use std::fs;
use std::io::{Cursor, Read};
use std::path::PathBuf;

use base64::Engine as _;
use serde_json::Value;
use tfrec::{Compression, ErrorKind, ReadOptions, Reader, Tensor, TensorView, Writer};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Every `.tfrecord` in `testdata/` and the test that covers it.
const KNOWN_FILES: [&str; 6] = [
    "tensors.tfrecord",
    "tensors.gz.tfrecord",
    "tensors.zlib.tfrecord",
    "typed_fields.tfrecord",
    "typed_fields_lenient.tfrecord",
    "invalid_tensors.tfrecord",
];

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

/// One line of a sidecar.
#[derive(Debug)]
struct Expected {
    index: u64,
    offset: u64,
    raw: Vec<u8>,
    note: String,
    /// dtype name, shape, and element bytes or strings; `None` for records
    /// that are not valid tensors.
    tensor: Option<(String, Vec<usize>, Content)>,
    error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Content {
    Bytes(Vec<u8>),
    Strings(Vec<Vec<u8>>),
}

fn b64(v: &Value, what: &str) -> Vec<u8> {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v}"));
    B64.decode(s)
        .unwrap_or_else(|e| panic!("{what} is not base64: {e}"))
}

fn sidecar(name: &str) -> Vec<Expected> {
    let path = testdata(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(line, l)| {
            let v: Value =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}:{}: {e}", line + 1));
            let note = v["note"].as_str().unwrap_or_default().to_string();
            let tensor = v.get("dtype").map(|dtype| {
                let shape = v["shape"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{name}:{}: no shape", line + 1))
                    .iter()
                    .map(|d| d.as_u64().unwrap() as usize)
                    .collect();
                let content = match (v.get("data"), v.get("strings")) {
                    (Some(data), None) => Content::Bytes(b64(data, "data")),
                    (None, Some(strings)) => Content::Strings(
                        strings
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|s| b64(s, "strings"))
                            .collect(),
                    ),
                    _ => panic!("{name}:{}: needs exactly one of data and strings", line + 1),
                };
                (dtype.as_str().unwrap().to_string(), shape, content)
            });
            Expected {
                index: v["index"].as_u64().unwrap(),
                offset: v["offset"].as_u64().unwrap(),
                raw: b64(&v["raw"], "raw"),
                note,
                tensor,
                error: v.get("error").and_then(Value::as_str).map(str::to_string),
            }
        })
        .collect()
}

fn describe(t: &TensorView<'_>) -> (String, Vec<usize>, Content) {
    let content = match t.bytes() {
        Some(b) => Content::Bytes(b.to_vec()),
        None => Content::Strings(t.strings().unwrap().map(<[u8]>::to_vec).collect()),
    };
    (t.dtype().name().to_string(), t.shape().to_vec(), content)
}

/// Checks framing against the sidecar for every way of reading `file`.
fn check_framing(file: &str, expected: &[Expected], compression: Compression) {
    let path = testdata(file);
    let want: Vec<(Vec<u8>, u64, u64)> = expected
        .iter()
        .map(|e| (e.raw.clone(), e.offset, e.index))
        .collect();
    for (i, e) in expected.iter().enumerate() {
        assert_eq!(
            e.index,
            i as u64,
            "{file}: sidecar out of order at line {}",
            i + 1
        );
    }

    let mut mapped = Reader::open(&path).unwrap();
    assert_eq!(mapped.compression(), compression, "{file}");
    assert_eq!(
        mapped.mapped_bytes().is_some(),
        compression == Compression::None,
        "{file}"
    );
    assert_eq!(read_records(&mut mapped), want, "{file} via open");

    let mut streamed = Reader::open_with(&path, ReadOptions::default().mmap(false)).unwrap();
    assert_eq!(
        read_records(&mut streamed),
        want,
        "{file} via open without mmap"
    );

    let bytes = fs::read(&path).unwrap();
    let mut from_read = Reader::from_read(Cursor::new(bytes)).unwrap();
    assert_eq!(from_read.compression(), compression);
    assert_eq!(read_records(&mut from_read), want, "{file} via from_read");

    assert_eq!(
        Reader::open(&path).unwrap().count().unwrap(),
        expected.len() as u64,
        "{file}"
    );
}

/// Checks that each record decodes to the tensor TensorFlow decoded.
fn check_tensors(file: &str, expected: &[Expected], reencode_is_raw: bool) {
    let mut reader = Reader::open(testdata(file)).unwrap();
    let mut n = 0;
    for (record, e) in reader.records().zip(expected) {
        let record = record.unwrap();
        let what = format!("{file} record {} ({})", e.index, e.note);
        let t = record
            .decode()
            .unwrap_or_else(|err| panic!("{what}: {err}"));
        let want = e
            .tensor
            .as_ref()
            .unwrap_or_else(|| panic!("{what}: sidecar has no tensor"));
        assert_eq!(&describe(&t), want, "{what}");
        if t.bytes().is_some_and(|b| !b.is_empty()) && reencode_is_raw {
            assert!(t.is_borrowed(), "{what}: tensor_content is not borrowed");
        }
        let again = t.to_proto_bytes();
        if reencode_is_raw {
            assert_eq!(
                again, e.raw,
                "{what}: re-encoding differs from tf.io.serialize_tensor"
            );
        }
        assert_eq!(
            TensorView::decode(&again).unwrap(),
            t,
            "{what}: re-encoded tensor differs"
        );
        n += 1;
    }
    assert_eq!(n, expected.len(), "{file}");
}

#[test]
fn every_golden_file_is_known_and_documented() {
    let readme = fs::read_to_string(testdata("README.md")).unwrap();
    let mut found: Vec<String> = fs::read_dir(testdata(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tfrecord"))
        .collect();
    found.sort();
    let mut known: Vec<String> = KNOWN_FILES.iter().map(|s| s.to_string()).collect();
    known.sort();
    assert_eq!(
        found, known,
        "testdata/ holds a file these tests do not check"
    );

    for file in KNOWN_FILES {
        let stem = file.split('.').next().unwrap();
        let rows = sidecar(&format!("{stem}.expected.jsonl"));
        let count = Reader::open(testdata(file)).unwrap().count().unwrap();
        assert_eq!(count, rows.len() as u64, "{file} and its sidecar");
        // The README's table gives the record count of each file.
        let row = format!("| `{file}` | {count} |");
        assert!(readme.contains(&row), "README.md has no row {row:?}");
    }
}

#[test]
fn serialize_tensor_files_decode_and_reencode_byte_for_byte() {
    let expected = sidecar("tensors.expected.jsonl");
    assert!(expected.len() >= 50, "only {} records", expected.len());
    for (file, c) in [
        ("tensors.tfrecord", Compression::None),
        ("tensors.gz.tfrecord", Compression::Gzip),
        ("tensors.zlib.tfrecord", Compression::Zlib),
    ] {
        check_framing(file, &expected, c);
    }
    check_tensors("tensors.tfrecord", &expected, true);

    // All 16 dtypes are there.
    let mut dtypes: Vec<&str> = expected
        .iter()
        .map(|e| e.tensor.as_ref().unwrap().0.as_str())
        .collect();
    dtypes.sort();
    dtypes.dedup();
    assert_eq!(dtypes.len(), tfrec::DType::ALL.len(), "{dtypes:?}");
}

/// TensorFlow's writer and ours produce the same file from the same tensors,
/// and TensorFlow's compressed files hold exactly that stream.
#[test]
fn writing_the_decoded_tensors_reproduces_the_file() {
    let plain = fs::read(testdata("tensors.tfrecord")).unwrap();
    let mut reader = Reader::open(testdata("tensors.tfrecord")).unwrap();
    let mut w = Writer::new(Vec::new());
    for record in reader.records() {
        let record = record.unwrap();
        let t = Tensor::decode(&record.payload).unwrap();
        w.write_tensor(&t).unwrap();
    }
    assert_eq!(w.finish().unwrap(), plain);

    let gz = fs::read(testdata("tensors.gz.tfrecord")).unwrap();
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&gz[..])
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, plain);
    let zz = fs::read(testdata("tensors.zlib.tfrecord")).unwrap();
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(&zz[..])
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, plain);
}

#[test]
fn typed_field_protos_decode_as_tensorflow_does() {
    let expected = sidecar("typed_fields.expected.jsonl");
    check_framing("typed_fields.tfrecord", &expected, Compression::None);
    check_tensors("typed_fields.tfrecord", &expected, false);
    // These protos do not use tensor_content, so they are not what
    // serialize_tensor writes: most re-encode differently.
    let differing = expected
        .iter()
        .filter(|e| Tensor::decode(&e.raw).unwrap().to_proto_bytes() != e.raw)
        .count();
    assert!(
        differing > expected.len() / 2,
        "{differing} of {}",
        expected.len()
    );
}

/// The notes of `typed_fields_lenient` records that this crate refuses by
/// design (more typed values than elements, and `tensor_content` that does
/// not fit the shape); every other record must decode as TensorFlow does.
const REFUSED_ON_PURPOSE: [&str; 3] = [
    "more values than elements",
    "values on a zero-element tensor",
    "tensor_content on a zero-element tensor",
];

#[test]
fn lenient_protos_decode_as_tensorflow_does_or_are_refused_as_documented() {
    let expected = sidecar("typed_fields_lenient.expected.jsonl");
    check_framing(
        "typed_fields_lenient.tfrecord",
        &expected,
        Compression::None,
    );
    let mut refused = 0;
    for e in &expected {
        let what = format!("record {} ({})", e.index, e.note);
        let result = TensorView::decode(&e.raw);
        if REFUSED_ON_PURPOSE.iter().any(|p| e.note.starts_with(p)) {
            let err = result.err().unwrap_or_else(|| panic!("{what}: accepted"));
            assert!(
                matches!(err.kind(), ErrorKind::InvalidTensor { .. }),
                "{what}: {err}"
            );
            refused += 1;
        } else {
            let t = result.unwrap_or_else(|err| panic!("{what}: {err}"));
            assert_eq!(&describe(&t), e.tensor.as_ref().unwrap(), "{what}");
        }
    }
    assert!(
        refused >= REFUSED_ON_PURPOSE.len(),
        "notes changed? only {refused} refused"
    );
}

/// What each invalid record's note says is wrong, and a word the decoder's
/// reason must contain.
const INVALID_REASONS: [(&str, &str); 9] = [
    ("empty payload", "DT_INVALID"),
    ("not a protobuf", "varint"),
    ("tensor_content too short", "tensor_content"),
    ("tensor_content too long", "tensor_content"),
    ("tensor_content length not a multiple", "tensor_content"),
    ("bool tensor_content byte", "bool"),
    ("negative dimension", "negative"),
    ("string tensor_content", "string"),
    ("truncated protobuf", "claims"),
];

#[test]
fn invalid_tensors_are_rejected_for_the_right_reason() {
    let expected = sidecar("invalid_tensors.expected.jsonl");
    check_framing("invalid_tensors.tfrecord", &expected, Compression::None);
    let mut reader = Reader::open(testdata("invalid_tensors.tfrecord")).unwrap();
    for (record, e) in reader.records().zip(&expected) {
        let record = record.unwrap();
        let what = format!("record {} ({})", e.index, e.note);
        assert!(e.tensor.is_none(), "{what}: sidecar has a tensor");
        let tf_error = e
            .error
            .as_deref()
            .unwrap_or_else(|| panic!("{what}: no error in sidecar"));
        let err = record
            .decode()
            .err()
            .unwrap_or_else(|| panic!("{what}: decoded"));
        assert_eq!(
            (err.record_index(), err.offset()),
            (Some(e.index), Some(e.offset)),
            "{what}"
        );
        // TensorFlow's words for an unsupported dtype carry its number.
        let tf_dtype = tf_error
            .strip_prefix("TensorProto has unsupported dtype enum ")
            .map(|n| n.trim().parse::<i32>().unwrap());
        match (tf_dtype, err.kind()) {
            (Some(0), ErrorKind::InvalidTensor { reason }) => {
                assert!(reason.contains("DT_INVALID"), "{what}: {reason}")
            }
            (Some(code), ErrorKind::UnsupportedDType { code: ours }) if code != 0 => {
                assert_eq!(*ours, code, "{what}")
            }
            (None, ErrorKind::InvalidTensor { reason }) => {
                let (_, word) = INVALID_REASONS
                    .iter()
                    .find(|(note, _)| e.note.starts_with(note))
                    .unwrap_or_else(|| {
                        panic!("{what}: a new invalid record; add it to INVALID_REASONS")
                    });
                assert!(
                    reason.contains(word),
                    "{what}: reason {reason:?} lacks {word:?}"
                );
            }
            (_, other) => panic!("{what}: TensorFlow says {tf_error:?}, we say {other:?}"),
        }
    }
    assert_eq!(expected.len(), INVALID_REASONS.len());
}
