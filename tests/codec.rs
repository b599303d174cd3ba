//! The `TensorProto` codec: round trips, agreement with prost (a canonical
//! protobuf implementation), TensorFlow's typed-field rules, and hostile
//! input.

mod common;

use common::*;
use proptest::prelude::*;
use proptest::sample::Index;
use prost::Message;
use tfrec::proto::messages::{tensor_shape_proto::Dim, TensorProto, TensorShapeProto};
use tfrec::proto::tensor::{decode_with, encoded_len, DecodeLimits};
use tfrec::{DType, ErrorKind, Tensor, TensorView};

// ---------------------------------------------------------------------------
// Facts written down independently of the crate.
// ---------------------------------------------------------------------------

/// TensorFlow's `DataType` numbers and element sizes (None for strings).
fn tf_code_and_size(d: DType) -> (i32, Option<usize>) {
    match d {
        DType::F32 => (1, Some(4)),
        DType::F64 => (2, Some(8)),
        DType::I32 => (3, Some(4)),
        DType::U8 => (4, Some(1)),
        DType::I16 => (5, Some(2)),
        DType::I8 => (6, Some(1)),
        DType::String => (7, None),
        DType::Complex64 => (8, Some(8)),
        DType::I64 => (9, Some(8)),
        DType::Bool => (10, Some(1)),
        DType::BF16 => (14, Some(2)),
        DType::U16 => (17, Some(2)),
        DType::Complex128 => (18, Some(16)),
        DType::F16 => (19, Some(2)),
        DType::U32 => (22, Some(4)),
        DType::U64 => (23, Some(8)),
        other => panic!("dtype {other:?} added without updating the tests"),
    }
}

fn code(d: DType) -> i32 {
    tf_code_and_size(d).0
}

fn size(d: DType) -> Option<usize> {
    tf_code_and_size(d).1
}

fn dtype_of_code(c: i32) -> Option<DType> {
    DType::ALL.into_iter().find(|&d| code(d) == c)
}

/// Numbers per element in the typed field: complex values are (re, im).
fn per_element(d: DType) -> usize {
    match d {
        DType::Complex64 | DType::Complex128 => 2,
        _ => 1,
    }
}

/// A tensor's content, as the tests describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Content {
    Bytes(Vec<u8>),
    Strings(Vec<Vec<u8>>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Expected {
    dtype: DType,
    shape: Vec<usize>,
    content: Content,
}

fn describe(t: &TensorView<'_>) -> Expected {
    let content = match t.bytes() {
        Some(b) => Content::Bytes(b.to_vec()),
        None => Content::Strings(t.strings().unwrap().map(<[u8]>::to_vec).collect()),
    };
    Expected {
        dtype: t.dtype(),
        shape: t.shape().to_vec(),
        content,
    }
}

// ---------------------------------------------------------------------------
// Typed values: one component is a `u64` of random bits; how a dtype's typed
// field carries it and which element bytes it stands for.
// ---------------------------------------------------------------------------

/// The little-endian bytes a typed-field component stands for, following
/// TensorFlow: integers are C-cast to the element width, bools are
/// `value != 0`, half_val holds the 16-bit pattern in an int32.
fn component_bytes(d: DType, c: u64) -> Vec<u8> {
    match d {
        DType::F32 | DType::Complex64 => (c as u32).to_le_bytes().to_vec(),
        DType::F64 | DType::Complex128 => c.to_le_bytes().to_vec(),
        DType::I8 => ((c as i32) as i8).to_le_bytes().to_vec(),
        DType::I16 => ((c as i32) as i16).to_le_bytes().to_vec(),
        DType::I32 => (c as i32).to_le_bytes().to_vec(),
        DType::U8 => vec![(c as i32) as u8],
        DType::U16 | DType::F16 | DType::BF16 => ((c as i32) as u16).to_le_bytes().to_vec(),
        DType::I64 => (c as i64).to_le_bytes().to_vec(),
        DType::U32 => (c as u32).to_le_bytes().to_vec(),
        DType::U64 => c.to_le_bytes().to_vec(),
        DType::Bool => vec![u8::from(c & 1 == 1)],
        other => panic!("no numeric typed field for {other:?}"),
    }
}

/// Puts components into the prost message's typed field for `d`.
fn set_typed_field(msg: &mut TensorProto, d: DType, comps: &[u64]) {
    match d {
        DType::F32 => msg.float_val = comps.iter().map(|&c| f32::from_bits(c as u32)).collect(),
        DType::F64 => msg.double_val = comps.iter().map(|&c| f64::from_bits(c)).collect(),
        DType::I8 | DType::I16 | DType::I32 | DType::U8 | DType::U16 => {
            msg.int_val = comps.iter().map(|&c| c as i32).collect()
        }
        DType::I64 => msg.int64_val = comps.iter().map(|&c| c as i64).collect(),
        DType::U32 => msg.uint32_val = comps.iter().map(|&c| c as u32).collect(),
        DType::U64 => msg.uint64_val = comps.to_vec(),
        DType::Bool => msg.bool_val = comps.iter().map(|&c| c & 1 == 1).collect(),
        DType::F16 | DType::BF16 => msg.half_val = comps.iter().map(|&c| c as i32).collect(),
        DType::Complex64 => {
            msg.scomplex_val = comps.iter().map(|&c| f32::from_bits(c as u32)).collect()
        }
        DType::Complex128 => msg.dcomplex_val = comps.iter().map(|&c| f64::from_bits(c)).collect(),
        other => panic!("no numeric typed field for {other:?}"),
    }
}

/// The typed field's number and how one component is written on the wire.
fn typed_field_number(d: DType) -> u32 {
    match d {
        DType::F32 => 5,
        DType::F64 => 6,
        DType::I8 | DType::I16 | DType::I32 | DType::U8 | DType::U16 => 7,
        DType::String => 8,
        DType::Complex64 => 9,
        DType::I64 => 10,
        DType::Bool => 11,
        DType::Complex128 => 12,
        DType::F16 | DType::BF16 => 13,
        DType::U32 => 16,
        DType::U64 => 17,
        other => panic!("no typed field for {other:?}"),
    }
}

/// Wire type and value bytes of one component, as protobuf encodes the
/// field's declared type (int32 negatives sign-extend to 10-byte varints).
fn component_wire(d: DType, c: u64) -> (u8, Vec<u8>) {
    match d {
        DType::F32 | DType::Complex64 => (FIXED32, (c as u32).to_le_bytes().to_vec()),
        DType::F64 | DType::Complex128 => (FIXED64, c.to_le_bytes().to_vec()),
        DType::I8 | DType::I16 | DType::I32 | DType::U8 | DType::U16 | DType::F16 | DType::BF16 => {
            (VARINT, varint((c as i32) as i64 as u64))
        }
        DType::I64 | DType::U64 => (VARINT, varint(c)),
        DType::U32 => (VARINT, varint(u64::from(c as u32))),
        DType::Bool => (VARINT, varint(c & 1)),
        other => panic!("no numeric typed field for {other:?}"),
    }
}

/// One tag per value.
fn unpacked(d: DType, comps: &[u64]) -> Vec<u8> {
    let field = typed_field_number(d);
    let mut out = Vec::new();
    for &c in comps {
        let (wire_type, bytes) = component_wire(d, c);
        out.extend(key(field, wire_type));
        out.extend(bytes);
    }
    out
}

/// All values in one length-delimited run.
fn packed(d: DType, comps: &[u64]) -> Vec<u8> {
    let body: Vec<u8> = comps.iter().flat_map(|&c| component_wire(d, c).1).collect();
    len_field(typed_field_number(d), &body)
}

/// How the typed values of a test proto are laid out on the wire.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// prost's own (packed) encoding.
    Prost,
    /// One tag per value, written by hand.
    Unpacked,
    /// A packed run, then single values, then another packed run.
    Split,
}

