//! `Example` and `SequenceExample` views checked against prost, a canonical
//! protobuf decoder: on our own encodings, on the same messages encoded in
//! every other way protobuf allows (unpacked, split, merged, unknown fields,
//! duplicated names), on concatenations (protobuf's merge), and on damaged
//! or random bytes.

mod common;

use std::collections::BTreeMap;

use common::Rng;
use common::*;
use proptest::prelude::*;
use prost::Message;
use tfrec::example::{
    encode, feature::Kind, Deterministic, Example, ExampleView, Feature, FeatureKind, FeatureLists,
    FeatureView, Features, FeaturesView, RecordKind, SequenceExample, SequenceExampleView,
};

// ---------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------

/// Names from a tiny alphabet (so that concatenations collide) or longer.
fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[ab\u{e9}]{1,3}",
        "[a-z_/0-9]{1,12}",
        "\\PC{1,6}",
    ]
}

fn arb_float() -> impl Strategy<Value = f32> {
    prop_oneof![
        any::<u32>().prop_map(f32::from_bits),
        prop::sample::select(vec![
            0.0,
            -0.0,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1.5
        ]),
    ]
}

fn arb_feature() -> impl Strategy<Value = Feature> {
    prop_oneof![
        1 => Just(Feature::default()),
        3 => prop::collection::vec(prop::collection::vec(any::<u8>(), 0..6), 0..5)
            .prop_map(Feature::bytes_list),
        3 => prop::collection::vec(arb_float(), 0..9).prop_map(Feature::float_list),
        3 => prop::collection::vec(
            prop_oneof![any::<i64>(), -3i64..300, Just(i64::MIN), Just(i64::MAX)],
            0..9
        )
        .prop_map(Feature::int64_list),
    ]
}

fn arb_features() -> impl Strategy<Value = Features> {
    prop::collection::btree_map(arb_name(), arb_feature(), 0..7)
        .prop_map(|feature| Features { feature })
}

fn arb_example() -> impl Strategy<Value = Example> {
    prop::option::weighted(0.9, arb_features()).prop_map(|features| Example { features })
}

fn arb_sequence_example() -> impl Strategy<Value = SequenceExample> {
    let lists =
        prop::collection::btree_map(arb_name(), prop::collection::vec(arb_feature(), 0..5), 0..5)
            .prop_map(|lists| FeatureLists {
                feature_list: lists
                    .into_iter()
                    .map(|(k, feature)| (k, tfrec::example::FeatureList { feature }))
                    .collect(),
            });
    (
        prop::option::weighted(0.7, arb_features()),
        prop::option::weighted(0.9, lists),
    )
        .prop_map(|(context, feature_lists)| SequenceExample {
            context,
            feature_lists,
        })
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

/// Messages compare through their deterministic encoding, which keeps NaN
/// bit patterns (prost's `PartialEq` says NaN != NaN).
fn same<M: Deterministic>(a: &M, b: &M) -> bool {
    encode(a) == encode(b)
}

/// Every accessor of `view` agrees with `owned`.
fn check_feature(view: FeatureView<'_>, owned: &Feature) {
    assert_eq!(view.kind(), FeatureKind::of(owned));
    assert!(same(&view.to_owned(), owned));
    match &owned.kind {
        None => {
            assert_eq!(view.len(), 0);
            assert!(view.bytes_list().is_none() && view.float_list().is_none());
            assert!(view.int64_list().is_none() && view.floats().is_none());
        }
        Some(Kind::BytesList(list)) => {
            assert_eq!(view.len(), list.value.len());
            let got: Vec<&[u8]> = view.bytes_list().unwrap().collect();
            assert_eq!(
                got,
                list.value.iter().map(Vec::as_slice).collect::<Vec<_>>()
            );
            assert_eq!(view.bytes_list().unwrap().len(), list.value.len());
        }
        Some(Kind::FloatList(list)) => {
            let want: Vec<u32> = list.value.iter().map(|v| v.to_bits()).collect();
            assert_eq!(view.len(), want.len());
            let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&view.float_list().unwrap().collect::<Vec<_>>()), want);
            assert_eq!(bits(&view.floats().unwrap()), want);
            let mut out = vec![7.0f32; want.len() + 1];
            assert_eq!(view.copy_floats_into(&mut out).unwrap(), want.len());
            assert_eq!(bits(&out[..want.len()]), want);
            if let Some(bytes) = view.float_bytes() {
                let le: Vec<u8> = list.value.iter().flat_map(|v| v.to_le_bytes()).collect();
                assert_eq!(bytes, &le[..]);
            }
        }
        Some(Kind::Int64List(list)) => {
            assert_eq!(view.len(), list.value.len());
            assert_eq!(view.int64_list().unwrap().collect::<Vec<_>>(), list.value);
            let mut out = vec![0i64; list.value.len()];
            assert_eq!(view.copy_int64s_into(&mut out).unwrap(), list.value.len());
            assert_eq!(out, list.value);
        }
    }
}

