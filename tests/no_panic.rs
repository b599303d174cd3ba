//! No input panics the library: random bytes, and files written by
//! [`Writer`] then damaged (bits flipped, bytes overwritten, inserted or
//! deleted, truncated, two files spliced), go through every entry point.
//! Where it is cheap to say what the answer must be, it is checked too: the
//! readers agree on uncompressed input, the records before the first
//! damaged byte come back intact, and no record comes back that was never
//! written.

mod common;

use std::collections::HashSet;
use std::io::Cursor;
use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use tfrec::{index, json, npy, verify, Compression, ReadOptions, Reader, SliceReader};
use tfrec::{Tensor, TensorView, Writer};

use common::{len_field, proptest_config, proto_head, varint_field};

/// Valid inputs to damage, and everything that was written into them.
struct Corpus {
    /// (compression, file bytes, payloads in order).
    files: Vec<(Compression, Vec<u8>, Vec<Vec<u8>>)>,
    /// Every payload of every file.
    payloads: HashSet<Vec<u8>>,
    /// `.npy` files of the tensors.
    npy: Vec<Vec<u8>>,
    /// JSON lines of the tensors.
    json: Vec<Vec<u8>>,
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut tensors = common::mixed_tensors();
        tensors.extend(common::one_of_each_dtype());
        // Payloads that use the typed fields rather than tensor_content.
        let mut floats = proto_head(1, &[2, 3]);
        floats.extend(len_field(5, &1.5f32.to_le_bytes()));
        let mut ints = proto_head(9, &[4]);
        ints.extend(varint_field(10, 300));
        ints.extend(varint_field(10, (-2i64) as u64));
        let typed = [floats, ints];

        let groups: [&[Tensor]; 3] = [&tensors[..6], &tensors[6..14], &tensors[14..]];
        let mut files = Vec::new();
        for (g, group) in groups.iter().enumerate() {
            for compression in [Compression::None, Compression::Gzip, Compression::Zlib] {
                let mut w = Writer::with_compression(Vec::new(), compression);
                let mut payloads = Vec::new();
                for t in group.iter() {
                    w.write_tensor(t).unwrap();
                    payloads.push(t.to_proto_bytes());
                }
                w.write_record(&typed[g % 2]).unwrap();
                payloads.push(typed[g % 2].clone());
                files.push((compression, w.finish().unwrap(), payloads));
            }
        }
        let payloads = files.iter().flat_map(|f| f.2.iter().cloned()).collect();
        let npy = tensors
            .iter()
            .filter_map(|t| npy::write_npy(t).ok())
            .collect();
        let json = tensors
            .iter()
            .map(|t| {
                let mut line = Vec::new();
                json::write_record_json(&mut line, "f.tfrecord", 1, 2, t).unwrap();
                line
            })
            .collect();
        Corpus {
            files,
            payloads,
            npy,
            json,
        }
    })
}

/// One way to damage bytes.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(Index, u8),
    Overwrite(Index, u8),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    /// This input up to a point, then another from a point.
    Splice(Index, Index, Index),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, b)| Mutation::FlipBit(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Overwrite(i, b)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => (any::<Index>(), 1usize..32).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => (any::<Index>(), any::<Index>(), any::<Index>())
            .prop_map(|(a, f, b)| Mutation::Splice(a, f, b)),
    ]
}

/// Applies `m` to `bytes`; returns the first position it may have changed.
/// `others` are the inputs a splice may take its tail from.
fn mutate(bytes: &mut Vec<u8>, m: &Mutation, others: &[&[u8]]) -> usize {
    let len = bytes.len();
    match m {
        Mutation::FlipBit(i, bit) if len > 0 => {
            let at = i.index(len);
            bytes[at] ^= 1 << bit;
            at
        }
        Mutation::Overwrite(i, b) if len > 0 => {
            let at = i.index(len);
            bytes[at] = *b;
            at
        }
        Mutation::Truncate(i) => {
            let at = i.index(len + 1);
            bytes.truncate(at);
            at
        }
        Mutation::Insert(i, b) => {
            let at = i.index(len + 1);
            bytes.splice(at..at, b.iter().copied());
            at
        }
        Mutation::Delete(i, n) if len > 0 => {
            let at = i.index(len);
            bytes.drain(at..(at + n).min(len));
            at
        }
        Mutation::Splice(a, f, b) => {
            let at = a.index(len + 1);
            let other = others[f.index(others.len())];
            let from = b.index(other.len() + 1);
            bytes.truncate(at);
            bytes.extend_from_slice(&other[from..]);
            at
        }
        _ => len,
    }
}

