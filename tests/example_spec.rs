//! `ParseSpec` checked against a reference built on prost's decoding of the
//! same records: TensorFlow's `parse_example` rules written out plainly
//! (missing features and defaults, kinds, value counts, variable-length
//! rows, serialized tensors), over canonical encodings and over every other
//! encoding protobuf allows (unpacked and split lists, overridden entries,
//! unknown fields, repeated `features` fields), which take the general
//! parser rather than the single-pass scan.

mod common;

use common::Rng;
use common::*;
use proptest::prelude::*;
use prost::Message;
use tfrec::example::{
    encode, feature::Kind, DefaultValue, Example, Feature, ParseSpec, ParsedBatch,
};
use tfrec::{DType, ErrorKind, Tensor};

// ---------------------------------------------------------------------------
// The reference
// ---------------------------------------------------------------------------

/// One entry of a spec, as the reference sees it.
#[derive(Debug, Clone)]
enum Desc {
    Fixed {
        name: &'static str,
        dtype: DType,
        shape: Vec<usize>,
        default: Option<DefaultValue>,
    },
    VarLen {
        name: &'static str,
        dtype: DType,
    },
    Tensor {
        name: &'static str,
        dtype: DType,
        shape: Vec<usize>,
    },
}

impl Desc {
    fn name(&self) -> &'static str {
        match self {
            Desc::Fixed { name, .. } | Desc::VarLen { name, .. } | Desc::Tensor { name, .. } => {
                name
            }
        }
    }
}

fn build(descs: &[Desc]) -> ParseSpec {
    descs.iter().fold(ParseSpec::new(), |spec, d| match d {
        Desc::Fixed {
            name,
            dtype,
            shape,
            default,
        } => spec.fixed(*name, *dtype, shape, default.clone()),
        Desc::VarLen { name, dtype } => spec.var_len(*name, *dtype),
        Desc::Tensor { name, dtype, shape } => spec.tensor(*name, *dtype, shape),
    })
}

/// Values compared exactly (floats by bits).
#[derive(Debug, Clone, PartialEq)]
enum Vals {
    Bits(Vec<u32>),
    Ints(Vec<i64>),
    Strs(Vec<Vec<u8>>),
    /// Element bytes of another fixed-size dtype.
    Raw(Vec<u8>),
}

impl Vals {
    fn empty(dtype: DType) -> Vals {
        match dtype {
            DType::F32 => Vals::Bits(Vec::new()),
            DType::I64 => Vals::Ints(Vec::new()),
            DType::String => Vals::Strs(Vec::new()),
            _ => Vals::Raw(Vec::new()),
        }
    }

    fn extend(&mut self, other: Vals) {
        match (self, other) {
            (Vals::Bits(a), Vals::Bits(b)) => a.extend(b),
            (Vals::Ints(a), Vals::Ints(b)) => a.extend(b),
            (Vals::Strs(a), Vals::Strs(b)) => a.extend(b),
            (Vals::Raw(a), Vals::Raw(b)) => a.extend(b),
            (a, b) => panic!("mixed values {a:?} {b:?}"),
        }
    }

    fn len(&self) -> usize {
        match self {
            Vals::Bits(v) => v.len(),
            Vals::Ints(v) => v.len(),
            Vals::Strs(v) => v.len(),
            Vals::Raw(v) => v.len(),
        }
    }
}

/// What a batch should hold for one entry.
#[derive(Debug, Clone, PartialEq)]
struct Want {
    name: &'static str,
    shape: Vec<usize>,
    values: Vals,
    row_splits: Option<Vec<i64>>,
}

fn wanted_kind(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float",
        DType::I64 => "int64",
        _ => "bytes",
    }
}

fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::FloatList(_) => "float",
        Kind::Int64List(_) => "int64",
        Kind::BytesList(_) => "bytes",
    }
}

fn list_values(kind: &Kind) -> Vals {
    match kind {
        Kind::FloatList(l) => Vals::Bits(l.value.iter().map(|v| v.to_bits()).collect()),
        Kind::Int64List(l) => Vals::Ints(l.value.clone()),
        Kind::BytesList(l) => Vals::Strs(l.value.clone()),
    }
}

fn default_values(d: &DefaultValue, dtype: DType) -> Vals {
    match (d, dtype) {
        (DefaultValue::F32(v), _) => Vals::Bits(v.iter().map(|x| x.to_bits()).collect()),
        (DefaultValue::I64(v), DType::F32) => {
            Vals::Bits(v.iter().map(|&x| (x as f32).to_bits()).collect())
        }
        (DefaultValue::I64(v), _) => Vals::Ints(v.clone()),
        (DefaultValue::String(v), _) => Vals::Strs(v.clone()),
    }
}