fn check_features(view: &FeaturesView<'_>, owned: &Features) {
    assert_eq!(view.len(), owned.feature.len());
    for (name, f) in &owned.feature {
        check_feature(view.get(name).expect("feature present"), f);
    }
    let mut names: Vec<&str> = view.names().collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), view.len(), "names are unique");
}

/// The view of `bytes` agrees with prost's decoding, which must succeed.
fn check_example_bytes(bytes: &[u8]) -> Example {
    let theirs = Example::decode(bytes).expect("prost decodes");
    let view = ExampleView::parse(bytes).expect("view parses");
    assert!(
        same(&view.to_owned(), &theirs),
        "{:?}\n{:?}",
        view.to_owned(),
        theirs
    );
    assert_eq!(view.has_features(), theirs.features.is_some());
    check_features(
        view.features(),
        theirs.features.as_ref().unwrap_or(&Features::default()),
    );
    theirs
}

fn check_sequence_bytes(bytes: &[u8]) -> SequenceExample {
    let theirs = SequenceExample::decode(bytes).expect("prost decodes");
    let view = SequenceExampleView::parse(bytes).expect("view parses");
    assert!(same(&view.to_owned(), &theirs));
    assert_eq!(view.has_context(), theirs.context.is_some());
    assert_eq!(view.has_feature_lists(), theirs.feature_lists.is_some());
    check_features(
        view.context(),
        theirs.context.as_ref().unwrap_or(&Features::default()),
    );
    let lists = theirs.feature_lists.clone().unwrap_or_default();
    assert_eq!(view.feature_lists().len(), lists.feature_list.len());
    for (name, list) in &lists.feature_list {
        let v = view.feature_lists().get(name).expect("list present");
        assert_eq!(v.len(), list.feature.len());
        assert_eq!(v.iter().len(), list.feature.len());
        for (step, f) in v.iter().zip(&list.feature) {
            check_feature(step, f);
        }
    }
    theirs
}

// ---------------------------------------------------------------------------
// Every other way to encode the same message
// ---------------------------------------------------------------------------

/// Sometimes an unknown field (never a group: prost and we agree on
/// those, but keep this simple).
fn noise(rng: &mut Rng) -> Vec<u8> {
    match rng.next() % 8 {
        0 => varint_field(20 + rng.below(9) as u32, rng.next()),
        1 => len_field(4 + rng.below(20) as u32, &[1, 2, 3]),
        2 => [key(9, FIXED32), vec![0; 4]].concat(),
        3 => [key(15, FIXED64), vec![0; 8]].concat(),
        4 => [key(7, 3), varint_field(1, 5), key(7, 4)].concat(), // a group
        _ => Vec::new(),
    }
}

fn wild_list(kind: &Kind, rng: &mut Rng) -> Vec<u8> {
    let mut out = noise(rng);
    match kind {
        Kind::BytesList(l) => {
            for v in &l.value {
                out.extend(len_field(1, v));
                out.extend(noise(rng));
            }
        }
        Kind::FloatList(l) => {
            for r in rng.split(l.value.len()) {
                let chunk = &l.value[r];
                if rng.one_in(2) {
                    let body: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
                    out.extend(len_field(1, &body));
                } else {
                    for v in chunk {
                        out.extend(key(1, FIXED32));
                        out.extend(v.to_le_bytes());
                    }
                }
                out.extend(noise(rng));
            }
        }
        Kind::Int64List(l) => {
            for r in rng.split(l.value.len()) {
                let chunk = &l.value[r];
                if rng.one_in(2) {
                    let mut body = Vec::new();
                    for &v in chunk {
                        put_varint(&mut body, v as u64);
                    }
                    out.extend(len_field(1, &body));
                } else {
                    for &v in chunk {
                        out.extend(varint_field(1, v as u64));
                    }
                }
            }
        }
    }
    out
}

