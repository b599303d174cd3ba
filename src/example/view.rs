//! Borrowing views of serialized `Example`s and `SequenceExample`s.
//!
//! Parsing checks the whole payload once and keeps a small index: for each
//! feature its name, where its bytes are, its kind and its value count.
//! Values stay in the payload and are decoded as they are read. The parts:
//! `index` parses the wire format into that index; `example` and
//! `sequence` are the borrowed map views over it; `feature` is one
//! feature's view; `values` the iterators over its values.
//!
//! Knows nothing of files, threads or TFRecord framing, nor of specs,
//! JSON or owned messages beyond copying values out into them.

mod example;
// Visible to `example::testing`, which must not import this file: its
// tests import `testing`.
pub(super) mod feature;
mod index;
mod sequence;
mod values;

pub use example::{ExampleView, FeaturesIter, FeaturesView};
pub use feature::FeatureView;
pub use sequence::{
    FeatureListIter, FeatureListView, FeatureListsIter, FeatureListsView, SequenceExampleView,
};
pub use values::{BytesValues, FloatValues, Int64Values};

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::example::feature_kind::FeatureKind;
    use crate::example::owned::encode;
    use crate::example::testing::*;
    use crate::proto::messages::Example;

    #[test]
    fn packed_unpacked_and_mixed_scalars() {
        let float_list = [
            packed_floats(&[1.0, 2.0]),
            fixed32_field(1, 3.0),
            packed_floats(&[]),
            fixed32_field(9, 99.0), // unknown field
            packed_floats(&[4.0]),
        ]
        .concat();
        let int64_list = [
            varint_field(1, 5),
            packed_ints(&[-1, i64::MAX]),
            varint_field(1, (-7i64) as u64),
        ]
        .concat();
        let payload = example(&[
            entry("f", &len_field(2, &float_list)),
            entry("i", &len_field(3, &int64_list)),
        ]);
        let view = ExampleView::parse(&payload).unwrap();
        let f = view.get("f").unwrap();
        assert_eq!((f.kind(), f.len()), (FeatureKind::Float, 4));
        assert_eq!(floats(f), [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(f.float_bytes(), None); // spread over several fields
        assert!(matches!(f.floats(), Some(Cow::Owned(v)) if v == [1.0, 2.0, 3.0, 4.0]));
        assert_eq!(f.float_list().unwrap().len(), 4);
        let i = view.get("i").unwrap();
        assert_eq!(ints(i), [5, -1, i64::MAX, -7]);
        assert_eq!(i.len(), 4);
        assert!(i.float_list().is_none() && i.bytes_list().is_none());
    }

    #[test]
    fn floats_borrow_when_aligned_and_copy_when_not() {
        let values: Vec<f32> = (0..16).map(|i| i as f32 * 0.5).collect();
        let ex = Example::default().float("x", values.iter().copied());
        let bytes = encode(&ex);
        // Try every alignment of the payload.
        let mut buf = vec![0u8; bytes.len() + 4];
        let mut borrowed = 0;
        for shift in 0..4 {
            buf[shift..shift + bytes.len()].copy_from_slice(&bytes);
            let payload = &buf[shift..shift + bytes.len()];
            let view = ExampleView::parse(payload).unwrap();
            let f = view.get("x").unwrap();
            assert_eq!(f.float_bytes().map(<[u8]>::len), Some(64));
            let got = f.floats().unwrap();
            assert_eq!(&got[..], &values[..]);
            if matches!(got, Cow::Borrowed(_)) {
                borrowed += 1;
            }
            let mut out = vec![0f32; 20];
            assert_eq!(f.copy_floats_into(&mut out).unwrap(), 16);
            assert_eq!(&out[..16], &values[..]);
        }
        assert_eq!(borrowed, 1, "one alignment in four is zero-copy");
    }

    #[test]
    fn copy_into_checks_kind_and_room() {
        let payload = encode(&Example::default().int64("i", [1, 2, 3]).float("f", [1.0]));
        let view = ExampleView::parse(&payload).unwrap();
        let i = view.get("i").unwrap();
        let mut out = [0i64; 3];
        assert_eq!(i.copy_int64s_into(&mut out).unwrap(), 3);
        assert_eq!(out, [1, 2, 3]);
        assert!(reason(i.copy_int64s_into(&mut [0; 2]).unwrap_err()).contains("holds 2"));
        assert!(reason(i.copy_floats_into(&mut [0.0; 3]).unwrap_err())
            .contains("int64_list, not float_list"));
        let f = view.get("f").unwrap();
        assert!(f.copy_int64s_into(&mut out).is_err());
        assert!(f.tensor(0).is_err());
    }

    #[test]
    fn tensors_in_bytes_features() {
        let a = crate::tensor::Tensor::from_slice(&[1.5f32, 2.5], &[2]).unwrap();
        let b = crate::tensor::Tensor::from_strings(&["x"], &[1]).unwrap();
        let payload =
            encode(&Example::default().bytes("t", [a.to_proto_bytes(), b.to_proto_bytes()]));
        let view = ExampleView::parse(&payload).unwrap();
        let t = view.get("t").unwrap();
        assert_eq!(t.tensor(1).unwrap(), *b);
        let all = t.decode_tensors().unwrap();
        assert_eq!(all, [a.view(), b.view()]);
        assert!(all[0].is_borrowed());
        assert!(reason(t.tensor(2).unwrap_err()).contains("no value 2"));
        let junk = encode(&Example::default().bytes("t", ["junk"]));
        let view = ExampleView::parse(&junk).unwrap();
        assert!(view.get("t").unwrap().tensor(0).is_err());
    }
}