/// What TensorFlow's rule makes of `k` typed values for `n` elements:
/// exactly n are taken, fewer are padded by repeating the last, none means
/// zeros; more is an error for this crate.
fn expected_elements<T: Clone>(values: &[T], n: usize, zero: T) -> Option<Vec<T>> {
    if values.len() > n {
        return None;
    }
    let last = values.last().cloned().unwrap_or(zero);
    let mut out = values.to_vec();
    out.resize(n, last);
    Some(out)
}

fn expected_numeric(d: DType, comps: &[u64], n: usize) -> Option<Vec<u8>> {
    let per = per_element(d);
    assert_eq!(comps.len() % per, 0);
    let elements: Vec<Vec<u8>> = comps
        .chunks(per)
        .map(|e| e.iter().flat_map(|&c| component_bytes(d, c)).collect())
        .collect();
    let zero = vec![0u8; size(d).unwrap()];
    expected_elements(&elements, n, zero).map(|e| e.concat())
}

/// An independent decoder working from prost's parse of a payload, applying
/// the rules the crate documents: TensorFlow's, except that more typed
/// values than elements is an error.
fn model_decode(msg: &TensorProto, max_expanded: usize) -> Option<Expected> {
    let dtype = dtype_of_code(msg.dtype)?;
    let mut shape = Vec::new();
    if let Some(s) = &msg.tensor_shape {
        // `unknown_rank` is ignored in favour of the dimensions given.
        if s.dim.len() > 254 {
            return None;
        }
        for d in &s.dim {
            shape.push(usize::try_from(d.size).ok()?);
        }
    }
    let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))?;
    let content = match size(dtype) {
        Some(sz) => {
            let nbytes = n.checked_mul(sz)?;
            if !msg.tensor_content.is_empty() {
                if msg.tensor_content.len() != nbytes {
                    return None;
                }
                if dtype == DType::Bool && msg.tensor_content.iter().any(|&b| b > 1) {
                    return None;
                }
                Content::Bytes(msg.tensor_content.clone())
            } else {
                if nbytes > max_expanded {
                    return None;
                }
                let mut comps: Vec<u64> = match dtype {
                    DType::F32 => msg
                        .float_val
                        .iter()
                        .map(|v| u64::from(v.to_bits()))
                        .collect(),
                    DType::F64 => msg.double_val.iter().map(|v| v.to_bits()).collect(),
                    DType::I8 | DType::I16 | DType::I32 | DType::U8 | DType::U16 => {
                        msg.int_val.iter().map(|&v| v as u32 as u64).collect()
                    }
                    DType::I64 => msg.int64_val.iter().map(|&v| v as u64).collect(),
                    DType::U32 => msg.uint32_val.iter().map(|&v| u64::from(v)).collect(),
                    DType::U64 => msg.uint64_val.clone(),
                    DType::Bool => msg.bool_val.iter().map(|&v| u64::from(v)).collect(),
                    DType::F16 | DType::BF16 => {
                        msg.half_val.iter().map(|&v| v as u32 as u64).collect()
                    }
                    DType::Complex64 => msg
                        .scomplex_val
                        .iter()
                        .map(|v| u64::from(v.to_bits()))
                        .collect(),
                    DType::Complex128 => msg.dcomplex_val.iter().map(|v| v.to_bits()).collect(),
                    _ => unreachable!(),
                };
                // Complex values are whole (re, im) pairs; a lone last
                // number is ignored.
                comps.truncate(comps.len() - comps.len() % per_element(dtype));
                Content::Bytes(expected_numeric(dtype, &comps, n)?)
            }
        }
        None => {
            if !msg.tensor_content.is_empty() {
                if n.checked_mul(24)? > max_expanded {
                    return None;
                }
                Content::Strings(parse_string_content(&msg.tensor_content, n)?)
            } else {
                if n.checked_mul(24)? > max_expanded {
                    return None;
                }
                Content::Strings(expected_elements(&msg.string_val, n, Vec::new())?)
            }
        }
    };
    Some(Expected {
        dtype,
        shape,
        content,
    })
}

/// TensorFlow's string `tensor_content`: n varint lengths, then the bytes.
fn parse_string_content(content: &[u8], n: usize) -> Option<Vec<Vec<u8>>> {
    let mut pos = 0usize;
    let mut lens = Vec::new();
    for _ in 0..n {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = *content.get(pos)?;
            pos += 1;
            if shift == 63 && b > 1 {
                return None;
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                break;
            }
            shift += 7;
            if shift > 63 {
                return None;
            }
        }
        lens.push(v);
    }
    let mut out = Vec::new();
    for len in lens {
        let end = pos.checked_add(usize::try_from(len).ok()?)?;
        out.push(content.get(pos..end)?.to_vec());
        pos = end;
    }
    (pos == content.len()).then_some(out)
}