fn kind_field(kind: &Kind) -> u32 {
    match kind {
        Kind::BytesList(_) => 1,
        Kind::FloatList(_) => 2,
        Kind::Int64List(_) => 3,
    }
}

/// A decoy list of another kind than `kind` (or any kind).
fn decoy(kind: Option<&Kind>, rng: &mut Rng) -> Vec<u8> {
    let other = (kind.map_or(0, kind_field) + rng.below(2) as u32) % 3 + 1;
    let body = match other {
        1 => len_field(1, b"decoy"),
        2 => [key(1, FIXED32), vec![0; 4]].concat(),
        _ => varint_field(1, 1),
    };
    len_field(other, &body)
}

/// The `Feature` messages (one or more) that merge into `f`.
fn wild_feature_messages(f: &Feature, rng: &mut Rng) -> Vec<Vec<u8>> {
    let Some(kind) = &f.kind else {
        // No kind: any number of Feature messages without list fields.
        return (0..rng.below(3)).map(|_| noise(rng)).collect();
    };
    // A list of another kind first, discarded by the real one after it.
    let mut messages = vec![];
    let mut first = Vec::new();
    if rng.one_in(3) {
        first.extend(decoy(Some(kind), rng));
    }
    // The list's values split over several list fields, themselves split
    // over several Feature messages.
    let field = kind_field(kind);
    let lists: Vec<Vec<u8>> = match kind {
        Kind::BytesList(l) => rng
            .split(l.value.len())
            .into_iter()
            .map(|r| {
                wild_list(
                    &Kind::BytesList(tfrec::example::BytesList {
                        value: l.value[r].to_vec(),
                    }),
                    rng,
                )
            })
            .collect(),
        Kind::FloatList(l) => rng
            .split(l.value.len())
            .into_iter()
            .map(|r| {
                wild_list(
                    &Kind::FloatList(tfrec::example::FloatList {
                        value: l.value[r].to_vec(),
                    }),
                    rng,
                )
            })
            .collect(),
        Kind::Int64List(l) => rng
            .split(l.value.len())
            .into_iter()
            .map(|r| {
                wild_list(
                    &Kind::Int64List(tfrec::example::Int64List {
                        value: l.value[r].to_vec(),
                    }),
                    rng,
                )
            })
            .collect(),
    };
    let mut current = first;
    for list in lists {
        current.extend(len_field(field, &list));
        current.extend(noise(rng));
        if rng.one_in(2) {
            messages.push(std::mem::take(&mut current));
        }
    }
    messages.push(current);
    messages
}

/// A map entry for `name` whose value fields merge into `value`.
fn wild_entry(name: &str, values: Vec<Vec<u8>>, rng: &mut Rng) -> Vec<u8> {
    let key_field = if name.is_empty() && rng.one_in(2) {
        Vec::new()
    } else {
        len_field(1, name.as_bytes())
    };
    let mut body = Vec::new();
    let key_at = rng.below(values.len() + 1);
    for (i, v) in values.iter().enumerate() {
        if i == key_at {
            body.extend(&key_field);
        }
        body.extend(noise(rng));
        body.extend(len_field(2, v));
    }
    if key_at == values.len() {
        body.extend(&key_field);
    }
    len_field(1, &body)
}