/// Tensor features compare element bytes, whatever their dtype.
fn tensor_empty(dtype: DType) -> Vals {
    match dtype {
        DType::String => Vals::Strs(Vec::new()),
        _ => Vals::Raw(Vec::new()),
    }
}

fn tensor_values(t: &Tensor) -> Vals {
    match t.strings() {
        Some(s) => Vals::Strs(s.map(<[u8]>::to_vec).collect()),
        None => Vals::Raw(t.bytes().unwrap().to_vec()),
    }
}

/// TensorFlow's rules applied to decoded messages: the batch's columns, or
/// the position and feature of the first record that breaks them.
fn reference(descs: &[Desc], examples: &[Example]) -> Result<Vec<Want>, (usize, &'static str)> {
    let n = examples.len();
    let mut out: Vec<Want> = descs
        .iter()
        .map(|d| match d {
            Desc::Fixed {
                name, dtype, shape, ..
            } => Want {
                name,
                shape: [&[n][..], shape].concat(),
                values: Vals::empty(*dtype),
                row_splits: None,
            },
            Desc::Tensor { name, dtype, shape } => Want {
                name,
                shape: [&[n][..], shape].concat(),
                values: tensor_empty(*dtype),
                row_splits: None,
            },
            Desc::VarLen { name, dtype } => Want {
                name,
                shape: vec![n, 0],
                values: Vals::empty(*dtype),
                row_splits: Some(vec![0]),
            },
        })
        .collect();
    for (i, ex) in examples.iter().enumerate() {
        for (d, want) in descs.iter().zip(out.iter_mut()) {
            let fail = Err((i, d.name()));
            let kind = ex
                .features
                .as_ref()
                .and_then(|f| f.feature.get(d.name()))
                .and_then(|f| f.kind.as_ref());
            match d {
                Desc::Fixed {
                    dtype,
                    shape,
                    default,
                    ..
                } => {
                    let count: usize = shape.iter().product();
                    let values = match (kind, default) {
                        (None, Some(def)) => default_values(def, *dtype),
                        (None, None) => return fail,
                        (Some(k), _) if kind_name(k) != wanted_kind(*dtype) => return fail,
                        (Some(k), _) => list_values(k),
                    };
                    if values.len() != count {
                        return fail;
                    }
                    want.values.extend(values);
                }
                Desc::VarLen { dtype, .. } => {
                    let values = match kind {
                        None => Vals::empty(*dtype),
                        Some(k) if kind_name(k) != wanted_kind(*dtype) => return fail,
                        Some(k) => list_values(k),
                    };
                    let splits = want.row_splits.as_mut().unwrap();
                    splits.push(splits.last().unwrap() + values.len() as i64);
                    want.shape[1] = want.shape[1].max(values.len());
                    want.values.extend(values);
                }
                Desc::Tensor { dtype, shape, .. } => {
                    let Some(Kind::BytesList(list)) = kind else {
                        return fail;
                    };
                    if list.value.len() != 1 {
                        return fail;
                    }
                    let Ok(t) = Tensor::decode(&list.value[0]) else {
                        return fail;
                    };
                    if t.dtype() != *dtype || t.shape() != &shape[..] {
                        return fail;
                    }
                    want.values.extend(tensor_values(&t));
                }
            }
        }
    }
    Ok(out)
}

/// The batch's columns in the reference's terms.
fn observed(descs: &[Desc], batch: &ParsedBatch) -> Vec<Want> {
    descs
        .iter()
        .map(|d| {
            let c = batch.get(d.name()).unwrap();
            let tensor = matches!(d, Desc::Tensor { .. });
            let values = match c.dtype() {
                DType::String => {
                    Vals::Strs(c.strings().unwrap().iter().map(<[u8]>::to_vec).collect())
                }
                _ if tensor => Vals::Raw(c.bytes().unwrap().to_vec()),
                DType::F32 => Vals::Bits(
                    c.values::<f32>()
                        .unwrap()
                        .iter()
                        .map(|v| v.to_bits())
                        .collect(),
                ),
                DType::I64 => Vals::Ints(c.values::<i64>().unwrap().to_vec()),
                _ => Vals::Raw(c.bytes().unwrap().to_vec()),
            };
            Want {
                name: d.name(),
                shape: c.shape().to_vec(),
                values,
                row_splits: c.row_splits().map(<[i64]>::to_vec),
            }
        })
        .collect()
}

