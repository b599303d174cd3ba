//! Encoding a tensor exactly as `tf.io.serialize_tensor` does, and the
//! exact length of that encoding.
//!
//! Knows nothing of files or framing, nor of decoding.

use super::fields::{DIM_SIZE, DTYPE, SHAPE_DIM, STRING_VAL, TENSOR_CONTENT, TENSOR_SHAPE};
use crate::proto::wire::{self, put_key, put_varint, varint_len};
use crate::tensor::{Data, TensorView};

fn dim_msg_len(d: usize) -> usize {
    if d == 0 {
        0
    } else {
        1 + varint_len(d as u64)
    }
}

fn shape_msg_len(shape: &[usize]) -> usize {
    shape
        .iter()
        .map(|&d| {
            let m = dim_msg_len(d);
            1 + varint_len(m as u64) + m
        })
        .sum()
}

/// Exact length of [`encode`]'s output.
pub fn encoded_len(t: &TensorView<'_>) -> usize {
    let shape = shape_msg_len(t.shape());
    let mut len = 1 + varint_len(t.dtype().code() as u64) + 1 + varint_len(shape as u64) + shape;
    match t.data() {
        Data::Bytes(b) if !b.is_empty() => len += 1 + varint_len(b.len() as u64) + b.len(),
        Data::Bytes(_) => {}
        Data::Strings(s) => {
            len += s
                .iter()
                .map(|s| 1 + varint_len(s.len() as u64) + s.len())
                .sum::<usize>()
        }
    }
    len
}

/// Appends `t` serialized exactly as `tf.io.serialize_tensor` would.
pub fn encode(t: &TensorView<'_>, out: &mut Vec<u8>) {
    out.reserve(encoded_len(t));
    put_head(t, out);
    match t.data() {
        Data::Bytes(b) => {
            if !b.is_empty() {
                put_key(out, TENSOR_CONTENT, wire::LEN);
                put_varint(out, b.len() as u64);
                out.extend_from_slice(b);
            }
        }
        Data::Strings(strings) => {
            for s in strings {
                put_key(out, STRING_VAL, wire::LEN);
                put_varint(out, s.len() as u64);
                out.extend_from_slice(s);
            }
        }
    }
}

/// Appends what [`encode`] writes before a tensor's `tensor_content`, so
/// that `encode(t)` is these bytes followed by `t.bytes()`. Returns `false`,
/// appending nothing, when the values do not travel in `tensor_content`
/// (string and empty tensors). Lets a writer stream a large content, or
/// place a small one, without building the whole serialization first.
pub fn encode_content_prefix(t: &TensorView<'_>, out: &mut Vec<u8>) -> bool {
    let Some(b) = t.bytes().filter(|b| !b.is_empty()) else {
        return false;
    };
    put_head(t, out);
    put_key(out, TENSOR_CONTENT, wire::LEN);
    put_varint(out, b.len() as u64);
    true
}

/// The dtype and shape fields.
fn put_head(t: &TensorView<'_>, out: &mut Vec<u8>) {
    put_key(out, DTYPE, wire::VARINT);
    put_varint(out, t.dtype().code() as u64);
    put_key(out, TENSOR_SHAPE, wire::LEN);
    put_varint(out, shape_msg_len(t.shape()) as u64);
    for &d in t.shape() {
        put_key(out, SHAPE_DIM, wire::LEN);
        put_varint(out, dim_msg_len(d) as u64);
        if d != 0 {
            put_key(out, DIM_SIZE, wire::VARINT);
            put_varint(out, d as u64);
        }
    }
}

impl TensorView<'_> {
    /// Serializes as `tf.io.serialize_tensor` does, appending to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        encode(self, out)
    }

    /// Serializes as `tf.io.serialize_tensor` does.
    pub fn to_proto_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(encoded_len(self));
        self.encode(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tensor;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn serialize_tensor_known_bytes() {
        // tf.io.serialize_tensor(tf.constant(1.0)) and friends.
        let scalar = Tensor::scalar(1.0f32).to_proto_bytes();
        assert_eq!(hex(&scalar), "08011200220400 00803f".replace(' ', ""));
        let empty = Tensor::from_slice::<i32>(&[], &[0])
            .unwrap()
            .to_proto_bytes();
        assert_eq!(hex(&empty), "080312021200");
        let strings = Tensor::from_strings(&[b"ab".as_slice(), b""], &[2])
            .unwrap()
            .to_proto_bytes();
        assert_eq!(hex(&strings), "0807120412020802420261624200");
    }

    #[test]
    fn content_prefix_is_encode_without_the_content() {
        let t = Tensor::from_slice(&[7u32; 300], &[3, 100]).unwrap();
        let mut whole = Vec::new();
        assert!(encode_content_prefix(&t, &mut whole));
        whole.extend_from_slice(t.bytes().unwrap());
        assert_eq!(whole, t.to_proto_bytes());
        let mut none = Vec::new();
        assert!(!encode_content_prefix(
            &Tensor::from_strings(&["a"], &[1]).unwrap(),
            &mut none
        ));
        let empty = Tensor::from_slice::<f32>(&[], &[0]).unwrap();
        assert!(!encode_content_prefix(&empty, &mut none));
        assert!(none.is_empty());
    }
}