/// One or more `Features` messages that merge into `features`, including
/// entries overridden by later ones of the same name.
fn wild_features(features: &Features, rng: &mut Rng) -> Vec<Vec<u8>> {
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let mut names: Vec<&String> = features.feature.keys().collect();
    // Any order: names are unique.
    for i in (1..names.len()).rev() {
        names.swap(i, rng.below(i + 1));
    }
    for name in names {
        let f = &features.feature[name];
        if rng.one_in(4) {
            let fake = decoy(None, rng);
            entries.push(wild_entry(name, vec![fake], rng));
        }
        let messages = wild_feature_messages(f, rng);
        entries.push(wild_entry(name, messages, rng));
    }
    let mut out = Vec::new();
    for r in rng.split(entries.len()) {
        let mut body = noise(rng);
        for e in &entries[r] {
            body.extend(e);
            body.extend(noise(rng));
        }
        out.push(body);
    }
    out
}

fn wild_example(ex: &Example, rng: &mut Rng) -> Vec<u8> {
    let mut out = noise(rng);
    if let Some(features) = &ex.features {
        for body in wild_features(features, rng) {
            out.extend(len_field(1, &body));
            out.extend(noise(rng));
        }
    }
    out
}

fn wild_sequence_example(seq: &SequenceExample, rng: &mut Rng) -> Vec<u8> {
    let mut context: Vec<Vec<u8>> = Vec::new();
    if let Some(features) = &seq.context {
        for body in wild_features(features, rng) {
            context.push(len_field(1, &body));
        }
    }
    let mut lists: Vec<Vec<u8>> = Vec::new();
    if let Some(feature_lists) = &seq.feature_lists {
        let mut entries = Vec::new();
        for (name, list) in &feature_lists.feature_list {
            if rng.one_in(4) {
                entries.push(wild_entry(name, vec![len_field(1, &[])], rng));
            }
            // The steps split over several FeatureList messages.
            let mut values = Vec::new();
            for r in rng.split(list.feature.len()) {
                let mut body = noise(rng);
                for f in &list.feature[r] {
                    body.extend(len_field(1, &wild_feature_messages(f, rng).concat()));
                }
                values.push(body);
            }
            entries.push(wild_entry(name, values, rng));
        }
        for r in rng.split(entries.len()) {
            lists.push(len_field(2, &entries[r].concat()));
        }
    }
    // Context and feature lists interleave freely, each kept in order (a
    // decoy entry must stay before the entry that overrides it).
    let mut out = Vec::new();
    let (mut c, mut l) = (context.into_iter().peekable(), lists.into_iter().peekable());
    while c.peek().is_some() || l.peek().is_some() {
        let part = match (c.peek().is_some(), l.peek().is_some()) {
            (true, true) if rng.one_in(2) => c.next(),
            (true, true) => l.next(),
            (true, false) => c.next(),
            _ => l.next(),
        };
        out.extend(part.unwrap_or_default());
    }
    out
}

/// Concatenated `Feature` messages of one kind merge into one list, which
/// is what `wild_feature_messages` relies on.
#[test]
fn wild_feature_messages_merge_back() {
    let mut rng = Rng::new(99);
    for f in [
        Feature::int64_list([1, 2, 3, 4, 5]),
        Feature::float_list([1.0, 2.0, 3.0]),
        Feature::bytes_list(["a", "b", "c", ""]),
        Feature::default(),
    ] {
        for _ in 0..50 {
            let merged = wild_feature_messages(&f, &mut rng).concat();
            assert!(same(&Feature::decode(&merged[..]).unwrap(), &f));
        }
    }
}