/// What one reader returned: the payloads read, and whether it stopped on
/// an error.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    payloads: Vec<Vec<u8>>,
    failed: bool,
}

/// Reads every record, decoding each, until the end or the first error.
fn drain<'a>(records: impl Iterator<Item = tfrec::Result<tfrec::Record<'a>>>) -> Outcome {
    let mut payloads = Vec::new();
    for record in records {
        match record {
            Ok(r) => {
                assert_eq!(r.index, payloads.len() as u64);
                check_decode(&r.payload);
                payloads.push(r.payload.into_owned());
            }
            Err(_) => {
                return Outcome {
                    payloads,
                    failed: true,
                }
            }
        }
    }
    Outcome {
        payloads,
        failed: false,
    }
}

/// Decodes a payload as a tensor: no panic, and what decodes re-encodes to
/// bytes that decode to the same tensor.
fn check_decode(payload: &[u8]) -> bool {
    match TensorView::decode(payload) {
        Ok(t) => {
            let again = t.to_proto_bytes();
            assert_eq!(TensorView::decode(&again).unwrap(), t);
            true
        }
        Err(_) => false,
    }
}

fn stream(bytes: &[u8]) -> (Compression, Outcome) {
    let mut reader = Reader::from_read(Cursor::new(bytes.to_vec())).unwrap();
    (reader.compression(), drain(reader.records()))
}

fn from_file(path: &Path, options: ReadOptions) -> (Compression, Outcome) {
    let mut reader = Reader::open_with(path, options).unwrap();
    (reader.compression(), drain(reader.records()))
}

/// Feeds `bytes` to every reader and checks what can be checked without
/// knowing what they hold: the readers agree on uncompressed input, and
/// verification and indexing agree with them. Returns the payloads read.
fn read_everywhere(bytes: &[u8], scratch: &Path) -> Outcome {
    let sliced = drain(SliceReader::new(bytes));
    let (compression, streamed) = stream(bytes);
    std::fs::write(scratch, bytes).unwrap();
    let (mapped_compression, mapped) = from_file(scratch, ReadOptions::default());
    let (_, unmapped) = from_file(scratch, ReadOptions::default().mmap(false));
    assert_eq!(mapped_compression, compression);
    assert_eq!(mapped, streamed);
    assert_eq!(unmapped, streamed);

    let report = verify::verify_bytes(bytes, &|_| {});
    let file_report = verify::verify_file(scratch, ReadOptions::default(), &|_| {}).unwrap();
    let scanned = index::Index::scan_bytes(bytes);
    if compression == Compression::None {
        assert_eq!(streamed, sliced);
        let all_decode = sliced
            .payloads
            .iter()
            .all(|p| TensorView::decode(p).is_ok());
        assert_eq!(report.is_ok(), !sliced.failed && all_decode);
        assert_eq!(file_report.is_ok(), report.is_ok());
        assert_eq!(file_report.records, report.records);
        if !sliced.failed {
            assert_eq!(report.records, sliced.payloads.len() as u64);
            assert_eq!(scanned.unwrap().len(), sliced.payloads.len());
        }
        sliced
    } else {
        let all_decode = streamed.payloads.iter().all(|p| check_decode(p));
        assert_eq!(file_report.is_ok(), !streamed.failed && all_decode);
        streamed
    }
}