/// Parses `payloads` (encodings of `examples`) and checks the result
/// against the reference, values, shapes, row splits and errors alike.
fn check(descs: &[Desc], examples: &[Example], payloads: &[Vec<u8>]) {
    let spec = build(descs);
    let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
    let got = spec.parse_batch(&refs);
    match (reference(descs, examples), got) {
        (Ok(want), Ok(batch)) => {
            assert_eq!(batch.len(), examples.len());
            assert_eq!(observed(descs, &batch), want);
            // Buffers reused for another parse give the same again.
            let mut again = batch.clone();
            spec.parse_batch_into(&refs, &mut again).unwrap();
            assert_eq!(observed(descs, &again), want);
            check_conversions(descs, &batch);
        }
        (Err((i, name)), Err(e)) => {
            let text = e.to_string();
            assert!(
                matches!(e.kind(), ErrorKind::InvalidExample { .. }),
                "{text}"
            );
            let n = examples.len();
            assert!(
                text.contains(&format!("example {i} of {n}: ")),
                "{text}, want example {i}"
            );
            assert!(
                text.contains(&format!("feature {name:?}")),
                "{text}, want {name}"
            );
        }
        (want, got) => panic!("reference {want:?}, parse {got:?}"),
    }
}

/// Records one by one agree with the batch; sparse and dense forms of
/// ragged columns agree with the values and splits.
fn check_conversions(descs: &[Desc], batch: &ParsedBatch) {
    for d in descs {
        let c = batch.get(d.name()).unwrap();
        let Some(splits) = c.row_splits() else {
            if let Some(view) = c.view() {
                assert_eq!(view.shape(), c.shape());
            }
            continue;
        };
        let sparse = c.to_sparse().unwrap();
        let nnz = *splits.last().unwrap() as usize;
        assert_eq!(sparse.indices.len(), 2 * nnz);
        assert_eq!(sparse.values.shape(), [nnz]);
        assert_eq!(sparse.dense_shape, [c.len() as i64, c.shape()[1] as i64]);
        let dense = c.to_dense(None).unwrap();
        assert_eq!(dense.shape(), [c.len(), c.shape()[1]]);
        for (k, pair) in sparse.indices.chunks(2).enumerate() {
            let (row, col) = (pair[0] as usize, pair[1] as usize);
            assert_eq!(splits[row] as usize + col, k);
            let record = c.get(row).unwrap();
            match c.dtype() {
                DType::String => {
                    let want = record.strings().unwrap().nth(col).unwrap();
                    assert_eq!(sparse.values.strings().unwrap().nth(k).unwrap(), want);
                    let at = row * c.shape()[1] + col;
                    assert_eq!(dense.strings().unwrap().nth(at).unwrap(), want);
                }
                dtype => {
                    let size = dtype.size().unwrap();
                    let want = &record.bytes().unwrap()[col * size..(col + 1) * size];
                    assert_eq!(
                        &sparse.values.bytes().unwrap()[k * size..(k + 1) * size],
                        want
                    );
                    let at = (row * c.shape()[1] + col) * size;
                    assert_eq!(&dense.bytes().unwrap()[at..at + size], want);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

fn arb_float() -> impl Strategy<Value = f32> {
    prop_oneof![
        any::<u32>().prop_map(f32::from_bits),
        prop::sample::select(vec![0.0, -0.0, f32::NAN, 1.5, -2.25]),
    ]
}

fn arb_int() -> impl Strategy<Value = i64> {
    prop_oneof![any::<i64>(), -3i64..300, Just(i64::MIN), Just(i64::MAX)]
}

fn arb_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..6),
        prop::collection::vec(any::<u8>(), 120..200),
    ]
}

fn arb_list(dtype: DType, len: usize) -> BoxedStrategy<Kind> {
    use tfrec::example::{BytesList, FloatList, Int64List};
    match dtype {
        DType::F32 => prop::collection::vec(arb_float(), len)
            .prop_map(|value| Kind::FloatList(FloatList { value }))
            .boxed(),
        DType::I64 => prop::collection::vec(arb_int(), len)
            .prop_map(|value| Kind::Int64List(Int64List { value }))
            .boxed(),
        _ => prop::collection::vec(arb_bytes(), len)
            .prop_map(|value| Kind::BytesList(BytesList { value }))
            .boxed(),
    }
}

fn arb_dtype() -> impl Strategy<Value = DType> {
    prop::sample::select(vec![DType::F32, DType::I64, DType::String])
}

fn arb_shape() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        Just(vec![]),
        (0usize..4).prop_map(|d| vec![d]),
        (1usize..3, 1usize..3).prop_map(|(a, b)| vec![a, b]),
    ]
}