proptest! {
    #![proptest_config(proptest_config(400))]

    /// Our encoding decodes, through the view and through prost, to the
    /// message it came from.
    #[test]
    fn example_round_trip(ex in arb_example()) {
        let bytes = encode(&ex);
        prop_assert_eq!(bytes.len(), ex.deterministic_len());
        let back = check_example_bytes(&bytes);
        prop_assert!(same(&back, &ex));
        prop_assert!(same(&ExampleView::parse(&bytes).unwrap().to_owned(), &ex));
    }

    #[test]
    fn sequence_example_round_trip(seq in arb_sequence_example()) {
        let bytes = encode(&seq);
        prop_assert_eq!(bytes.len(), seq.deterministic_len());
        let back = check_sequence_bytes(&bytes);
        prop_assert!(same(&back, &seq));
    }

    /// Two encodings one after the other: protobuf merges them, and the
    /// view agrees with prost on the result (later names win, lists of one
    /// feature are not concatenated across entries).
    #[test]
    fn concatenation_merges_like_prost(a in arb_example(), b in arb_example()) {
        let bytes = [encode(&a), encode(&b)].concat();
        let merged = check_example_bytes(&bytes);
        let mut want = a.features.clone();
        if let Some(fb) = &b.features {
            let fa = want.get_or_insert_with(Features::default);
            for (k, v) in &fb.feature {
                fa.feature.insert(k.clone(), v.clone());
            }
        }
        let want = Example { features: want };
        prop_assert!(same(&merged, &want));
    }

    #[test]
    fn sequence_concatenation_merges_like_prost(
        a in arb_sequence_example(),
        b in arb_sequence_example(),
    ) {
        check_sequence_bytes(&[encode(&a), encode(&b)].concat());
    }

    /// The same message encoded every other way protobuf allows decodes,
    /// through the view and through prost, to that message.
    #[test]
    fn wild_encodings_agree(ex in arb_example(), seed in any::<u64>()) {
        let bytes = wild_example(&ex, &mut Rng::new(seed | 1));
        let back = check_example_bytes(&bytes);
        prop_assert!(same(&back, &ex), "{:?}", bytes);
    }

    #[test]
    fn wild_sequence_encodings_agree(seq in arb_sequence_example(), seed in any::<u64>()) {
        let bytes = wild_sequence_example(&seq, &mut Rng::new(seed | 1));
        let back = check_sequence_bytes(&bytes);
        prop_assert!(same(&back, &seq));
    }
}

proptest! {
    #![proptest_config(proptest_config(1500))]

    /// Valid encodings with a few bytes changed: the view accepts exactly
    /// what prost accepts, and then agrees with it.
    #[test]
    fn damaged_encodings_agree_with_prost(
        ex in arb_example(),
        seq in arb_sequence_example(),
        which in any::<bool>(),
        edits in edits(),
    ) {
        let mut bytes = if which { encode(&ex) } else { encode(&seq) };
        apply_edits(&mut bytes, edits);
        agree_with_prost(&bytes);
    }

    #[test]
    fn random_bytes_agree_with_prost(bytes in prop::collection::vec(any::<u8>(), 0..120)) {
        agree_with_prost(&bytes);
    }
}

/// Accepted by the view exactly when accepted by prost, and then the same.
///
/// One exception, a prost bug: prost does not check the wire type of a map
/// field, and reads a `Features.feature` or `FeatureLists.feature_list`
/// field of another wire type as if it were length-delimited, the field's
/// value taken for the entry's length. C++ skips such a field as unknown;
/// the view rejects it, as it does any known field with the wrong wire
/// type. Where such a field occurs, prost's answer is not compared.
fn agree_with_prost(bytes: &[u8]) {
    let kind = RecordKind::detect(bytes);
    let ours = ExampleView::parse(bytes);
    if ours.is_err() {
        assert_ne!(kind, RecordKind::Example);
    }
    if !has_map_field_of_wrong_wire_type(bytes, false) {
        match (ours, Example::decode(bytes)) {
            (Ok(_), Ok(_)) => {
                check_example_bytes(bytes);
            }
            (Err(_), Err(_)) => {}
            (ours, theirs) => panic!("view {ours:?}, prost {theirs:?}, bytes {bytes:02x?}"),
        }
    }
    let ours = SequenceExampleView::parse(bytes);
    if ours.is_err() {
        assert_ne!(kind, RecordKind::SequenceExample);
    }
    if !has_map_field_of_wrong_wire_type(bytes, true) {
        match (ours, SequenceExample::decode(bytes)) {
            (Ok(_), Ok(_)) => {
                check_sequence_bytes(bytes);
            }
            (Err(_), Err(_)) => {}
            (ours, theirs) => panic!("view {ours:?}, prost {theirs:?}, bytes {bytes:02x?}"),
        }
    }
}