proptest! {
    #![proptest_config(proptest_config(256))]

    /// Arbitrary bytes: as a file, as a payload, as `.npy` and as JSON.
    #[test]
    fn random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..1024)) {
        let dir = tempfile::tempdir().unwrap();
        read_everywhere(&bytes, &dir.path().join("random.tfrecord"));
        // Framed correctly, so that the payload reaches the decoder.
        let mut framed = Writer::new(Vec::new());
        framed.write_record(&bytes).unwrap();
        let framed = framed.finish().unwrap();
        let out = read_everywhere(&framed, &dir.path().join("framed.tfrecord"));
        prop_assert_eq!(out.payloads, vec![bytes.clone()]);
        check_npy(&bytes);
        check_json(&bytes);
    }

    /// Damaged files: whatever the damage, no panic, no record that was
    /// never written, and on uncompressed files every record wholly before
    /// the first damaged byte comes back.
    #[test]
    fn damaged_files(
        pick in any::<Index>(),
        mutations in prop::collection::vec(arb_mutation(), 1..4),
    ) {
        let corpus = corpus();
        let (compression, original, payloads) = &corpus.files[pick.index(corpus.files.len())];
        let others: Vec<&[u8]> = corpus.files.iter().map(|f| &f.1[..]).collect();
        let mut bytes = original.clone();
        let mut intact = bytes.len();
        for m in &mutations {
            intact = intact.min(mutate(&mut bytes, m, &others));
        }
        let dir = tempfile::tempdir().unwrap();
        let out = read_everywhere(&bytes, &dir.path().join("damaged.tfrecord"));
        for p in &out.payloads {
            prop_assert!(corpus.payloads.contains(p), "a record that was never written");
        }
        if *compression == Compression::None {
            // Records whose frames end before the first damaged byte.
            let mut end = 0;
            let whole = payloads
                .iter()
                .take_while(|p| {
                    end += p.len() + 16;
                    end <= intact
                })
                .count();
            prop_assert!(out.payloads.len() >= whole, "{} of {} intact records", out.payloads.len(), whole);
            prop_assert_eq!(&out.payloads[..whole], &payloads[..whole]);
        }
    }

    /// Damaged payloads, one at a time, straight into the decoder.
    #[test]
    fn damaged_payloads(
        pick in any::<Index>(),
        mutations in prop::collection::vec(arb_mutation(), 1..4),
    ) {
        let corpus = corpus();
        let all: Vec<&[u8]> = corpus.files.iter().flat_map(|f| f.2.iter().map(|p| &p[..])).collect();
        let mut bytes = all[pick.index(all.len())].to_vec();
        for m in &mutations {
            mutate(&mut bytes, m, &all);
        }
        check_decode(&bytes);
        let _ = Tensor::decode(&bytes);
    }

    /// Damaged `.npy` files and JSON lines.
    #[test]
    fn damaged_npy_and_json(
        pick in any::<Index>(),
        mutations in prop::collection::vec(arb_mutation(), 1..4),
    ) {
        let corpus = corpus();
        let npy_files: Vec<&[u8]> = corpus.npy.iter().map(|v| &v[..]).collect();
        let mut npy = npy_files[pick.index(npy_files.len())].to_vec();
        for m in &mutations {
            mutate(&mut npy, m, &npy_files);
        }
        check_npy(&npy);
        let lines: Vec<&[u8]> = corpus.json.iter().map(|v| &v[..]).collect();
        let mut line = lines[pick.index(lines.len())].to_vec();
        for m in &mutations {
            mutate(&mut line, m, &lines);
        }
        check_json(&line);
    }
}

/// Parses `.npy` bytes: no panic, and what parses writes back to a file
/// that parses to the same tensor.
fn check_npy(bytes: &[u8]) {
    if let Ok(t) = npy::read_npy(bytes) {
        if let Ok(again) = npy::write_npy(&t) {
            assert_eq!(npy::read_npy(&again).unwrap(), t);
        }
    }
}

/// Parses a JSON line: no panic, and what parses converts back to JSON
/// that parses to the same tensor.
fn check_json(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(t) = json::tensor_from_json_line(&text) {
        let value = serde_json::Value::Object(json::tensor_to_json(&t));
        assert_eq!(json::tensor_from_json(&value).unwrap(), t);
    }
}