fn arb_default(dtype: DType, count: usize) -> BoxedStrategy<Option<DefaultValue>> {
    let some = match dtype {
        DType::F32 => prop_oneof![
            prop::collection::vec(arb_float(), count).prop_map(DefaultValue::F32),
            prop::collection::vec(-5i64..5, count).prop_map(DefaultValue::I64),
        ]
        .boxed(),
        DType::I64 => prop::collection::vec(arb_int(), count)
            .prop_map(DefaultValue::I64)
            .boxed(),
        _ => prop::collection::vec(arb_bytes(), count)
            .prop_map(DefaultValue::String)
            .boxed(),
    };
    prop::option::of(some).boxed()
}

const NAMES: [&str; 5] = ["label", "x", "img", "tokens", "emb"];

fn arb_desc(name: &'static str) -> BoxedStrategy<Desc> {
    prop_oneof![
        4 => (arb_dtype(), arb_shape()).prop_flat_map(move |(dtype, shape)| {
            let count = shape.iter().product();
            arb_default(dtype, count).prop_map(move |default| Desc::Fixed {
                name,
                dtype,
                shape: shape.clone(),
                default,
            })
        }),
        3 => arb_dtype().prop_map(move |dtype| Desc::VarLen { name, dtype }),
        1 => prop::sample::select(vec![
            (DType::F32, vec![2]),
            (DType::U8, vec![2, 2]),
            (DType::String, vec![1]),
            (DType::I32, vec![]),
        ])
        .prop_map(move |(dtype, shape)| Desc::Tensor { name, dtype, shape }),
    ]
    .boxed()
}

fn arb_spec() -> impl Strategy<Value = Vec<Desc>> {
    prop::sample::subsequence(NAMES.to_vec(), 1..=NAMES.len())
        .prop_flat_map(|names| names.into_iter().map(arb_desc).collect::<Vec<_>>())
}

/// A tensor feature's value: usually one serialized tensor of the spec's
/// dtype and shape, sometimes another shape, dtype, count or junk.
fn arb_tensor_feature(dtype: DType, shape: Vec<usize>) -> BoxedStrategy<Feature> {
    let n: usize = shape.iter().product();
    let good = {
        let shape = shape.clone();
        prop::collection::vec(any::<u8>(), n * dtype.size().unwrap_or(1)).prop_map(move |bytes| {
            let t = match dtype {
                DType::String => {
                    let strings: Vec<Vec<u8>> =
                        bytes.iter().map(|&b| vec![b; b as usize % 4]).collect();
                    Tensor::from_strings(&strings, &shape).unwrap()
                }
                _ => Tensor::from_bytes(dtype, &shape, bytes).unwrap(),
            };
            Feature::bytes_list([t.to_proto_bytes()])
        })
    };
    prop_oneof![
        8 => good,
        1 => Just(Feature::bytes_list([Tensor::from_slice(&[1u16, 2, 3], &[3]).unwrap().to_proto_bytes()])),
        1 => Just(Feature::bytes_list([b"junk".to_vec()])),
        1 => Just(Feature::bytes_list(Vec::<Vec<u8>>::new())),
        1 => Just(Feature::int64_list([1])),
    ]
    .boxed()
}

/// A feature for `desc`: mostly what it needs, sometimes missing, without
/// a kind, of another kind or count.
fn arb_feature_for(desc: &Desc) -> BoxedStrategy<Option<Feature>> {
    let other = |dtype: DType| match dtype {
        DType::F32 => DType::I64,
        DType::I64 => DType::String,
        _ => DType::F32,
    };
    let feature =
        |kind: BoxedStrategy<Kind>| kind.prop_map(|k| Some(Feature { kind: Some(k) })).boxed();
    match desc.clone() {
        Desc::Fixed { dtype, shape, .. } => {
            let count: usize = shape.iter().product();
            prop_oneof![
                12 => feature(arb_list(dtype, count)),
                2 => Just(None),
                1 => Just(Some(Feature::default())),
                1 => feature(arb_list(other(dtype), count)),
                1 => (0usize..5).prop_flat_map(move |len| feature(arb_list(dtype, len))),
            ]
            .boxed()
        }
        Desc::VarLen { dtype, .. } => prop_oneof![
            10 => (0usize..5).prop_flat_map(move |len| feature(arb_list(dtype, len))),
            2 => Just(None),
            1 => Just(Some(Feature::default())),
            1 => feature(arb_list(other(dtype), 1)),
        ]
        .boxed(),
        Desc::Tensor { dtype, shape, .. } => prop_oneof![
            12 => arb_tensor_feature(dtype, shape).prop_map(Some),
            1 => Just(None),
        ]
        .boxed(),
    }
}