/// The well-framed fields at the start of `buf`: (number, wire type,
/// contents of length-delimited ones). Fields inside groups are left out.
fn raw_fields(buf: &[u8]) -> Vec<(u64, u64, &[u8])> {
    fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        for i in 0..10 {
            let b = *buf.get(*pos)?;
            *pos += 1;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }
    let mut out = Vec::new();
    let mut pos = 0;
    let mut depth = 0usize;
    while pos < buf.len() {
        let Some(key) = varint(buf, &mut pos) else {
            break;
        };
        let (number, wire_type) = (key >> 3, key & 7);
        let body: &[u8] = match wire_type {
            0 => match varint(buf, &mut pos) {
                Some(_) => &[],
                None => break,
            },
            1 | 5 => {
                pos += if wire_type == 1 { 8 } else { 4 };
                &[]
            }
            2 => {
                let Some(len) = varint(buf, &mut pos) else {
                    break;
                };
                let end = pos.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
                let Some(body) = buf.get(pos..end) else {
                    break;
                };
                pos = end;
                body
            }
            3 => {
                if depth == 0 {
                    out.push((number, wire_type, &[][..]));
                }
                depth += 1;
                continue;
            }
            4 if depth > 0 => {
                depth -= 1;
                continue;
            }
            4 => &[],
            _ => break,
        };
        if depth == 0 {
            out.push((number, wire_type, body));
        }
    }
    out
}

/// Whether a `Features` or `FeatureLists` message in `bytes` (read as an
/// `Example`, or as a `SequenceExample` when `sequence`) has a field 1 that
/// is not length-delimited.
fn has_map_field_of_wrong_wire_type(bytes: &[u8], sequence: bool) -> bool {
    raw_fields(bytes)
        .into_iter()
        .any(|(number, wire_type, body)| {
            wire_type == 2
                && (number == 1 || (sequence && number == 2))
                && raw_fields(body).iter().any(|&(n, w, _)| n == 1 && w != 2)
        })
}

/// The prost bug `agree_with_prost` allows for, pinned down: should prost
/// fix it, this test fails and the allowance can go.
#[test]
fn prost_reads_a_varint_map_field_as_an_entry() {
    // Features { 1: varint 2 } then bytes that prost takes as a 2-byte entry.
    let features = [varint_field(1, 2), vec![0x0a, 0x00]].concat();
    let bytes = len_field(1, &features);
    let theirs = Example::decode(&bytes[..]).unwrap();
    assert!(theirs.features.unwrap().feature.contains_key(""));
    assert!(ExampleView::parse(&bytes).is_err());
    assert!(has_map_field_of_wrong_wire_type(&bytes, false));
}

// ---------------------------------------------------------------------------
// Merge rules, spelled out
// ---------------------------------------------------------------------------

#[test]
fn later_entries_win_whole_not_merged() {
    let a = Example::default().int64("x", [1, 2]).float("y", [1.0]);
    let b = Example::default().int64("x", [3]);
    let bytes = [encode(&a), encode(&b)].concat();
    let view = ExampleView::parse(&bytes).unwrap();
    let x: Vec<i64> = view.get("x").unwrap().int64_list().unwrap().collect();
    assert_eq!(x, [3]);
    assert_eq!(view.len(), 2);
    // Wire order, with the winning entry's position.
    assert_eq!(view.iter().map(|(n, _)| n).collect::<Vec<_>>(), ["y", "x"]);
}

#[test]
fn names_must_be_utf8_for_prost_too() {
    let entry = len_field(1, &[len_field(1, &[0xff]), len_field(2, &[])].concat());
    let bytes = len_field(1, &entry);
    assert!(ExampleView::parse(&bytes).is_err());
    assert!(Example::decode(&bytes[..]).is_err());
}

#[test]
fn many_features_look_up_like_a_map() {
    let mut ex = Example::default();
    let mut want = BTreeMap::new();
    for i in 0..500i64 {
        let name = format!("{:x}", i * 7919 % 1009);
        ex = ex.int64(name.clone(), [i]);
        want.insert(name, i);
    }
    let bytes = [encode(&ex), encode(&Example::default().int64("3", [-1]))].concat();
    want.insert("3".into(), -1);
    let view = ExampleView::parse(&bytes).unwrap();
    assert_eq!(view.len(), want.len());
    for (name, v) in &want {
        let got: Vec<i64> = view.get(name).unwrap().int64_list().unwrap().collect();
        assert_eq!(got, [*v], "{name}");
    }
    assert!(view.get("zzz").is_none());
}
