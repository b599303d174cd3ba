//! Hostile input is refused within bounded memory.
//!
//! A frame header claiming an absurd length (with a valid length CRC) fails
//! at once through every read path, with well under 1 MiB allocated; a
//! malicious `TensorProto` is an error, never a panic, and decoding anything
//! allocates at most what [`DecodeLimits`] documents for the payload's size.
//!
//! A test binary of its own, because it installs a counting global
//! allocator. Allocation counts are global, so the tests take turns.

mod common;
#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use std::path::Path;

use common::compress;
use counting_alloc::{measure, turn, Usage};
use tfrec::framing::{self, FrameCheck};
use tfrec::index::Index;
use tfrec::pipeline::Dataset;
use tfrec::proto::tensor::{decode_with, DecodeLimits};
use tfrec::{
    stats, verify, Compression, DType, ErrorKind, ReadOptions, Reader, SliceReader, Tensor,
    TensorView, Writer,
};

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

// ---------------------------------------------------------------------------
// Frame headers claiming absurd lengths.
// ---------------------------------------------------------------------------

/// Lengths no record may have; each gets a valid length CRC.
const HOSTILE_LENGTHS: [u64; 3] = [1 << 63, u64::MAX, 1 << 40];

/// A file of one valid record, then a frame header claiming `len` bytes
/// followed by a little junk.
fn hostile_file(len: u64) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    w.write_tensor(&Tensor::scalar(7u32)).unwrap();
    let mut bytes = w.finish().unwrap();
    bytes.extend_from_slice(&framing::encode_header(len));
    bytes.extend_from_slice(&[0xAB; 100]);
    bytes
}

fn is_too_large(kind: &ErrorKind, len: u64) -> bool {
    matches!(kind, ErrorKind::RecordTooLarge { length, .. } if *length == len)
}

/// Reads every record of `reader`: one good record, then the error.
fn read_all(mut reader: Reader) -> tfrec::Error {
    let mut good = 0;
    for record in reader.records() {
        match record {
            Ok(r) => {
                assert_eq!(r.decode().unwrap().to_vec::<u32>().unwrap(), [7]);
                good += 1;
            }
            Err(e) => {
                assert_eq!(good, 1);
                return e;
            }
        }
    }
    panic!("the hostile header was accepted");
}

/// Asserts that `what` failed on the hostile header with under 1 MiB
/// allocated.
fn check_refused(what: &str, len: u64, usage: Usage, kind: Option<&ErrorKind>) {
    let kind = kind.unwrap_or_else(|| panic!("{what}, length {len}: no error"));
    assert!(
        is_too_large(kind, len),
        "{what}, length {len}: unexpected error {kind:?}"
    );
    assert!(
        usage.peak < MIB && usage.total < 2 * MIB as u64,
        "{what}, length {len}: {usage:?}"
    );
}