fn shape_proto(dims: &[usize]) -> TensorShapeProto {
    TensorShapeProto {
        dim: dims
            .iter()
            .map(|&d| Dim {
                size: d as i64,
                name: String::new(),
            })
            .collect(),
        unknown_rank: false,
    }
}

fn head_msg(d: DType, dims: &[usize]) -> TensorProto {
    TensorProto {
        dtype: code(d),
        tensor_shape: Some(shape_proto(dims)),
        ..Default::default()
    }
}

fn invalid_tensor(result: tfrec::Result<TensorView<'_>>) -> String {
    match result {
        Ok(t) => panic!("decoded {t:?}, expected an invalid tensor error"),
        Err(e) => match e.kind() {
            ErrorKind::InvalidTensor { reason } => reason.clone(),
            other => panic!("expected InvalidTensor, got {other:?} ({e})"),
        },
    }
}

// ---------------------------------------------------------------------------
// Strategies.
// ---------------------------------------------------------------------------

fn arb_dtype() -> impl Strategy<Value = DType> {
    prop::sample::select(DType::ALL.to_vec())
}

fn arb_string() -> impl Strategy<Value = Vec<u8>> {
    // NUL bytes and the bytes around UTF-8 boundaries are overrepresented.
    prop::collection::vec(
        prop_oneof![Just(0u8), Just(0x80u8), Just(0xffu8), any::<u8>()],
        0..8,
    )
}

/// A tensor of any dtype, rank 0 to 5, dimensions 0 to 3.
fn arb_tensor() -> impl Strategy<Value = Tensor> {
    (arb_dtype(), prop::collection::vec(0usize..4, 0..=5)).prop_flat_map(|(dtype, shape)| {
        let n: usize = shape.iter().product();
        match size(dtype) {
            None => prop::collection::vec(arb_string(), n)
                .prop_map(move |s| Tensor::from_strings(&s, &shape).unwrap())
                .boxed(),
            Some(_) if dtype == DType::Bool => prop::collection::vec(0u8..=1, n)
                .prop_map(move |b| Tensor::from_bytes(DType::Bool, &shape, b).unwrap())
                .boxed(),
            Some(sz) => prop::collection::vec(any::<u8>(), n * sz)
                .prop_map(move |b| Tensor::from_bytes(dtype, &shape, b).unwrap())
                .boxed(),
        }
    })
}

/// A component: random bits, with small and boundary values mixed in.
fn arb_component() -> impl Strategy<Value = u64> {
    prop_oneof![
        any::<u64>(),
        0u64..300,
        Just(u64::MAX),
        Just(1u64 << 63),
        Just(0x7fc0_0001u64),
    ]
}

/// (dtype, shape, number of values) for typed-field tests: the count is
/// biased towards 0, 1, n and n + 1.
fn arb_typed_case() -> impl Strategy<Value = (DType, Vec<usize>, usize)> {
    (
        arb_dtype(),
        prop::collection::vec(0usize..4, 0..=3),
        0usize..6,
        any::<Index>(),
    )
        .prop_map(|(d, shape, pick, idx)| {
            let n: usize = shape.iter().product();
            let k = match pick {
                0 => 0,
                1 => 1,
                2 => n,
                3 => n + 1,
                _ => idx.index(n + 3),
            };
            (d, shape, k)
        })
}

// ---------------------------------------------------------------------------
// Round trips.
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(proptest_config(400))]

    /// Encoding then decoding gives the same tensor, the length is predicted
    /// exactly, and prost reads the same message and re-encodes it to the
    /// same bytes (so field order and the always-present shape match a
    /// canonical encoder).
    #[test]
    fn round_trip_agrees_with_prost(t in arb_tensor()) {
        let bytes = t.to_proto_bytes();
        prop_assert_eq!(encoded_len(&t), bytes.len());
        let mut appended = vec![0xA5u8];
        t.encode(&mut appended);
        prop_assert_eq!(&appended[1..], &bytes[..]);

        let view = TensorView::decode(&bytes).unwrap();
        prop_assert_eq!(&view, &*t);
        prop_assert_eq!(encoded_len(&view), bytes.len());
        if t.dtype() != DType::String && t.num_elements() > 0 {
            prop_assert!(view.is_borrowed());
        }
        prop_assert_eq!(&Tensor::decode(&bytes).unwrap(), &t);

        let msg = TensorProto::decode(&bytes[..]).unwrap();
        prop_assert_eq!(msg.dtype, code(t.dtype()));
        let shape = msg.tensor_shape.clone().expect("tensor_shape is always written");
        prop_assert!(!shape.unknown_rank);
        let dims: Vec<i64> = shape.dim.iter().map(|d| d.size).collect();
        let want: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
        prop_assert_eq!(dims, want);
        prop_assert!(shape.dim.iter().all(|d| d.name.is_empty()));
        match t.bytes() {
            Some(b) => {
                prop_assert_eq!(&msg.tensor_content, b);
                prop_assert!(msg.string_val.is_empty());
            }
            None => {
                prop_assert!(msg.tensor_content.is_empty());
                let strings: Vec<Vec<u8>> = t.strings().unwrap().map(<[u8]>::to_vec).collect();
                prop_assert_eq!(&msg.string_val, &strings);
            }
        }
        prop_assert_eq!(msg.version_number, 0);
        prop_assert!(msg.float_val.is_empty() && msg.double_val.is_empty() && msg.int_val.is_empty());
        prop_assert!(msg.int64_val.is_empty() && msg.bool_val.is_empty() && msg.half_val.is_empty());
        prop_assert!(msg.scomplex_val.is_empty() && msg.dcomplex_val.is_empty());
        prop_assert!(msg.uint32_val.is_empty() && msg.uint64_val.is_empty());
        prop_assert_eq!(msg.encode_to_vec(), bytes);
    }

    /// Typed `*_val` fields, packed, unpacked or mixed: the decoder applies
    /// the repeat-the-last-value and zero-fill rules and rejects surplus
    /// values, exactly as computed here.
    #[test]
    fn typed_fields_follow_the_rules(
        (dtype, shape, k) in arb_typed_case(),
        comps in prop::collection::vec(arb_component(), 0..32),
        strings in prop::collection::vec(arb_string(), 0..16),
        layout in prop_oneof![Just(Layout::Prost), Just(Layout::Unpacked), Just(Layout::Split)],
        lone in any::<bool>(),
    ) {
        let n: usize = shape.iter().product();
        let mut msg = head_msg(dtype, &shape);
        let head = msg.encode_to_vec();
        let (payload, expected) = if dtype == DType::String {
            let values: Vec<Vec<u8>> = strings.iter().cycle().take(k).cloned().collect();
            msg.string_val = values.clone();
            let hand: Vec<u8> = values.iter().flat_map(|s| len_field(8, s)).collect();
            let payload = match layout {
                Layout::Prost => msg.encode_to_vec(),
                Layout::Unpacked | Layout::Split => [head.clone(), hand].concat(),
            };
            let expected = expected_elements(&values, n, Vec::new()).map(Content::Strings);
            (payload, expected)
        } else {
            let per = per_element(dtype);
            let mut values: Vec<u64> = comps.iter().chain(std::iter::repeat(&7)).take(k * per).copied().collect();
            let expected = expected_numeric(dtype, &values, n).map(Content::Bytes);
            // A lone trailing component of a complex value is ignored, also
            // when the whole pairs already fill the tensor (k == n).
            if per == 2 && lone {
                values.push(0x4040_4040);
            }
            set_typed_field(&mut msg, dtype, &values);
            let payload = match layout {
                Layout::Prost => msg.encode_to_vec(),
                Layout::Unpacked => [head.clone(), unpacked(dtype, &values)].concat(),
                Layout::Split => {
                    let (a, rest) = values.split_at(values.len() / 3);
                    let (b, c) = rest.split_at(rest.len() / 2);
                    [head.clone(), packed(dtype, a), unpacked(dtype, b), packed(dtype, c)].concat()
                }
            };
            (payload, expected)
        };

        // The hand-written encodings mean the same message to prost.
        let reparsed = TensorProto::decode(&payload[..]).unwrap();
        prop_assert_eq!(reparsed.encode_to_vec(), msg.encode_to_vec());
        let limit = DecodeLimits::default().allowed(payload.len());
        let modelled = model_decode(&reparsed, limit).map(|e| e.content);
        prop_assert_eq!(&modelled, &expected);

        match (TensorView::decode(&payload), expected) {
            (Ok(t), Some(content)) => {
                prop_assert_eq!(describe(&t), Expected { dtype, shape: shape.clone(), content });
                prop_assert!(!t.is_borrowed());
            }
            (Err(e), None) => {
                prop_assert!(matches!(e.kind(), ErrorKind::InvalidTensor { .. }), "{}", e);
            }
            (got, want) => {
                prop_assert!(false, "k={} n={} layout={:?}: got {:?}, want {:?}", k, n, layout, got.map(|t| describe(&t)), want);
            }
        }
    }
}

