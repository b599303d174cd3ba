//! The hot-path `TensorProto` codec: the one place that knows how a tensor
//! looks on the wire.
//!
//! Decoding borrows `tensor_content` from the payload, so a numeric record
//! decodes without touching the heap (shapes of rank ≤ 6 stay inline).
//! Encoding reproduces `tf.io.serialize_tensor` byte for byte: `dtype`, then
//! `tensor_shape` (present, possibly empty, even for scalars), then
//! `tensor_content` for numeric dtypes (omitted when empty) or one
//! `string_val` per element for strings.
//!
//! Where TensorFlow's decoder is lenient this one follows it: fields with an
//! unexpected wire type are skipped as unknown, `unknown_rank` is ignored in
//! favour of the dimensions given, a lone trailing complex component is
//! ignored, and out-of-range `int_val`/`half_val` values are truncated to the
//! element width. One rule is stricter: more typed values than elements is an
//! error (TensorFlow silently keeps the first ones).
//!
//! The parts: [`decode`] (the message, its shape, string values and the
//! [`DecodeLimits`]), the typed `*_val` fields' rules for numeric values,
//! [`encode`], and the field numbers both directions share. The methods
//! [`TensorView::decode`](crate::TensorView::decode),
//! [`TensorView::encode`](crate::TensorView::encode),
//! [`TensorView::to_proto_bytes`](crate::TensorView::to_proto_bytes) and
//! [`Tensor::decode`](crate::Tensor::decode) are defined here too, so that
//! the tensor types know nothing of the codec.
//!
//! Knows nothing of files or framing: it turns one record's payload into a
//! tensor and back.

mod decode;
mod encode;
mod fields;
mod typed;

pub use decode::{decode, decode_with, DecodeLimits};
pub use encode::{encode, encode_content_prefix, encoded_len};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    #[test]
    fn decode_borrows_content() {
        let t = Tensor::from_slice(&[1u16, 2, 3], &[3]).unwrap();
        let bytes = t.to_proto_bytes();
        let v = decode(&bytes).unwrap();
        assert!(v.is_borrowed());
        assert_eq!(v, *t);
        assert_eq!(encoded_len(&v), bytes.len());
    }
}