fn arb_example_for(descs: &[Desc]) -> BoxedStrategy<Example> {
    let parts: Vec<_> = descs.iter().map(arb_feature_for).collect();
    let extra = prop::collection::btree_map("[a-z]{1,3}", arb_list(DType::I64, 1), 0..2);
    let names: Vec<&'static str> = descs.iter().map(Desc::name).collect();
    (parts, extra)
        .prop_map(move |(features, extra)| {
            let mut ex = Example::default();
            for (name, k) in extra {
                if !NAMES.contains(&name.as_str()) {
                    ex = ex.with_feature(name, Feature { kind: Some(k) });
                }
            }
            for (name, f) in names.iter().zip(features) {
                if let Some(f) = f {
                    ex = ex.with_feature(*name, f);
                }
            }
            ex
        })
        .boxed()
}

fn arb_case() -> impl Strategy<Value = (Vec<Desc>, Vec<Example>)> {
    arb_spec().prop_flat_map(|descs| {
        let examples = prop::collection::vec(arb_example_for(&descs), 0..40);
        (Just(descs), examples)
    })
}

// ---------------------------------------------------------------------------
// Unusual encodings: valid protobuf that decodes to the same Example
// ---------------------------------------------------------------------------

fn list_body(kind: &Kind, rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    match kind {
        Kind::BytesList(l) => {
            for v in &l.value {
                out.extend(len_field(1, v));
            }
        }
        Kind::FloatList(l) if rng.one_in(2) => {
            for v in &l.value {
                out.extend(key(1, FIXED32));
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        Kind::FloatList(l) => {
            let bytes: Vec<u8> = l.value.iter().flat_map(|v| v.to_le_bytes()).collect();
            out.extend(len_field(1, &bytes));
        }
        Kind::Int64List(l) if rng.one_in(2) => {
            for &v in &l.value {
                out.extend(varint_field(1, v as u64));
            }
        }
        Kind::Int64List(l) => {
            let mut packed = Vec::new();
            for &v in &l.value {
                put_varint(&mut packed, v as u64);
            }
            out.extend(len_field(1, &packed));
        }
    }
    if rng.one_in(4) {
        out.extend(varint_field(7, 1)); // an unknown field
    }
    out
}

fn field_of(kind: &Kind) -> u32 {
    match kind {
        Kind::BytesList(_) => 1,
        Kind::FloatList(_) => 2,
        Kind::Int64List(_) => 3,
    }
}

/// A `Feature` message for `f`, perhaps with its list split in two and a
/// decoy list of another kind first (the last kind seen wins).
fn odd_feature(f: &Feature, rng: &mut Rng) -> Vec<u8> {
    let Some(kind) = &f.kind else {
        return if rng.one_in(3) {
            varint_field(9, 3)
        } else {
            Vec::new()
        };
    };
    let mut out = Vec::new();
    if rng.one_in(3) {
        let decoy = if matches!(kind, Kind::FloatList(_)) {
            3
        } else {
            2
        };
        out.extend(len_field(decoy, &[]));
    }
    let field = field_of(kind);
    let body = list_body(kind, rng);
    if rng.one_in(3) {
        // Two list fields of one kind concatenate.
        let (first, second) = split_list(kind);
        out.extend(len_field(field, &list_body(&first, rng)));
        out.extend(len_field(field, &list_body(&second, rng)));
    } else {
        out.extend(len_field(field, &body));
    }
    out
}

fn split_list(kind: &Kind) -> (Kind, Kind) {
    use tfrec::example::{BytesList, FloatList, Int64List};
    match kind {
        Kind::BytesList(l) => {
            let (a, b) = l.value.split_at(l.value.len() / 2);
            (
                Kind::BytesList(BytesList { value: a.to_vec() }),
                Kind::BytesList(BytesList { value: b.to_vec() }),
            )
        }
        Kind::FloatList(l) => {
            let (a, b) = l.value.split_at(l.value.len() / 2);
            (
                Kind::FloatList(FloatList { value: a.to_vec() }),
                Kind::FloatList(FloatList { value: b.to_vec() }),
            )
        }
        Kind::Int64List(l) => {
            let (a, b) = l.value.split_at(l.value.len() / 2);
            (
                Kind::Int64List(Int64List { value: a.to_vec() }),
                Kind::Int64List(Int64List { value: b.to_vec() }),
            )
        }
    }
}

/// The Example encoded in some other valid way.
fn odd_encoding(ex: &Example, rng: &mut Rng) -> Vec<u8> {
    let Some(features) = &ex.features else {
        return if rng.one_in(2) {
            varint_field(5, 1)
        } else {
            Vec::new()
        };
    };
    let mut groups: Vec<Vec<u8>> = vec![Vec::new()];
    for (name, f) in &features.feature {
        let mut entries = Vec::new();
        if rng.one_in(4) {
            // An earlier entry of the same name, overridden whole.
            let decoy = Feature::bytes_list([b"decoy".to_vec()]);
            entries.push([len_field(1, name.as_bytes()), len_field(2, &encode(&decoy))].concat());
        }
        let value = len_field(2, &odd_feature(f, rng));
        let entry = if rng.one_in(4) {
            [value, len_field(1, name.as_bytes())].concat() // value before key
        } else {
            [len_field(1, name.as_bytes()), value].concat()
        };
        entries.push(entry);
        for e in entries {
            if rng.one_in(5) {
                groups.push(Vec::new()); // another `features` field
            }
            groups.last_mut().unwrap().extend(len_field(1, &e));
        }
    }
    let mut out = Vec::new();
    for g in groups {
        out.extend(len_field(1, &g));
    }
    out
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(proptest_config(256))]

    #[test]
    fn canonical_encodings_parse_as_the_reference((descs, examples) in arb_case()) {
        let payloads: Vec<Vec<u8>> = examples.iter().map(encode).collect();
        check(&descs, &examples, &payloads);
        // prost's own encoding (also canonical) parses the same.
        let prost: Vec<Vec<u8>> = examples.iter().map(Message::encode_to_vec).collect();
        check(&descs, &examples, &prost);
    }

    #[test]
    fn other_encodings_parse_as_the_reference(
        (descs, examples) in arb_case(),
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed | 1);
        let payloads: Vec<Vec<u8>> = examples.iter().map(|ex| odd_encoding(ex, &mut rng)).collect();
        for (p, ex) in payloads.iter().zip(&examples) {
            // The encoding is what it claims to be.
            prop_assert_eq!(encode(&Example::decode(&p[..]).unwrap()), encode(ex));
        }
        check(&descs, &examples, &payloads);
    }

    #[test]
    fn single_records_parse_as_batches_of_one((descs, examples) in arb_case()) {
        let spec = build(&descs);
        for ex in &examples {
            let payload = encode(ex);
            let one = spec.parse(&payload);
            let batch = spec.parse_batch(&[&payload]);
            match (one, batch) {
                (Ok(one), Ok(batch)) => {
                    for d in &descs {
                        let col = batch.get(d.name()).unwrap();
                        prop_assert_eq!(one.get(d.name()).unwrap(), col.get(0).unwrap());
                        if let Some(sparse) = one.sparse(d.name()) {
                            let n = col.row_splits().unwrap()[1];
                            prop_assert_eq!(sparse.indices, (0..n).collect::<Vec<_>>());
                            prop_assert_eq!(sparse.dense_shape, vec![n]);
                        }
                    }
                }
                (Err(a), Err(b)) => {
                    // The same reason, without the batch position.
                    let b = b.to_string();
                    prop_assert!(b.ends_with(&a.to_string().replace("invalid example: ", "")), "{} / {}", a, b);
                }
                (a, b) => prop_assert!(false, "single {:?}, batch {:?}", a, b),
            }
        }
    }

    #[test]
    fn damaged_payloads_error_or_parse_like_prost(
        (descs, examples) in arb_case(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
    ) {
        let spec = build(&descs);
        for ex in examples.iter().take(3) {
            let mut payload = encode(ex);
            if payload.is_empty() {
                continue;
            }
            let at = flip.index(payload.len());
            payload[at] ^= 0x80;
            payload.truncate(cut.index(payload.len() + 1));
            match Example::decode(&payload[..]) {
                Ok(decoded) => {
                    let one = spec.parse(&payload);
                    let want = reference(&descs, std::slice::from_ref(&decoded));
                    prop_assert_eq!(one.is_ok(), want.is_ok(), "{:?}", one);
                }
                Err(_) => prop_assert!(spec.parse(&payload).is_err()),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------

fn reason(e: tfrec::Error) -> String {
    match e.kind() {
        ErrorKind::InvalidExample { reason } => reason.clone(),
        other => panic!("unexpected {other:?}: {e}"),
    }
}

#[test]
fn spec_mistakes_are_reported_by_check_and_every_parse() {
    let cases: Vec<(ParseSpec, &str)> = vec![
        (ParseSpec::new(), "no features"),
        (
            ParseSpec::new()
                .fixed("a", DType::F32, &[], None)
                .var_len("a", DType::I64),
            "feature \"a\" is named twice",
        ),
        (
            ParseSpec::new().fixed("a", DType::F64, &[], None),
            "dtype float64 is not one an Example holds",
        ),
        (
            ParseSpec::new().var_len("a", DType::U8),
            "dtype uint8 is not one an Example holds",
        ),
        (
            ParseSpec::new().fixed("a", DType::F32, &[2], Some(5.0f32.into())),
            "has 1 values, shape [2] needs 2",
        ),
        (
            ParseSpec::new().fixed("a", DType::I64, &[1], Some(DefaultValue::from(1.5f32))),
            "holds float32 values, the feature is int64",
        ),
        (
            ParseSpec::new().fixed("a", DType::F32, &[usize::MAX, 2], None),
            "overflows",
        ),
    ];
    let payload = encode(&Example::default().float("a", [1.0]));
    for (spec, why) in cases {
        for err in [
            spec.check().unwrap_err(),
            spec.parse(&payload).unwrap_err(),
            spec.parse_batch(&[&payload]).unwrap_err(),
        ] {
            assert!(
                matches!(err.kind(), ErrorKind::InvalidInput { .. }),
                "{err}"
            );
            assert!(err.to_string().contains(why), "{err}: want {why}");
        }
    }
}

#[test]
fn tensorflow_rules_for_fixed_features() {
    let spec =
        |default: Option<DefaultValue>| ParseSpec::new().fixed("x", DType::F32, &[2], default);
    let with = |f: Feature| encode(&Example::default().with_feature("x", f));
    // Missing, or a Feature with no kind: the default, or an error.
    for payload in [
        encode(&Example::default()),
        with(Feature::default()),
        Vec::new(),
    ] {
        let got = spec(Some(vec![1.0f32, 2.0].into()))
            .parse(&payload)
            .unwrap();
        assert_eq!(got.get("x").unwrap().to_vec::<f32>().unwrap(), [1.0, 2.0]);
        let err = reason(spec(None).parse(&payload).unwrap_err());
        assert!(
            err.contains("feature \"x\": missing, and the spec gives no default"),
            "{err}"
        );
    }
    // An empty list is present: its count is wrong, default or not.
    for default in [None, Some(vec![1.0f32, 2.0].into())] {
        let err = reason(
            spec(default)
                .parse(&with(Feature::float_list([])))
                .unwrap_err(),
        );
        assert!(err.contains("holds 0 values, shape [2] needs 2"), "{err}");
    }
    // An empty list of another kind is the wrong kind, default or not.
    let err = reason(
        spec(Some(vec![1.0f32, 2.0].into()))
            .parse(&with(Feature::int64_list([])))
            .unwrap_err(),
    );
    assert!(
        err.contains("holds a int64_list, the spec wants float32 (float_list)"),
        "{err}"
    );
    // A shape with no elements takes an empty list.
    let empty = ParseSpec::new().fixed("x", DType::F32, &[0], None);
    let got = empty.parse(&with(Feature::float_list([]))).unwrap();
    assert_eq!(got.get("x").unwrap().shape(), [0]);
    assert!(empty.parse(&encode(&Example::default())).is_err());
    // Integer defaults of float features convert; a [2, 2] default is flat.
    let conv = ParseSpec::new().fixed(
        "x",
        DType::F32,
        &[2, 2],
        Some(DefaultValue::from([1i64, 2, 3, 4])),
    );
    let got = conv.parse(&[]).unwrap();
    assert_eq!(
        got.get("x").unwrap().to_vec::<f32>().unwrap(),
        [1.0, 2.0, 3.0, 4.0]
    );
    assert_eq!(got.get("x").unwrap().shape(), [2, 2]);
}

#[test]
fn string_defaults_and_values_fill_one_buffer() {
    let spec = ParseSpec::new().fixed("s", DType::String, &[2], Some(vec!["p", "qq"].into()));
    let a = encode(&Example::default().bytes("s", ["x", ""]));
    let b = encode(&Example::default());
    let batch = spec.parse_batch(&[&a, &b, &a]).unwrap();
    let s = batch.get("s").unwrap().strings().unwrap();
    assert_eq!(s.data(), b"xpqqx");
    assert_eq!(s.offsets(), [0, 1, 1, 2, 4, 5, 5]);
    assert_eq!(batch.get("s").unwrap().shape(), [3, 2]);
}

#[test]
fn tensor_features_decode_and_stack() {
    let spec = ParseSpec::new().tensor("t", DType::I32, &[2, 2]);
    let t = |v: i32| Tensor::from_slice(&[v, v + 1, v + 2, v + 3], &[2, 2]).unwrap();
    let payloads: Vec<Vec<u8>> = (0..40)
        .map(|i| encode(&Example::default().bytes("t", [t(i * 10).to_proto_bytes()])))
        .collect();
    let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
    let batch = spec.parse_batch(&refs).unwrap();
    let col = batch.get("t").unwrap();
    assert_eq!(col.shape(), [40, 2, 2]);
    assert_eq!(col.get(3).unwrap(), *t(30));
    for (bad, why) in [
        (
            Example::default().bytes(
                "t",
                [Tensor::from_slice(&[1i32], &[1]).unwrap().to_proto_bytes()],
            ),
            "holds a tensor int32[1], the spec wants int32[2, 2]",
        ),
        (
            Example::default().bytes(
                "t",
                [Tensor::from_slice(&[1i64; 4], &[2, 2])
                    .unwrap()
                    .to_proto_bytes()],
            ),
            "holds a tensor int64[2, 2]",
        ),
        (
            Example::default().bytes("t", [b"\xff".to_vec()]),
            "not a serialized tensor",
        ),
        (
            Example::default().bytes("t", [t(0).to_proto_bytes(), t(1).to_proto_bytes()]),
            "holds 2 values, a tensor feature holds exactly one",
        ),
        (
            Example::default(),
            "missing; a tensor feature has no default",
        ),
        (
            Example::default().float("t", [1.0]),
            "holds a float_list, a tensor feature needs a bytes_list",
        ),
    ] {
        let mut refs = refs.clone();
        let bad = encode(&bad);
        refs[33] = &bad;
        let err = reason(spec.parse_batch(&refs).unwrap_err());
        assert!(
            err.starts_with("example 33 of 40: feature \"t\": "),
            "{err}"
        );
        assert!(err.contains(why), "{err}: want {why}");
    }
}

#[test]
fn the_first_bad_record_is_reported_from_a_parallel_batch() {
    let spec = ParseSpec::new().fixed("label", DType::I64, &[], None);
    let good = encode(&Example::default().int64("label", [1]));
    let bad = encode(&Example::default().float("label", [1.0]));
    for first_bad in [0usize, 1, 63, 200, 999] {
        let mut refs: Vec<&[u8]> = vec![&good; 1000];
        for r in refs.iter_mut().skip(first_bad).step_by(7) {
            *r = &bad;
        }
        let err = reason(spec.parse_batch(&refs).unwrap_err());
        assert!(
            err.starts_with(&format!("example {first_bad} of 1000: ")),
            "{err}"
        );
    }
}

#[test]
fn invalid_payloads_are_errors() {
    let spec = ParseSpec::new().var_len("v", DType::I64);
    for junk in [
        &b"\xff\xff"[..],
        &[0x0a, 0x05, 1],
        &[0x0a, 0x02, 0x0a, 0x7f],
    ] {
        let err = spec.parse(junk).unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::InvalidExample { .. }),
            "{err}"
        );
    }
}

#[test]
fn padding_ragged_columns() {
    let spec = ParseSpec::new().var_len("v", DType::F32);
    let a = encode(&Example::default().float("v", [1.0, 2.0]));
    let b = encode(&Example::default());
    let batch = spec.parse_batch(&[&a, &b]).unwrap();
    let v = batch.get("v").unwrap();
    let dense = v.to_dense(Some(&DefaultValue::from(-1.0f32))).unwrap();
    assert_eq!(dense.to_vec::<f32>().unwrap(), [1.0, 2.0, -1.0, -1.0]);
    assert!(v
        .to_dense(Some(&DefaultValue::from([1.0f32, 2.0])))
        .is_err());
    assert!(v.to_dense(Some(&DefaultValue::from("x"))).is_err());
    let zero = v.to_dense(None).unwrap();
    assert_eq!(zero.to_vec::<f32>().unwrap(), [1.0, 2.0, 0.0, 0.0]);
    // No records, no values.
    let empty = spec.parse_batch(&[]).unwrap();
    let v = empty.get("v").unwrap();
    assert_eq!(
        (v.shape(), v.row_splits().unwrap()),
        (&[0, 0][..], &[0][..])
    );
    assert_eq!(v.to_sparse().unwrap().dense_shape, [0, 0]);
}