/// A fixed table per dtype, mirroring what `typed_fields.tfrecord` holds:
/// exact count, scalar, fewer, one value, none, none for a scalar, none for
/// zero elements, and one value too many.
#[test]
fn typed_fields_fixed_cases_for_every_dtype() {
    let cases: [(&[usize], usize, bool); 9] = [
        (&[3], 3, true),
        (&[], 1, true),
        (&[2, 3], 3, true),
        (&[4], 1, true),
        (&[2, 2], 0, true),
        (&[], 0, true),
        (&[0], 0, true),
        (&[3], 4, false),
        (&[], 2, false),
    ];
    let comps = [
        0x3fc0_0000u64,
        0xbe80_0000,
        0x7f80_0000,
        0x1234_5678,
        0xdead_beef,
        3,
        1,
        0,
    ];
    let strings: [&[u8]; 4] = [b"first", b"", b"\0last\xff", b"x"];
    for dtype in DType::ALL {
        for &(shape, k, ok) in &cases {
            let n: usize = shape.iter().product();
            let mut msg = head_msg(dtype, shape);
            let expected = if dtype == DType::String {
                msg.string_val = strings[..k].iter().map(|s| s.to_vec()).collect();
                let mut want: Vec<Vec<u8>> = msg.string_val.clone();
                let last = want.last().cloned().unwrap_or_default();
                want.resize(n, last);
                Content::Strings(want)
            } else {
                let per = per_element(dtype);
                let values = &comps[..k * per];
                set_typed_field(&mut msg, dtype, values);
                let elem_size = size(dtype).unwrap();
                let mut want: Vec<u8> = values
                    .iter()
                    .flat_map(|&c| component_bytes(dtype, c))
                    .collect();
                let last = if k == 0 {
                    vec![0u8; elem_size]
                } else {
                    want[want.len() - elem_size..].to_vec()
                };
                while want.len() < n * elem_size {
                    want.extend_from_slice(&last);
                }
                Content::Bytes(want)
            };
            let payload = msg.encode_to_vec();
            let result = TensorView::decode(&payload);
            if ok {
                let t = result.unwrap_or_else(|e| panic!("{dtype} {shape:?} k={k}: {e}"));
                assert_eq!(
                    describe(&t),
                    Expected {
                        dtype,
                        shape: shape.to_vec(),
                        content: expected
                    },
                    "{dtype} {shape:?} k={k}"
                );
            } else {
                invalid_tensor(result);
            }
        }
    }
}