#[test]
fn absurd_lengths_fail_at_once_in_memory() {
    let _turn = turn();
    for len in HOSTILE_LENGTHS {
        let bytes = hostile_file(len);
        let at = bytes.len() - 112;

        let (r, usage) = measure(|| framing::parse_frame(&bytes[at..], FrameCheck::default()));
        check_refused(
            "parse_frame",
            len,
            usage,
            r.err().as_ref().map(|e| e.kind()),
        );

        let (r, usage) = measure(|| SliceReader::new(&bytes).nth(1));
        let err = r.unwrap().unwrap_err();
        assert_eq!(
            (err.offset(), err.record_index()),
            (Some(at as u64), Some(1))
        );
        check_refused("SliceReader", len, usage, Some(err.kind()));

        let (report, usage) = measure(|| verify::verify_bytes(&bytes, &|_| {}));
        check_refused(
            "verify_bytes",
            len,
            usage,
            report.problems.first().map(|e| e.kind()),
        );

        let (r, usage) = measure(|| Index::scan_bytes(&bytes));
        check_refused("scan_bytes", len, usage, r.err().as_ref().map(|e| e.kind()));

        for compression in [Compression::None, Compression::Gzip, Compression::Zlib] {
            let input = compress(&bytes, compression);
            let (err, usage) =
                measure(|| read_all(Reader::from_read(std::io::Cursor::new(input)).unwrap()));
            let what = format!("Reader::from_read ({})", compression.name());
            check_refused(&what, len, usage, Some(err.kind()));
        }
    }
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn absurd_lengths_fail_at_once_in_files() {
    let _turn = turn();
    let dir = tempfile::tempdir().unwrap();
    for len in HOSTILE_LENGTHS {
        let bytes = hostile_file(len);
        let plain = write_file(dir.path(), "plain.tfrecord", &bytes);
        let gz = write_file(
            dir.path(),
            "gz.tfrecord",
            &compress(&bytes, Compression::Gzip),
        );

        for path in [&plain, &gz] {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();

            let (err, usage) = measure(|| read_all(Reader::open(path).unwrap()));
            check_refused(
                &format!("Reader::open {name}"),
                len,
                usage,
                Some(err.kind()),
            );

            let options = ReadOptions::default().mmap(false);
            let (err, usage) = measure(|| read_all(Reader::open_with(path, options).unwrap()));
            let what = format!("Reader::open_with(mmap(false)) {name}");
            check_refused(&what, len, usage, Some(err.kind()));

            for options in [ReadOptions::default(), ReadOptions::default().mmap(false)] {
                let (report, usage) =
                    measure(|| verify::verify_file(path, options, &|_| {}).unwrap());
                assert_eq!(report.problems.len(), 1, "{name}: {:?}", report.problems);
                let what = format!("verify_file {name} {options:?}");
                check_refused(&what, len, usage, Some(report.problems[0].kind()));
            }

            if path == &plain {
                // Compressed files cannot be indexed at all.
                let (r, usage) = measure(|| Index::scan_file(path));
                let what = format!("Index::scan_file {name}");
                check_refused(&what, len, usage, r.err().as_ref().map(|e| e.kind()));
            }

            let (r, usage) = measure(|| Dataset::builder().file(path).build());
            let what = format!("Dataset build {name}");
            check_refused(&what, len, usage, r.err().as_ref().map(|e| e.kind()));

            let (r, usage) = measure(|| stats::stats_file(path, &|_| {}));
            let what = format!("stats_file {name}");
            check_refused(&what, len, usage, r.err().as_ref().map(|e| e.kind()));
        }
    }
}

/// A length just under the 2 GiB limit in a tiny file is a truncated
/// record, found without allocating anything like the claimed length: the
/// stream readers reserve at most 64 KiB for a payload before its data
/// arrives, then grow with the data; memory and positioned reads need
/// nothing.
#[test]
fn lengths_under_the_limit_in_tiny_inputs_are_truncations() {
    let _turn = turn();
    let dir = tempfile::tempdir().unwrap();
    for len in [framing::DEFAULT_MAX_RECORD_LEN, 1 << 30, 100_000] {
        let bytes = hostile_file(len);
        let truncated = |kind: &ErrorKind| matches!(kind, ErrorKind::TruncatedRecord { .. });

        let (r, usage) = measure(|| SliceReader::new(&bytes).nth(1));
        assert!(truncated(r.unwrap().unwrap_err().kind()));
        assert!(usage.peak < 64 * KIB, "SliceReader {len}: {usage:?}");

        let (r, usage) = measure(|| Index::scan_bytes(&bytes));
        assert!(truncated(r.unwrap_err().kind()));
        assert!(usage.peak < 64 * KIB, "scan_bytes {len}: {usage:?}");

        let (report, usage) = measure(|| verify::verify_bytes(&bytes, &|_| {}));
        assert!(truncated(report.problems[0].kind()));
        assert!(usage.peak < MIB, "verify_bytes {len}: {usage:?}");

        let path = write_file(dir.path(), "short.tfrecord", &bytes);
        let (err, usage) = measure(|| read_all(Reader::open(&path).unwrap()));
        assert!(truncated(err.kind()));
        assert!(usage.peak < 64 * KIB, "Reader::open {len}: {usage:?}");

        let (r, usage) = measure(|| Index::scan_file(&path));
        assert!(truncated(r.unwrap_err().kind()));
        assert!(usage.peak < MIB, "Index::scan_file {len}: {usage:?}");

        let (r, usage) = measure(|| stats::stats_file(&path, &|_| {}));
        assert!(truncated(r.unwrap_err().kind()));
        assert!(usage.peak < MIB, "stats_file {len}: {usage:?}");

        for compression in [Compression::None, Compression::Gzip] {
            let input = compress(&bytes, compression);
            let (err, usage) =
                measure(|| read_all(Reader::from_read(std::io::Cursor::new(input)).unwrap()));
            assert!(truncated(err.kind()));
            let bound = MIB;
            assert!(
                usage.peak < bound,
                "from_read {} {len}: {usage:?}",
                compression.name()
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Malicious TensorProtos.
// ---------------------------------------------------------------------------

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, u64::from(field) << 3 | u64::from(wire));
}

fn len_field(out: &mut Vec<u8>, field: u32, body: &[u8]) {
    key(out, field, 2);
    varint(out, body.len() as u64);
    out.extend_from_slice(body);
}

/// `dtype` then `tensor_shape` with the given dimension sizes (as int64).
fn head(dtype: u64, dims: &[i64]) -> Vec<u8> {
    let mut shape = Vec::new();
    for &d in dims {
        let mut dim = Vec::new();
        key(&mut dim, 1, 0);
        varint(&mut dim, d as u64);
        len_field(&mut shape, 2, &dim);
    }
    let mut out = Vec::new();
    key(&mut out, 1, 0);
    varint(&mut out, dtype);
    len_field(&mut out, 2, &shape);
    out
}

const FLOAT: u64 = 1;
const STRING: u64 = 7;
const INT64: u64 = 9;
const BOOL: u64 = 10;

/// What a rejected tensor may allocate: its error.
const ERROR_ALLOWANCE: usize = 16 * KIB;

/// Decodes with the default limits, checking the documented bound.
fn decode_bounded(payload: &[u8]) -> (tfrec::Result<TensorView<'_>>, Usage) {
    let allowed = DecodeLimits::default().allowed(payload.len());
    let (result, usage) = measure(|| TensorView::decode(payload));
    assert!(
        usage.peak <= allowed + ERROR_ALLOWANCE,
        "{}-byte payload: {usage:?}, allowed {allowed}",
        payload.len()
    );
    (result, usage)
}

/// Asserts that `payload` is refused as `want` with next to nothing
/// allocated, and returns the error's reason.
fn refused(what: &str, payload: &[u8], want: fn(&ErrorKind) -> bool) -> String {
    let (result, usage) = decode_bounded(payload);
    let err = match result {
        Ok(t) => panic!("{what}: decoded to {t:?}"),
        Err(e) => e,
    };
    assert!(want(err.kind()), "{what}: {err}");
    assert!(usage.peak <= ERROR_ALLOWANCE, "{what}: {usage:?}");
    err.to_string()
}

fn invalid(kind: &ErrorKind) -> bool {
    matches!(kind, ErrorKind::InvalidTensor { .. })
}

#[test]
fn malicious_shapes_are_refused() {
    let _turn = turn();
    let reason = refused("2^40 x 2^40", &head(FLOAT, &[1 << 40, 1 << 40]), invalid);
    assert!(reason.contains("overflows"), "{reason}");
    // The product fits in u64 but not in TensorFlow's int64.
    let reason = refused("2^62 x 2", &head(STRING, &[1 << 62, 2]), invalid);
    assert!(reason.contains("overflows"), "{reason}");
    // A large count that fits: refused by the limit, not allocated.
    let reason = refused("2^40 floats", &head(FLOAT, &[1 << 40]), invalid);
    assert!(reason.contains("limit"), "{reason}");
    let reason = refused("2^40 strings", &head(STRING, &[1 << 40]), invalid);
    assert!(reason.contains("limit"), "{reason}");

    for d in [-1, -2, i64::MIN] {
        let reason = refused("negative dim", &head(FLOAT, &[3, d]), invalid);
        assert!(reason.contains("negative"), "{reason}");
    }

    let reason = refused("255 dims", &head(FLOAT, &[1; 255]), invalid);
    assert!(reason.contains("254"), "{reason}");
    // Also when the dimensions come in several `tensor_shape` fields,
    // which protobuf merges.
    let mut split = head(FLOAT, &[1; 200]);
    split.extend_from_slice(&head(FLOAT, &[1; 55])[2..]);
    refused("255 dims in two shapes", &split, invalid);
    let rank_254 = head(FLOAT, &[1; 254]);
    let (ok, _) = decode_bounded(&rank_254);
    assert_eq!(ok.unwrap().rank(), 254);
}

#[test]
fn malicious_contents_and_dtypes_are_refused() {
    let _turn = turn();
    // Content length is not elements x width.
    for (dims, content_len) in [(&[3i64][..], 11usize), (&[3], 13), (&[], 3), (&[0], 1)] {
        let mut p = head(FLOAT, dims);
        len_field(&mut p, 4, &vec![0u8; content_len]);
        let reason = refused("content length", &p, invalid);
        assert!(reason.contains("tensor_content"), "{reason}");
    }
    // A bool byte other than 0 or 1.
    for bad in [2u8, 0x80, 0xff] {
        let mut p = head(BOOL, &[4]);
        len_field(&mut p, 4, &[0, 1, bad, 0]);
        let reason = refused("bool byte", &p, invalid);
        assert!(reason.contains("not 0 or 1"), "{reason}");
    }
    // Unknown, unsupported and out-of-range dtypes.
    for code in [100u64, 11, 20, 21, 24, 1000, (-5i64) as u64] {
        let mut p = head(code, &[1]);
        len_field(&mut p, 4, &[0; 8]);
        refused("dtype", &p, |k| {
            matches!(k, ErrorKind::UnsupportedDType { .. })
        });
    }
    let unsupported = refused("dtype 100", &head(100, &[]), |k| {
        matches!(k, ErrorKind::UnsupportedDType { code: 100 })
    });
    assert!(unsupported.contains("100"), "{unsupported}");
    refused("DT_INVALID", &head(0, &[1]), invalid);
    refused("dtype 2^40", &head(1 << 40, &[1]), invalid);
}

/// `n` empty `string_val` entries after a string head with `dims`.
fn empty_strings(dims: &[i64], n: usize) -> Vec<u8> {
    let mut p = head(STRING, dims);
    p.reserve(2 * n);
    for _ in 0..n {
        p.extend_from_slice(&[0x42, 0x00]);
    }
    p
}

#[test]
fn a_million_empty_strings_for_one_element_allocate_nothing() {
    let _turn = turn();
    for dims in [&[][..], &[1], &[10], &[999_999]] {
        let p = empty_strings(dims, 1_000_000);
        let reason = refused("surplus strings", &p, invalid);
        assert!(reason.contains("1000000"), "{dims:?}: {reason}");
    }
}

/// The legitimate big case: a million empty strings for a million
/// elements decode, within the bound (a 24 MB table for a 2 MB payload).
#[test]
fn a_million_empty_strings_for_a_million_elements_decode_within_the_bound() {
    let _turn = turn();
    let p = empty_strings(&[1_000_000], 1_000_000);
    let (t, usage) = decode_bounded(&p);
    let t = t.unwrap();
    assert_eq!(t.shape(), &[1_000_000]);
    assert!(t.strings().unwrap().all(<[u8]>::is_empty));
    let table = 1_000_000 * std::mem::size_of::<std::borrow::Cow<'static, [u8]>>();
    assert!(usage.peak <= table + ERROR_ALLOWANCE, "{usage:?}");
    drop(t);

    // Fewer values repeat the last one; none at all are empty strings.
    // Both still need the table, which the payload is too small for.
    let reason = refused("table", &empty_strings(&[1_000_000], 1000), invalid);
    assert!(reason.contains("limit"), "{reason}");
    // A smaller table fits under the floor.
    let no_values = head(STRING, &[40_000]);
    let (t, usage) = decode_bounded(&no_values);
    assert_eq!(t.unwrap().strings().unwrap().len(), 40_000);
    assert!(usage.peak <= MIB + ERROR_ALLOWANCE, "{usage:?}");
}

/// String `tensor_content` holds the lengths, then the bytes: at least one
/// byte an element, so its table is at most 24 times the content.
#[test]
fn string_content_tables_are_bounded() {
    let _turn = turn();
    let mut p = head(STRING, &[1_000_000]);
    len_field(&mut p, 4, &vec![0u8; 1_000_000]);
    let (t, usage) = decode_bounded(&p);
    assert_eq!(t.unwrap().strings().unwrap().len(), 1_000_000);
    let table = 1_000_000 * std::mem::size_of::<std::borrow::Cow<'static, [u8]>>();
    assert!(usage.peak <= table + ERROR_ALLOWANCE, "{usage:?}");

    // More elements than content bytes: refused before allocating.
    let mut p = head(STRING, &[1_000_001]);
    len_field(&mut p, 4, &vec![0u8; 1_000_000]);
    refused("string content too short", &p, invalid);
    // Lengths that run past the content.
    let mut p = head(STRING, &[2]);
    len_field(&mut p, 4, &[0x05, 0xff, 0xff, 0xff, 0xff, 0x0f, b'a']);
    refused("string lengths", &p, invalid);
    let mut p = head(STRING, &[2]);
    len_field(&mut p, 4, &[0x01, 0x01, b'a', b'b', b'c']);
    let reason = refused("trailing bytes", &p, invalid);
    assert!(reason.contains("trailing"), "{reason}");
}

#[test]
fn typed_value_expansion_is_bounded_by_the_payload() {
    let _turn = turn();
    // One float repeated over a 1000 x 1000 shape: 4 MB from 20 bytes.
    let mut p = head(FLOAT, &[1000, 1000]);
    len_field(&mut p, 5, &1.5f32.to_le_bytes());
    let reason = refused("float_val expansion", &p, invalid);
    assert!(reason.contains("limit"), "{reason}");
    // No values at all would be 4 MB of zeros.
    refused("zero fill", &head(FLOAT, &[1000, 1000]), invalid);
    // The same under a raised floor.
    let raised = DecodeLimits {
        expansion_floor: 4_000_000,
        ..DecodeLimits::default()
    };
    let (t, usage) = measure(|| decode_with(&p, &raised));
    assert_eq!(t.unwrap().values::<f32>().unwrap().len(), 1_000_000);
    assert!(usage.peak <= 4_000_000 + ERROR_ALLOWANCE, "{usage:?}");

    // Exactly the floor from a tiny payload is fine.
    let mut p = head(FLOAT, &[512, 512]);
    len_field(&mut p, 5, &1.5f32.to_le_bytes());
    let (t, _) = decode_bounded(&p);
    assert!(t
        .unwrap()
        .to_vec::<f32>()
        .unwrap()
        .iter()
        .all(|&v| v == 1.5));
    // One element more is not.
    let mut p = head(FLOAT, &[512 * 512 + 1]);
    len_field(&mut p, 5, &1.5f32.to_le_bytes());
    refused("just over the floor", &p, invalid);

    // Past the floor, the bound is 32 times the payload: 40 000 packed
    // int64 values (some 120 KB) may fill up to about 3.9 MB.
    let mut values = Vec::new();
    for i in 0..40_000u64 {
        varint(&mut values, i << 14);
    }
    let mut fits = head(INT64, &[480_000]);
    len_field(&mut fits, 10, &values);
    let allowed = DecodeLimits::default().allowed(fits.len());
    // Past the floor (3.84 MB > 1 MiB), within 32 times the payload.
    assert!(480_000 * 8 <= allowed);
    let (t, _) = decode_bounded(&fits);
    assert_eq!(t.unwrap().values::<i64>().unwrap()[479_999], 39_999 << 14);
    let mut over = head(INT64, &[allowed as i64 / 4]);
    len_field(&mut over, 10, &values);
    refused("past 32 times the payload", &over, invalid);
}

#[test]
fn huge_repeated_fields_for_few_elements_are_refused() {
    let _turn = turn();
    // A million packed floats for four elements.
    let mut p = head(FLOAT, &[4]);
    len_field(&mut p, 5, &vec![0u8; 4_000_000]);
    let reason = refused("packed floats", &p, invalid);
    assert!(reason.contains("more values"), "{reason}");
    // A million unpacked int64 values for a scalar.
    let mut p = head(INT64, &[]);
    for _ in 0..1_000_000 {
        p.extend_from_slice(&[0x50, 0x01]);
    }
    refused("unpacked int64", &p, invalid);
    // A million bool values for two elements, packed.
    let mut p = head(BOOL, &[2]);
    len_field(&mut p, 11, &vec![1u8; 1_000_000]);
    refused("packed bools", &p, invalid);
}

/// `depth` length-delimited fields numbered `field`, each the only content
/// of the one around it.
fn nested_fields(field: u32, depth: usize) -> Vec<u8> {
    // Body lengths from the innermost (empty) out.
    let mut lens = vec![0usize];
    for i in 0..depth - 1 {
        let mut prefix = Vec::new();
        key(&mut prefix, field, 2);
        varint(&mut prefix, lens[i] as u64);
        lens.push(prefix.len() + lens[i]);
    }
    let mut out = Vec::new();
    for &len in lens.iter().rev() {
        key(&mut out, field, 2);
        varint(&mut out, len as u64);
    }
    out
}

/// Unknown fields are skipped without looking inside, so nesting cannot
/// exhaust the stack; groups (which need matching end markers) are refused.
#[test]
fn deep_nesting_is_not_recursed_into() {
    let _turn = turn();
    // `variant_val` (field 15) messages nested 100 000 deep.
    let nested = nested_fields(15, 100_000);
    let mut p = head(FLOAT, &[]);
    p.extend_from_slice(&nested);
    let (t, usage) = decode_bounded(&p);
    assert_eq!(t.unwrap().to_vec::<f32>().unwrap(), [0.0]);
    assert!(usage.peak <= ERROR_ALLOWANCE, "{usage:?}");
    // As a variant tensor, it is an unsupported dtype.
    let mut v = head(21, &[]);
    v.extend_from_slice(&nested);
    refused("variant", &v, |k| {
        matches!(k, ErrorKind::UnsupportedDType { code: 21 })
    });
    // Nested inside the shape's dimensions, too.
    let mut dim = Vec::new();
    len_field(&mut dim, 2, &nested);
    let mut s = Vec::new();
    key(&mut s, 1, 0);
    varint(&mut s, FLOAT);
    len_field(&mut s, 2, &dim);
    let (t, _) = decode_bounded(&s);
    assert_eq!(t.unwrap().shape(), &[0]);

    // 100 000 start-group markers.
    let mut groups = head(FLOAT, &[]);
    for _ in 0..100_000 {
        key(&mut groups, 15, 3);
    }
    let reason = refused("groups", &groups, invalid);
    assert!(reason.contains("wire type"), "{reason}");
}

/// Decoding a well-formed numeric record borrows: nothing to allocate
/// beyond the tensor itself.
#[test]
fn numeric_content_is_borrowed() {
    let _turn = turn();
    let t = Tensor::from_bytes(DType::U8, &[1 << 20], vec![3u8; 1 << 20]).unwrap();
    let bytes = t.to_proto_bytes();
    let (v, usage) = decode_bounded(&bytes);
    assert!(v.unwrap().is_borrowed());
    assert!(usage.peak < KIB, "{usage:?}");
}
