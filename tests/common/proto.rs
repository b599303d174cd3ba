//! The protobuf wire format written out by hand, independent of the
//! crate's own encoder, so tests can build payloads the crate must accept.
//! Knows nothing of TFRecord framing or files.

pub const VARINT: u8 = 0;
pub const FIXED64: u8 = 1;
pub const LEN: u8 = 2;
pub const FIXED32: u8 = 5;

pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let low = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

pub fn varint(v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, v);
    out
}

pub fn key(field: u32, wire_type: u8) -> Vec<u8> {
    varint((u64::from(field) << 3) | u64::from(wire_type))
}

/// A varint field.
pub fn varint_field(field: u32, v: u64) -> Vec<u8> {
    let mut out = key(field, VARINT);
    put_varint(&mut out, v);
    out
}

/// A length-delimited field.
pub fn len_field(field: u32, body: &[u8]) -> Vec<u8> {
    let mut out = key(field, LEN);
    put_varint(&mut out, body.len() as u64);
    out.extend_from_slice(body);
    out
}

/// A `TensorShapeProto` body; a zero dimension is an empty `Dim`, as
/// TensorFlow writes it.
pub fn shape_body(dims: &[i64]) -> Vec<u8> {
    let mut out = Vec::new();
    for &d in dims {
        let dim = if d == 0 {
            Vec::new()
        } else {
            varint_field(1, d as u64)
        };
        out.extend(len_field(2, &dim));
    }
    out
}

/// `dtype` and `tensor_shape` fields.
pub fn proto_head(dtype_code: i64, dims: &[i64]) -> Vec<u8> {
    let mut out = varint_field(1, dtype_code as u64);
    out.extend(len_field(2, &shape_body(dims)));
    out
}