/// The same rules spelled out with literal values.
#[test]
fn typed_fields_literal_values() {
    let mut msg = head_msg(DType::F32, &[2, 3]);
    msg.float_val = vec![1.5, -0.25, f32::INFINITY];
    let payload = msg.encode_to_vec();
    let t = TensorView::decode(&payload).unwrap();
    assert_eq!(
        t.to_vec::<f32>().unwrap(),
        [
            1.5,
            -0.25,
            f32::INFINITY,
            f32::INFINITY,
            f32::INFINITY,
            f32::INFINITY
        ]
    );

    let mut msg = head_msg(DType::I8, &[3]);
    msg.int_val = vec![-128, 127, -1];
    let payload = msg.encode_to_vec();
    assert_eq!(
        TensorView::decode(&payload)
            .unwrap()
            .to_vec::<i8>()
            .unwrap(),
        [-128, 127, -1]
    );

    // Out-of-range int_val keeps the low bits, as TensorFlow's C cast does.
    let mut msg = head_msg(DType::U16, &[3]);
    msg.int_val = vec![-1, 65536 + 5, 300];
    let payload = msg.encode_to_vec();
    assert_eq!(
        TensorView::decode(&payload)
            .unwrap()
            .to_vec::<u16>()
            .unwrap(),
        [65535, 5, 300]
    );

    let mut msg = head_msg(DType::Bool, &[4]);
    msg.bool_val = vec![true, false];
    let payload = msg.encode_to_vec();
    assert_eq!(
        TensorView::decode(&payload).unwrap().to_bools().unwrap(),
        [true, false, false, false]
    );

    let mut msg = head_msg(DType::BF16, &[2]);
    msg.half_val = vec![0x3f80];
    let payload = msg.encode_to_vec();
    assert_eq!(
        TensorView::decode(&payload)
            .unwrap()
            .to_vec::<tfrec::bf16>()
            .unwrap(),
        [tfrec::bf16::from_f32(1.0); 2]
    );

    let mut msg = head_msg(DType::Complex64, &[3]);
    msg.scomplex_val = vec![1.0, 2.0, -3.0, 4.0];
    let payload = msg.encode_to_vec();
    assert_eq!(
        TensorView::decode(&payload)
            .unwrap()
            .to_vec::<tfrec::Complex32>()
            .unwrap(),
        [
            tfrec::Complex32::new(1.0, 2.0),
            tfrec::Complex32::new(-3.0, 4.0),
            tfrec::Complex32::new(-3.0, 4.0)
        ]
    );

    let mut msg = head_msg(DType::Complex128, &[2, 2]);
    msg.dcomplex_val = vec![];
    let payload = msg.encode_to_vec();
    assert_eq!(
        TensorView::decode(&payload)
            .unwrap()
            .to_vec::<tfrec::Complex64>()
            .unwrap(),
        [tfrec::Complex64::new(0.0, 0.0); 4]
    );

    let mut msg = head_msg(DType::String, &[2, 2]);
    msg.string_val = vec![b"a".to_vec(), b"\0".to_vec()];
    let payload = msg.encode_to_vec();
    let t = TensorView::decode(&payload).unwrap();
    let got: Vec<&[u8]> = t.strings().unwrap().collect();
    assert_eq!(got, [b"a".as_slice(), b"\0", b"\0", b"\0"]);
}

/// Complex values come in (re, im) pairs; like TensorFlow, a lone last
/// number is ignored.
#[test]
fn a_lone_complex_component_is_ignored() {
    let mut msg = head_msg(DType::Complex64, &[2]);
    msg.scomplex_val = vec![1.0, 2.0, 3.0];
    let t = Tensor::decode(&msg.encode_to_vec()).unwrap();
    assert_eq!(
        t.to_vec::<tfrec::Complex32>().unwrap(),
        [tfrec::Complex32::new(1.0, 2.0); 2]
    );
    let mut msg = head_msg(DType::Complex128, &[2]);
    msg.dcomplex_val = vec![1.0];
    let t = Tensor::decode(&msg.encode_to_vec()).unwrap();
    assert_eq!(
        t.to_vec::<tfrec::Complex64>().unwrap(),
        [tfrec::Complex64::new(0.0, 0.0); 2]
    );
    // One pair too many is still too many.
    let mut msg = head_msg(DType::Complex64, &[1]);
    msg.scomplex_val = vec![1.0, 2.0, 3.0, 4.0];
    invalid_tensor(TensorView::decode(&msg.encode_to_vec()));
}

/// The lone last number is ignored even when the whole pairs already fill
/// the tensor: three floats for one complex64 element are one (re, im) pair
/// for one element, which TensorFlow decodes as `[1+2i]`, not "more values
/// than elements". Likewise one float for a zero-element complex tensor.
/// (A decoder that counts the lone number against the tensor's capacity
/// before dropping it fails here.)
#[test]
fn lone_complex_component_is_ignored_even_when_the_pairs_fill_the_tensor() {
    let cases: [(&[usize], Vec<f32>, Vec<tfrec::Complex32>); 3] = [
        (
            &[1],
            vec![1.0, 2.0, 3.0],
            vec![tfrec::Complex32::new(1.0, 2.0)],
        ),
        (
            &[],
            vec![1.0, 2.0, 3.0],
            vec![tfrec::Complex32::new(1.0, 2.0)],
        ),
        (&[0], vec![5.0], vec![]),
    ];
    for (shape, values, want) in cases {
        let mut msg = head_msg(DType::Complex64, shape);
        msg.scomplex_val = values.clone();
        let payload = msg.encode_to_vec();
        match TensorView::decode(&payload) {
            Ok(t) => assert_eq!(
                t.to_vec::<tfrec::Complex32>().unwrap(),
                want,
                "{shape:?} {values:?}"
            ),
            Err(e) => panic!("shape {shape:?}, scomplex_val {values:?}: {e}"),
        }
    }
    let mut msg = head_msg(DType::Complex128, &[1]);
    msg.dcomplex_val = vec![1.0, 2.0, 3.0];
    let payload = msg.encode_to_vec();
    let t = TensorView::decode(&payload)
        .unwrap_or_else(|e| panic!("dcomplex_val [1, 2, 3] for [1]: {e}"));
    assert_eq!(
        t.to_vec::<tfrec::Complex64>().unwrap(),
        [tfrec::Complex64::new(1.0, 2.0)]
    );
}

/// `tensor_content` wins over typed values, and a field that belongs to
/// another dtype is ignored.
#[test]
fn content_wins_and_foreign_fields_are_ignored() {
    let mut msg = head_msg(DType::I32, &[1]);
    msg.tensor_content = 9i32.to_le_bytes().to_vec();
    msg.int_val = vec![5];
    let payload = msg.encode_to_vec();
    let t = TensorView::decode(&payload).unwrap();
    assert!(t.is_borrowed());
    assert_eq!(t.to_vec::<i32>().unwrap(), [9]);

    let mut msg = head_msg(DType::F32, &[2]);
    msg.int_val = vec![1, 2];
    msg.double_val = vec![3.0];
    let payload = msg.encode_to_vec();
    assert_eq!(
        TensorView::decode(&payload)
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        [0.0, 0.0]
    );
}

