//! `Example` and `SequenceExample` views, record detection and the JSON
//! form on arbitrary bytes: never a panic; whatever a view accepts, prost
//! decodes to the same message; every feature's accessors agree with each
//! other; and the JSON of a view reads back as the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use tfrec::example::json::{self, JsonRecord};
use tfrec::example::feature::Kind;
use tfrec::example::{
    encode, Example, ExampleView, Feature, FeatureKind, FeatureView, Features, RecordKind,
    SequenceExample,
    SequenceExampleView,
};

/// JSON carries one NaN: make every NaN that one.
fn canonical(feature: &mut Feature) {
    if let Some(Kind::FloatList(list)) = &mut feature.kind {
        for v in &mut list.value {
            if v.is_nan() {
                *v = f32::NAN;
            }
        }
    }
}

fn canonical_features(features: &mut Features) {
    features.feature.values_mut().for_each(canonical);
}

fn check_feature(f: FeatureView<'_>) {
    let owned = f.to_owned();
    assert_eq!(FeatureKind::of(&owned), f.kind());
    let counted = match f.kind() {
        FeatureKind::None => 0,
        FeatureKind::Bytes => f.bytes_list().unwrap().count(),
        FeatureKind::Float => {
            let values: Vec<u32> = f.float_list().unwrap().map(f32::to_bits).collect();
            let slice: Vec<u32> = f.floats().unwrap().iter().map(|v| v.to_bits()).collect();
            assert_eq!(values, slice);
            let mut out = vec![0f32; f.len()];
            assert_eq!(f.copy_floats_into(&mut out).unwrap(), f.len());
            values.len()
        }
        FeatureKind::Int64 => {
            let mut out = vec![0i64; f.len()];
            f.copy_int64s_into(&mut out).unwrap();
            assert!(out.iter().copied().eq(f.int64_list().unwrap()));
            out.len()
        }
    };
    assert_eq!(counted, f.len());
    if f.kind() == FeatureKind::Bytes {
        for i in 0..f.len().min(4) {
            let _ = f.tensor(i);
        }
    }
}

fn json_line(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> JsonRecord {
    let mut line = Vec::new();
    write(&mut line).expect("writing to a Vec");
    let text = std::str::from_utf8(&line).expect("JSON is UTF-8");
    JsonRecord::from_json_line(text).expect("our JSON reads back")
}

fuzz_target!(|data: &[u8]| {
    let kind = RecordKind::detect(data);

    match ExampleView::parse(data) {
        Ok(view) => {
            let mut ours = view.to_owned();
            let theirs = Example::decode(data).expect("prost accepts what the view accepts");
            assert_eq!(encode(&ours), encode(&theirs));
            for (name, f) in view.iter() {
                check_feature(f);
                assert_eq!(view.get(name).map(|g| g.len()), Some(f.len()));
            }
            let JsonRecord::Example(mut back) =
                json_line(|out| json::write_example_json(out, "f", 0, 0, &view))
            else {
                panic!("an Example's JSON reads back as another kind");
            };
            canonical_features(ours.features.get_or_insert_with(Features::default));
            canonical_features(back.features.as_mut().expect("features"));
            assert_eq!(encode(&back), encode(&ours));
        }
        Err(_) => assert_ne!(kind, RecordKind::Example),
    }

    match SequenceExampleView::parse(data) {
        Ok(view) => {
            let mut ours = view.to_owned();
            let theirs = SequenceExample::decode(data).expect("prost accepts what the view accepts");
            assert_eq!(encode(&ours), encode(&theirs));
            for (_, f) in view.context().iter() {
                check_feature(f);
            }
            for (name, list) in view.feature_lists().iter() {
                assert_eq!(list.iter().count(), list.len());
                list.iter().for_each(check_feature);
                let again = view.feature_lists().get(name).expect("listed name");
                assert_eq!(again.len(), list.len());
            }
            // With neither part, the JSON line holds no key to read back by.
            if view.has_context() || view.has_feature_lists() {
                let JsonRecord::SequenceExample(mut back) =
                    json_line(|out| json::write_sequence_example_json(out, "f", 0, 0, &view))
                else {
                    panic!("a SequenceExample's JSON reads back as another kind");
                };
                for seq in [&mut ours, &mut back] {
                    seq.context.iter_mut().for_each(canonical_features);
                    let lists = seq.feature_lists.iter_mut().flat_map(|l| l.feature_list.values_mut());
                    for list in lists {
                        list.feature.iter_mut().for_each(canonical);
                    }
                }
                assert_eq!(encode(&back), encode(&ours));
            }
        }
        Err(_) => assert_ne!(kind, RecordKind::SequenceExample),
    }

    let mut line = Vec::new();
    let written = json::write_detected_json(&mut line, "f", 0, 0, data).expect("writing to a Vec");
    assert_eq!(written, kind);
    let back = JsonRecord::from_json_line(std::str::from_utf8(&line).expect("UTF-8"))
        .expect("our JSON reads back");
    assert_eq!(back.kind(), kind);
});