/// String tensors may also come as `tensor_content`: all lengths as
/// varints, then all the bytes.
#[test]
fn string_tensor_content() {
    let mut msg = head_msg(DType::String, &[3]);
    msg.tensor_content = [&[1u8, 0, 200, 1][..], b"a", &[7u8; 200]].concat();
    let payload = msg.encode_to_vec();
    let t = TensorView::decode(&payload).unwrap();
    let got: Vec<&[u8]> = t.strings().unwrap().collect();
    assert_eq!(got, [b"a".as_slice(), b"", &[7u8; 200][..]]);

    for bad in [
        &[1u8, 2, b'a', b'b'][..],
        &[1, 1, b'a'],
        &[2, 1, b'a', b'b', b'c', b'd'],
        &[0x80],
    ] {
        msg.tensor_content = bad.to_vec();
        invalid_tensor(TensorView::decode(&msg.encode_to_vec()));
    }
}

// ---------------------------------------------------------------------------
// Hostile input.
// ---------------------------------------------------------------------------

#[test]
fn dimensions_whose_product_overflows() {
    let huge = 1i64 << 40;
    for dtype in [DType::F32, DType::U8, DType::String] {
        let payload = proto_head(i64::from(code(dtype)), &[huge, huge]);
        let reason = invalid_tensor(TensorView::decode(&payload));
        assert!(reason.contains("overflow"), "{reason}");
    }
    // With content, too.
    let mut payload = proto_head(4, &[huge, huge]);
    payload.extend(len_field(4, &[1, 2, 3]));
    invalid_tensor(TensorView::decode(&payload));
}

#[test]
fn negative_dimension() {
    for size in [-1i64, i64::MIN] {
        let msg = TensorProto {
            dtype: 1,
            tensor_shape: Some(TensorShapeProto {
                dim: vec![Dim {
                    size,
                    name: String::new(),
                }],
                unknown_rank: false,
            }),
            ..Default::default()
        };
        let reason = invalid_tensor(TensorView::decode(&msg.encode_to_vec()));
        assert!(reason.contains("negative"), "{reason}");
    }
}

#[test]
fn rank_limit_is_254() {
    let mut at_limit = proto_head(4, &[1; 254]);
    at_limit.extend(len_field(4, &[7]));
    let t = TensorView::decode(&at_limit).unwrap();
    assert_eq!(t.rank(), 254);
    assert_eq!(t.to_vec::<u8>().unwrap(), [7]);

    let mut over = proto_head(4, &[1; 255]);
    over.extend(len_field(4, &[7]));
    invalid_tensor(TensorView::decode(&over));
    assert!(TensorView::new(DType::U8, &[1; 255], &[7u8][..]).is_err());
}

/// Like TensorFlow, `unknown_rank` gives way to the dimensions present.
#[test]
fn unknown_rank_is_ignored() {
    for dims in [vec![], vec![2usize]] {
        let mut shape = shape_proto(&dims);
        shape.unknown_rank = true;
        let msg = TensorProto {
            dtype: 1,
            tensor_shape: Some(shape),
            float_val: vec![4.0],
            ..Default::default()
        };
        let t = Tensor::decode(&msg.encode_to_vec()).unwrap();
        assert_eq!(t.shape(), &dims[..]);
        assert_eq!(t.to_vec::<f32>().unwrap(), vec![4.0; dims.iter().product()]);
    }
}

#[test]
fn content_length_must_match_the_shape() {
    for (dtype, dims, len) in [
        (DType::F32, [3usize].as_slice(), 8usize),
        (DType::F32, &[3], 16),
        (DType::F32, &[2], 6),
        (DType::Complex128, &[1], 8),
        (DType::U8, &[0], 1),
        (DType::I16, &[], 1),
    ] {
        let mut msg = head_msg(dtype, dims);
        msg.tensor_content = vec![0; len];
        let reason = invalid_tensor(TensorView::decode(&msg.encode_to_vec()));
        assert!(
            reason.contains("tensor_content"),
            "{dtype} {dims:?} {len}: {reason}"
        );
    }
}

#[test]
fn unsupported_and_invalid_dtypes() {
    for c in [99i32, 11, 12, 13, 15, 16, 20, 21, 24, 25, 29, 30, -1, 101] {
        let mut msg = head_msg(DType::F32, &[1]);
        msg.dtype = c;
        msg.tensor_content = vec![0; 4];
        let err = TensorView::decode(&msg.encode_to_vec()).unwrap_err();
        assert_eq!(
            err.kind(),
            &ErrorKind::UnsupportedDType { code: c },
            "{err}"
        );
    }
    // DT_INVALID, explicitly and by omission.
    let mut explicit = varint_field(1, 0);
    explicit.extend(len_field(2, &[]));
    for payload in [explicit, len_field(2, &[]), Vec::new()] {
        let reason = invalid_tensor(TensorView::decode(&payload));
        assert!(reason.contains("DT_INVALID"), "{reason}");
    }
}

#[test]
fn bool_bytes_must_be_zero_or_one() {
    for bad in [2u8, 0xff] {
        let mut msg = head_msg(DType::Bool, &[3]);
        msg.tensor_content = vec![1, 0, bad];
        invalid_tensor(TensorView::decode(&msg.encode_to_vec()));
    }
    assert!(TensorView::new(DType::Bool, &[1], &[2u8][..]).is_err());
}

#[test]
fn a_million_empty_strings() {
    let mut values = Vec::with_capacity(2_000_000);
    for _ in 0..1_000_000 {
        values.extend_from_slice(&[0x42, 0x00]);
    }
    let too_few_elements = [proto_head(7, &[10]), values.clone()].concat();
    let reason = invalid_tensor(TensorView::decode(&too_few_elements));
    assert!(reason.contains("1000000"), "{reason}");

    let exact = [proto_head(7, &[1_000_000]), values].concat();
    let t = TensorView::decode(&exact).unwrap();
    assert_eq!(t.shape(), &[1_000_000]);
    let strings = t.strings().unwrap();
    assert_eq!(strings.len(), 1_000_000);
    assert!(t.strings().unwrap().all(<[u8]>::is_empty));
}

/// One typed value for 2^31 floats would expand to 8 GiB: the default limit
/// refuses before allocating.
#[test]
fn expansion_of_typed_values_is_bounded() {
    let mut payload = proto_head(1, &[1 << 31]);
    payload.extend(len_field(5, &1.0f32.to_le_bytes()));
    let reason = invalid_tensor(TensorView::decode(&payload));
    assert!(reason.contains("limit"), "{reason}");

    // No values at all would mean 8 GiB of zeros: refused too.
    invalid_tensor(TensorView::decode(&proto_head(1, &[1 << 31])));
    // So is a string table that large.
    invalid_tensor(TensorView::decode(&proto_head(7, &[1 << 40])));

    // The limit is exactly what `DecodeLimits` says.
    let mut small = proto_head(1, &[1000]);
    small.extend(len_field(5, &2.0f32.to_le_bytes()));
    let exact = DecodeLimits::fixed(4000);
    assert_eq!(
        decode_with(&small, &exact)
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        vec![2.0; 1000]
    );
    let short = DecodeLimits::fixed(3999);
    invalid_tensor(decode_with(&small, &short));

    // tensor_content is already in memory, so the limit does not apply.
    let mut content = proto_head(1, &[1000]);
    content.extend(len_field(4, &[0u8; 4000]));
    assert!(decode_with(&content, &DecodeLimits::fixed(0)).is_ok());
}

#[test]
fn malformed_wire_data() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated varint", vec![0x08, 0x81]),
        (
            "length past the end",
            [proto_head(1, &[1]), vec![0x22, 0x05, 0, 0]].concat(),
        ),
        (
            "group wire type",
            [proto_head(1, &[1]), vec![0x23]].concat(),
        ),
        ("wire type 7", [proto_head(1, &[1]), vec![0x27]].concat()),
        ("field number 0", vec![0x00, 0x01]),
        (
            "11-byte varint",
            [vec![0x08], vec![0xff; 10], vec![0x01]].concat(),
        ),
        (
            "truncated fixed32",
            [proto_head(1, &[1]), key(5, FIXED32), vec![0, 0]].concat(),
        ),
        (
            "packed fixed32 of 3 bytes",
            [proto_head(1, &[1]), len_field(5, &[0, 0, 0])].concat(),
        ),
        (
            "packed fixed64 of 4 bytes",
            [proto_head(2, &[1]), len_field(6, &[0; 4])].concat(),
        ),
        (
            "packed varint cut short",
            [proto_head(3, &[1]), len_field(7, &[0x80])].concat(),
        ),
        (
            "malformed shape message",
            [varint_field(1, 1), len_field(2, &[0x12, 0x05])].concat(),
        ),
        (
            "malformed dim message",
            [varint_field(1, 1), len_field(2, &len_field(2, &[0x08]))].concat(),
        ),
        (
            "dtype out of i32 range",
            [varint_field(1, 1 << 40), len_field(2, &[])].concat(),
        ),
    ];
    for (what, payload) in cases {
        let err = TensorView::decode(&payload).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::InvalidTensor { .. }),
            "{what}: {err}"
        );
    }
}

/// Like protobuf (and so TensorFlow), a known field with an unexpected wire
/// type is skipped as if unknown.
#[test]
fn fields_with_the_wrong_wire_type_are_skipped() {
    let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    /// (what, payload, dtype, shape, element bytes)
    type Case = (&'static str, Vec<u8>, DType, Vec<usize>, Vec<u8>);
    let cases: Vec<Case> = vec![
        (
            "dtype as bytes, then a good dtype",
            [
                len_field(1, &[3]),
                varint_field(1, 1),
                len_field(2, &[]),
                len_field(5, &f32s(&[4.0])),
            ]
            .concat(),
            DType::F32,
            vec![],
            f32s(&[4.0]),
        ),
        (
            "shape as a varint",
            [
                varint_field(1, 1),
                varint_field(2, 7),
                len_field(5, &f32s(&[4.0])),
            ]
            .concat(),
            DType::F32,
            vec![],
            f32s(&[4.0]),
        ),
        (
            "dim as a varint",
            [
                varint_field(1, 1),
                len_field(2, &[shape_body(&[2]), varint_field(2, 9)].concat()),
            ]
            .concat(),
            DType::F32,
            vec![2],
            f32s(&[0.0, 0.0]),
        ),
        (
            "dim size as bytes",
            [
                varint_field(1, 1),
                len_field(2, &len_field(2, &len_field(1, &[1]))),
            ]
            .concat(),
            DType::F32,
            vec![0],
            vec![],
        ),
        (
            "tensor_content as a varint",
            [proto_head(1, &[1]), varint_field(4, 1)].concat(),
            DType::F32,
            vec![1],
            f32s(&[0.0]),
        ),
        (
            "float_val as a varint, then packed",
            [
                proto_head(1, &[2]),
                varint_field(5, 1),
                len_field(5, &f32s(&[1.5])),
            ]
            .concat(),
            DType::F32,
            vec![2],
            f32s(&[1.5, 1.5]),
        ),
        (
            "int_val as fixed32",
            [proto_head(3, &[1]), key(7, FIXED32), vec![1, 0, 0, 0]].concat(),
            DType::I32,
            vec![1],
            vec![0; 4],
        ),
        (
            "double_val as fixed32 next to a good one",
            [
                proto_head(2, &[1]),
                key(6, FIXED32),
                vec![0; 4],
                key(6, FIXED64),
                2.0f64.to_le_bytes().to_vec(),
            ]
            .concat(),
            DType::F64,
            vec![1],
            2.0f64.to_le_bytes().to_vec(),
        ),
    ];
    for (what, payload, dtype, shape, bytes) in cases {
        let t = TensorView::decode(&payload).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            (t.dtype(), t.shape(), t.bytes().unwrap()),
            (dtype, &shape[..], &bytes[..]),
            "{what}"
        );
    }
    let strings = [proto_head(7, &[2]), varint_field(8, 5), len_field(8, b"s")].concat();
    let t = TensorView::decode(&strings).unwrap();
    assert_eq!(
        t.strings().unwrap().collect::<Vec<_>>(),
        [b"s".as_slice(), b"s"]
    );
    // Nothing usable at all is still DT_INVALID.
    invalid_tensor(TensorView::decode(&len_field(1, &[1])));
}

/// The protobuf details TensorFlow relies on: no shape means a scalar,
/// later scalar fields override earlier ones, shapes merge, unknown fields
/// are skipped.
#[test]
fn protobuf_merging_rules() {
    let no_shape = [varint_field(1, 1), len_field(5, &4.0f32.to_le_bytes())].concat();
    let t = TensorView::decode(&no_shape).unwrap();
    assert_eq!(
        (t.shape(), t.to_vec::<f32>().unwrap()),
        (&[][..], vec![4.0])
    );

    let twice = [
        varint_field(1, 3),
        proto_head(1, &[1]),
        len_field(4, &4.0f32.to_le_bytes()),
    ]
    .concat();
    assert_eq!(TensorView::decode(&twice).unwrap().dtype(), DType::F32);

    let merged = [
        varint_field(1, 3),
        len_field(2, &shape_body(&[2])),
        len_field(2, &shape_body(&[3])),
    ]
    .concat();
    assert_eq!(TensorView::decode(&merged).unwrap().shape(), &[2, 3]);

    let mut unknown = proto_head(1, &[1]);
    unknown.extend(varint_field(99, 5));
    unknown.extend(key(3000, FIXED64));
    unknown.extend([0u8; 8]);
    unknown.extend(key(77, FIXED32));
    unknown.extend([0u8; 4]);
    unknown.extend(len_field(4, &1.0f32.to_le_bytes()));
    unknown.extend(len_field(1234, b"junk"));
    unknown.extend(varint_field(3, 7));
    assert_eq!(
        TensorView::decode(&unknown)
            .unwrap()
            .to_vec::<f32>()
            .unwrap(),
        [1.0]
    );
}

/// Shapes that can be built must encode to protos that decode again. A
/// `TensorShapeProto` dimension is an int64, so a zero-element shape with a
/// dimension above `i64::MAX` has no valid encoding.
///
/// (Were `[1 << 63, 0]` accepted, `encode` would write the dimension as a
/// varint that reads back as a negative int64, and `decode` would reject the
/// record the crate itself wrote.)
#[test]
fn zero_element_shape_with_dimension_above_i64_max_round_trips_or_is_refused() {
    for shape in [[1usize << 63, 0], [usize::MAX, 0]] {
        let Ok(t) = Tensor::from_bytes(DType::U8, &shape, Vec::new()) else {
            continue; // refusing to build it is a fine answer
        };
        let bytes = t.to_proto_bytes();
        let back = TensorView::decode(&bytes);
        assert!(
            back.as_ref().is_ok_and(|b| b == &*t),
            "shape {shape:?} was accepted and encoded, but decoding it gives {back:?}"
        );
    }
    // The largest int64 dimension is fine.
    let t = Tensor::from_bytes(DType::U8, &[i64::MAX as usize, 0], Vec::new()).unwrap();
    assert_eq!(Tensor::decode(&t.to_proto_bytes()).unwrap(), t);
}

proptest! {
    #![proptest_config(proptest_config(2000))]

    /// Arbitrary bytes never panic the decoder, and what it accepts is
    /// self-consistent.
    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let limits = DecodeLimits::fixed(1 << 16);
        if let Ok(t) = decode_with(&bytes, &limits) {
            check_consistent(&t);
        }
    }
}

/// A plausible-looking field: mostly the right numbers, random wire types
/// and contents.
fn arb_field() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![0u64, 1, 3, 4, 7, 10, 11, 14, 19, 23, 99])
            .prop_map(|c| varint_field(1, c)),
        prop::collection::vec(prop_oneof![0i64..4, Just(-1), Just(1 << 40)], 0..4)
            .prop_map(|dims| len_field(2, &shape_body(&dims))),
        prop::collection::vec(prop_oneof![Just(0u8), Just(1u8), any::<u8>()], 0..24)
            .prop_map(|b| len_field(4, &b)),
        (3u32..=17, prop::collection::vec(any::<u8>(), 0..24)).prop_map(|(f, b)| len_field(f, &b)),
        (3u32..=17, prop_oneof![0u64..3, any::<u64>()]).prop_map(|(f, v)| varint_field(f, v)),
        (3u32..=17, any::<u32>())
            .prop_map(|(f, v)| [key(f, FIXED32), v.to_le_bytes().to_vec()].concat()),
        (3u32..=17, any::<u64>())
            .prop_map(|(f, v)| [key(f, FIXED64), v.to_le_bytes().to_vec()].concat()),
    ]
}

proptest! {
    #![proptest_config(proptest_config(1500))]

    /// Random sequences of plausible fields: no panics, and whenever both
    /// this decoder and prost accept the bytes, they agree with the model.
    #[test]
    fn random_fields_agree_with_prost(fields in prop::collection::vec(arb_field(), 0..8)) {
        let bytes = fields.concat();
        let max = 1 << 16;
        if let Ok(t) = decode_with(&bytes, &DecodeLimits::fixed(max)) {
            check_consistent(&t);
            if let Ok(msg) = TensorProto::decode(&bytes[..]) {
                prop_assert_eq!(Some(describe(&t)), model_decode(&msg, max), "{:?}", msg);
            }
        }
    }
}

proptest! {
    #![proptest_config(proptest_config(600))]

    /// Valid protos with a few bytes changed, inserted or removed: no
    /// panics, and whenever both this decoder and prost accept the bytes,
    /// they agree with the model decoder on prost's reading.
    #[test]
    fn mutated_protos_agree_with_prost(
        t in arb_tensor(),
        edits in edits(),
    ) {
        let mut bytes = t.to_proto_bytes();
        apply_edits(&mut bytes, edits);
        let max = 1 << 16;
        let ours = decode_with(&bytes, &DecodeLimits::fixed(max));
        if let Ok(t) = &ours {
            check_consistent(t);
            if let Ok(msg) = TensorProto::decode(&bytes[..]) {
                prop_assert_eq!(Some(describe(t)), model_decode(&msg, max), "{:?}", msg);
            }
        }
    }
}

fn check_consistent(t: &TensorView<'_>) {
    assert!(t.rank() <= 254);
    let n = t
        .shape()
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .unwrap();
    assert_eq!(t.num_elements(), n);
    match (t.bytes(), size(t.dtype())) {
        (Some(b), Some(sz)) => {
            assert_eq!(b.len(), n * sz);
            if t.dtype() == DType::Bool {
                assert!(b.iter().all(|&x| x <= 1));
            }
        }
        (None, None) => assert_eq!(t.strings().unwrap().len(), n),
        _ => panic!("content does not match dtype {}", t.dtype()),
    }
    // Whatever decodes re-encodes to something that decodes to the same.
    let again = t.to_proto_bytes();
    assert_eq!(encoded_len(t), again.len());
    assert_eq!(&TensorView::decode(&again).unwrap(), t);
}
