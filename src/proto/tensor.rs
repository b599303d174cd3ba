//! The hot-path `TensorProto` codec.
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

use std::borrow::Cow;

use super::wire::{self, put_key, put_varint, varint_len, Fields, Value};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::{check_bools, num_elements, Data, Dims, TensorView, MAX_RANK};

// TensorProto field numbers.
const DTYPE: u32 = 1;
const TENSOR_SHAPE: u32 = 2;
const TENSOR_CONTENT: u32 = 4;
const FLOAT_VAL: u32 = 5;
const DOUBLE_VAL: u32 = 6;
const INT_VAL: u32 = 7;
const STRING_VAL: u32 = 8;
const SCOMPLEX_VAL: u32 = 9;
const INT64_VAL: u32 = 10;
const BOOL_VAL: u32 = 11;
const DCOMPLEX_VAL: u32 = 12;
const HALF_VAL: u32 = 13;
const UINT32_VAL: u32 = 16;
const UINT64_VAL: u32 = 17;

// TensorShapeProto and its Dim.
const SHAPE_DIM: u32 = 2;
const DIM_SIZE: u32 = 1;

/// Bounds on what decoding may allocate.
///
/// Decoding allocates in two cases only; a numeric tensor that carries its
/// values in `tensor_content` is borrowed from the payload.
///
/// - A numeric tensor built from the typed `*_val` fields: one buffer of
///   elements × element size. TensorFlow repeats the last value to fill the
///   shape (and fills with zeros when there is none), so a few bytes can
///   describe a huge tensor (`float_val: [0]` with shape `[1000, 1000]` is
///   4 MB from a 20-byte payload).
/// - A string tensor: a table of `size_of::<Cow<[u8]>>()` bytes (24 on
///   64-bit targets) an element; the strings themselves are borrowed.
///
/// Each such buffer or table may take at most
/// [`allowed(payload_len)`](DecodeLimits::allowed) bytes:
///
/// ```text
/// min(max_expanded_bytes, max(expansion_floor, expansion_ratio × payload_len))
/// ```
///
/// checked before anything is allocated (repeated fields are counted
/// first). With the defaults, decoding a payload of `len` bytes allocates at
/// most `max(1 MiB, 32 × len)` bytes and never more than 1 GiB, plus the
/// shape when its rank exceeds 6 (at most 2 KiB) and the error message of a
/// rejected tensor.
///
/// The ratio of 32 admits every dense legitimate encoding: a string element
/// costs 24 bytes of table for at least 2 payload bytes as a `string_val`
/// (12×) or 1 byte of string `tensor_content` (24×). So the shape `[10⁶]`
/// with 10⁶ empty `string_val`s (a 2 MB payload, a 24 MB table) decodes.
/// What the defaults refuse, and TensorFlow would accept, is a tensor built
/// from typed values that is both over 1 MiB and over 32 times its payload
/// (or over 1 GiB); pass larger limits to [`decode_with`] for such data.
///
/// ```
/// use tfrec::proto::tensor::DecodeLimits;
///
/// let limits = DecodeLimits::default();
/// assert_eq!(limits.allowed(100), 1 << 20); // the floor
/// assert_eq!(limits.allowed(1 << 20), 32 << 20); // the ratio
/// assert_eq!(limits.allowed(1 << 30), 1 << 30); // the cap
///
/// // A fixed bound, whatever the payload.
/// let fixed = DecodeLimits { max_expanded_bytes: 4000, ..DecodeLimits::default() };
/// assert_eq!(fixed.allowed(1 << 30), 4000);
/// assert_eq!(DecodeLimits::fixed(4000).allowed(1 << 30), 4000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Absolute cap, in bytes, on a buffer or table built while decoding,
    /// whatever the payload's size (default: 1 GiB).
    pub max_expanded_bytes: usize,
    /// Bytes always allowed, however small the payload, below the cap
    /// (default: 1 MiB).
    pub expansion_floor: usize,
    /// Bytes allowed per payload byte, below the cap (default: 32).
    pub expansion_ratio: usize,
}

impl DecodeLimits {
    /// Default [`max_expanded_bytes`](DecodeLimits::max_expanded_bytes): 1 GiB.
    pub const DEFAULT_MAX_EXPANDED_BYTES: usize = 1 << 30;
    /// Default [`expansion_floor`](DecodeLimits::expansion_floor): 1 MiB.
    pub const DEFAULT_EXPANSION_FLOOR: usize = 1 << 20;
    /// Default [`expansion_ratio`](DecodeLimits::expansion_ratio): 32.
    pub const DEFAULT_EXPANSION_RATIO: usize = 32;

    /// Limits that allow exactly `bytes`, whatever the payload's size.
    pub fn fixed(bytes: usize) -> DecodeLimits {
        DecodeLimits {
            max_expanded_bytes: bytes,
            expansion_floor: bytes,
            expansion_ratio: 0,
        }
    }

    /// The largest buffer or table decoding a payload of `payload_len`
    /// bytes may allocate.
    pub fn allowed(&self, payload_len: usize) -> usize {
        self.expansion_ratio
            .saturating_mul(payload_len)
            .max(self.expansion_floor)
            .min(self.max_expanded_bytes)
    }
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_expanded_bytes: Self::DEFAULT_MAX_EXPANDED_BYTES,
            expansion_floor: Self::DEFAULT_EXPANSION_FLOOR,
            expansion_ratio: Self::DEFAULT_EXPANSION_RATIO,
        }
    }
}

/// Decodes a serialized `TensorProto` with the default [`DecodeLimits`].
pub fn decode(payload: &[u8]) -> Result<TensorView<'_>> {
    decode_with(payload, &DecodeLimits::default())
}

/// Decodes a serialized `TensorProto`, following TensorFlow's rules:
/// non-empty `tensor_content` wins and must hold exactly elements × size
/// bytes; otherwise the typed field for the dtype supplies the values, the
/// last one repeating when there are fewer than elements, zeros when there
/// are none, and an error when there are more.
///
/// Whatever the input, the only allocations are those [`DecodeLimits`]
/// bounds, and the work is linear in the payload's length plus the bytes
/// allocated.
pub fn decode_with<'a>(payload: &'a [u8], limits: &DecodeLimits) -> Result<TensorView<'a>> {
    let allowed = limits.allowed(payload.len());
    let mut dtype_code: i64 = 0;
    let mut dims = Dims::new();
    let mut content: &[u8] = &[];
    for field in Fields::new(payload) {
        match field? {
            (DTYPE, Value::Varint(v)) => dtype_code = v as i64,
            // Like protobuf, a repeated message field merges: the
            // dimensions of every `tensor_shape` accumulate.
            (TENSOR_SHAPE, Value::Len(msg)) => parse_shape(msg, &mut dims)?,
            (TENSOR_CONTENT, Value::Len(bytes)) => content = bytes,
            _ => {}
        }
    }
    let code = i32::try_from(dtype_code)
        .map_err(|_| Error::invalid_tensor(format!("dtype value {dtype_code} out of range")))?;
    let dtype = DType::from_code(code)?;
    let n = num_elements(&dims)?;

    let data = match dtype.size() {
        None => decode_strings(payload, content, n, allowed)?,
        Some(size) => {
            let expected = n
                .checked_mul(size)
                .ok_or_else(|| Error::invalid_tensor("tensor byte size overflows"))?;
            if !content.is_empty() {
                if content.len() != expected {
                    return Err(Error::invalid_tensor(format!(
                        "tensor_content has {} bytes, shape {:?} of {dtype} needs {expected}",
                        content.len(),
                        &dims[..]
                    )));
                }
                if dtype == DType::Bool {
                    check_bools(content)?;
                }
                Data::Bytes(Cow::Borrowed(content))
            } else {
                Data::Bytes(decode_typed(payload, dtype, n, expected, allowed)?)
            }
        }
    };
    Ok(TensorView::from_parts(dtype, dims, data))
}

fn parse_shape(msg: &[u8], dims: &mut Dims) -> Result<()> {
    for field in Fields::new(msg) {
        if let (SHAPE_DIM, Value::Len(dim)) = field? {
            if dims.len() == MAX_RANK {
                return Err(Error::invalid_tensor(format!(
                    "more than {MAX_RANK} dimensions"
                )));
            }
            let mut size: i64 = 0;
            for f in Fields::new(dim) {
                if let (DIM_SIZE, Value::Varint(v)) = f? {
                    size = v as i64;
                }
            }
            // -1 means "unknown" in a partial shape, which a serialized
            // tensor cannot have.
            if size < 0 {
                return Err(Error::invalid_tensor(format!(
                    "dimension {} has negative size {size}",
                    dims.len()
                )));
            }
            let size = usize::try_from(size).map_err(|_| {
                Error::invalid_tensor(format!(
                    "dimension {} of size {size} does not fit in memory",
                    dims.len()
                ))
            })?;
            dims.push(size);
        }
    }
    Ok(())
}

/// How a dtype's typed field is laid out on the wire.
#[derive(Clone, Copy)]
enum Scalar {
    Fixed32,
    Fixed64,
    Varint,
}

/// The typed field, its wire encoding, and values per element.
fn typed_field(dtype: DType) -> (u32, Scalar, usize) {
    match dtype {
        DType::F32 => (FLOAT_VAL, Scalar::Fixed32, 1),
        DType::F64 => (DOUBLE_VAL, Scalar::Fixed64, 1),
        DType::I8 | DType::I16 | DType::I32 | DType::U8 | DType::U16 => {
            (INT_VAL, Scalar::Varint, 1)
        }
        DType::I64 => (INT64_VAL, Scalar::Varint, 1),
        DType::U32 => (UINT32_VAL, Scalar::Varint, 1),
        DType::U64 => (UINT64_VAL, Scalar::Varint, 1),
        DType::Bool => (BOOL_VAL, Scalar::Varint, 1),
        DType::F16 | DType::BF16 => (HALF_VAL, Scalar::Varint, 1),
        DType::Complex64 => (SCOMPLEX_VAL, Scalar::Fixed32, 2),
        DType::Complex128 => (DCOMPLEX_VAL, Scalar::Fixed64, 2),
        DType::String => (STRING_VAL, Scalar::Varint, 1),
    }
}

/// Writes values of a typed field into an element buffer, component by component.
struct Filler {
    out: Vec<u8>,
    comp_size: usize,
    /// Components written so far.
    written: usize,
    /// Components the buffer holds.
    capacity: usize,
    bool_values: bool,
    /// Complex values only: a lone trailing component past the last whole
    /// pair, which TensorFlow ignores.
    lone_extra: bool,
    per_elem: usize,
}

impl Filler {
    #[inline]
    fn push(&mut self, v: u64) -> Result<()> {
        let at = self.written * self.comp_size;
        let Some(slot) = self.out.get_mut(at..at + self.comp_size) else {
            if self.per_elem == 2 && !self.lone_extra {
                self.lone_extra = true;
                return Ok(());
            }
            return Err(Error::invalid_tensor(format!(
                "typed field holds more values than the {} the shape allows",
                self.capacity
            )));
        };
        let v = if self.bool_values {
            u64::from(v != 0)
        } else {
            v
        };
        // Truncation to the component width is TensorFlow's static_cast.
        slot.copy_from_slice(&v.to_le_bytes()[..self.comp_size]);
        self.written += 1;
        Ok(())
    }
}

fn decode_typed(
    payload: &[u8],
    dtype: DType,
    n: usize,
    nbytes: usize,
    allowed: usize,
) -> Result<Cow<'static, [u8]>> {
    let (field, scalar, per_elem) = typed_field(dtype);
    if nbytes > allowed {
        // Whether or not values are present, `nbytes` would have to be
        // materialized (repeating the last value, or zeros).
        return Err(Error::invalid_tensor(format!(
            "tensor of {nbytes} bytes built from typed values exceeds the decode limit of \
             {allowed} bytes for a {}-byte payload",
            payload.len()
        )));
    }
    let comp_size = dtype.component_size().unwrap_or(1);
    let mut filler = Filler {
        out: vec![0u8; nbytes],
        comp_size,
        written: 0,
        capacity: n * per_elem,
        bool_values: dtype == DType::Bool,
        lone_extra: false,
        per_elem,
    };
    for f in Fields::new(payload) {
        let (number, value) = f?;
        if number != field {
            continue;
        }
        match (scalar, value) {
            (Scalar::Fixed32, Value::Fixed32(v)) => filler.push(u64::from(v))?,
            (Scalar::Fixed64, Value::Fixed64(v)) => filler.push(v)?,
            (Scalar::Varint, Value::Varint(v)) => filler.push(v)?,
            (Scalar::Fixed32, Value::Len(packed)) => {
                if packed.len() % 4 != 0 {
                    return Err(Error::invalid_tensor(
                        "packed fixed32 field is not a multiple of 4 bytes",
                    ));
                }
                for c in packed.chunks_exact(4) {
                    filler.push(u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))?;
                }
            }
            (Scalar::Fixed64, Value::Len(packed)) => {
                if packed.len() % 8 != 0 {
                    return Err(Error::invalid_tensor(
                        "packed fixed64 field is not a multiple of 8 bytes",
                    ));
                }
                for c in packed.chunks_exact(8) {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(c);
                    filler.push(u64::from_le_bytes(b))?;
                }
            }
            (Scalar::Varint, Value::Len(packed)) => {
                let mut pos = 0;
                while pos < packed.len() {
                    filler.push(wire::read_varint(packed, &mut pos)?)?;
                }
            }
            // Like protobuf itself (and so TensorFlow), a known field with
            // an unexpected wire type is treated as an unknown field.
            _ => {}
        }
    }
    let Filler {
        mut out, written, ..
    } = filler;
    // TensorFlow counts complex values in whole (re, im) pairs: a trailing
    // lone number is ignored.
    let elem_size = comp_size * per_elem;
    let filled = (written / per_elem) * elem_size;
    if let Some(lone) = out.get_mut(filled..written * comp_size) {
        lone.fill(0);
    }
    if filled > 0 && filled < out.len() {
        let (head, tail) = out.split_at_mut(filled);
        let last = &head[filled - elem_size..];
        for chunk in tail.chunks_exact_mut(elem_size) {
            chunk.copy_from_slice(last);
        }
    }
    Ok(Cow::Owned(out))
}

/// Bytes of a string tensor's element table.
const STRING_ENTRY: usize = std::mem::size_of::<Cow<'static, [u8]>>();

/// Checks that a table of `n` strings fits in `allowed` bytes.
fn check_string_table(n: usize, allowed: usize, payload_len: usize) -> Result<()> {
    match n.checked_mul(STRING_ENTRY) {
        Some(bytes) if bytes <= allowed => Ok(()),
        _ => Err(Error::invalid_tensor(format!(
            "string tensor of {n} elements exceeds the decode limit of {allowed} bytes \
             for a {payload_len}-byte payload"
        ))),
    }
}

fn decode_strings<'a>(
    payload: &'a [u8],
    content: &'a [u8],
    n: usize,
    allowed: usize,
) -> Result<Data<'a>> {
    if !content.is_empty() {
        return decode_string_content(content, n, allowed, payload.len()).map(Data::Strings);
    }
    // Count before building anything: a few bytes per value can claim far
    // more values than the shape has room for.
    let mut given = 0usize;
    for f in Fields::new(payload) {
        if let (STRING_VAL, Value::Len(_)) = f? {
            given += 1;
        }
    }
    if given > n {
        return Err(Error::invalid_tensor(format!(
            "{given} string values for {n} elements"
        )));
    }
    check_string_table(n, allowed, payload.len())?;
    let mut strings: Vec<Cow<'a, [u8]>> = Vec::with_capacity(n);
    for f in Fields::new(payload) {
        if let (STRING_VAL, Value::Len(s)) = f? {
            strings.push(Cow::Borrowed(s));
        }
    }
    let last = strings.last().cloned().unwrap_or(Cow::Borrowed(&[]));
    strings.resize(n, last);
    Ok(Data::Strings(strings))
}

/// TensorFlow's in-content string encoding: `n` varint lengths, then the bytes.
fn decode_string_content(
    content: &[u8],
    n: usize,
    allowed: usize,
    payload_len: usize,
) -> Result<Vec<Cow<'_, [u8]>>> {
    // Each length takes at least one byte: a cheap bound before allocating.
    if n > content.len() {
        return Err(Error::invalid_tensor(format!(
            "tensor_content of {} bytes cannot hold {n} string lengths",
            content.len()
        )));
    }
    check_string_table(n, allowed, payload_len)?;
    // The bytes start after the last length: walk the lengths once to find
    // it, then again beside the bytes, rather than keeping them.
    let mut data_start = 0;
    for _ in 0..n {
        wire::read_varint(content, &mut data_start)?;
    }
    let mut strings = Vec::with_capacity(n);
    let (mut len_pos, mut pos) = (0, data_start);
    for _ in 0..n {
        let len = wire::read_varint(content, &mut len_pos)?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|len| pos.checked_add(len));
        let Some(s) = end.and_then(|end| content.get(pos..end)) else {
            return Err(Error::invalid_tensor(
                "string lengths exceed tensor_content",
            ));
        };
        strings.push(Cow::Borrowed(s));
        pos += s.len();
    }
    if pos != content.len() {
        return Err(Error::invalid_tensor(format!(
            "{} trailing bytes in string tensor_content",
            content.len() - pos
        )));
    }
    Ok(strings)
}

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

    #[test]
    fn decode_borrows_content() {
        let t = Tensor::from_slice(&[1u16, 2, 3], &[3]).unwrap();
        let bytes = t.to_proto_bytes();
        let v = decode(&bytes).unwrap();
        assert!(v.is_borrowed());
        assert_eq!(v, *t);
        assert_eq!(encoded_len(&v), bytes.len());
    }

    #[test]
    fn typed_fields_repeat_zero_fill_and_overflow() {
        // dtype float, shape [3], float_val packed [2.5]
        let mut p = vec![0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0x08, 0x03, 0x2a, 0x04];
        p.extend_from_slice(&2.5f32.to_le_bytes());
        let t = decode(&p).unwrap();
        assert_eq!(t.to_vec::<f32>().unwrap(), [2.5, 2.5, 2.5]);
        // No values: zeros.
        let t = decode(&p[..8]).unwrap();
        assert_eq!(t.to_vec::<f32>().unwrap(), [0.0; 3]);
        // Four values for three elements: error.
        let mut q = vec![0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0x08, 0x03, 0x2a, 0x10];
        q.extend_from_slice(&[0u8; 16]);
        assert!(decode(&q).is_err());
    }

    #[test]
    fn int_val_truncates_like_static_cast() {
        // dtype int8 (6), scalar, int_val unpacked -1 (10-byte varint).
        let mut p = vec![0x08, 0x06, 0x12, 0x00, 0x38];
        put_varint(&mut p, (-1i64) as u64);
        let t = decode(&p).unwrap();
        assert_eq!(t.to_vec::<i8>().unwrap(), [-1]);
    }

    #[test]
    fn limits_scale_with_the_payload() {
        let d = DecodeLimits::default();
        assert_eq!(d.allowed(0), 1 << 20);
        assert_eq!(d.allowed((1 << 15) + 1), (1 << 20) + 32);
        assert_eq!(d.allowed(usize::MAX), 1 << 30);
        assert_eq!(DecodeLimits::fixed(7).allowed(0), 7);
        assert_eq!(DecodeLimits::fixed(7).allowed(1 << 40), 7);
        // The cap wins over the floor.
        let capped = DecodeLimits {
            max_expanded_bytes: 10,
            ..DecodeLimits::default()
        };
        assert_eq!(capped.allowed(1000), 10);
    }

    #[test]
    fn string_content_lengths_then_bytes() {
        // dtype string, shape [3], content: lengths 2, 0, 1 then "ab", "c".
        let p = [
            0x08, 0x07, 0x12, 0x04, 0x12, 0x02, 0x08, 0x03, 0x22, 0x06, 2, 0, 1, b'a', b'b', b'c',
        ];
        let t = decode(&p).unwrap();
        let all: Vec<&[u8]> = t.strings().unwrap().collect();
        assert_eq!(all, [&b"ab"[..], b"", b"c"]);
        // Its table needs 72 bytes.
        assert!(decode_with(&p, &DecodeLimits::fixed(72)).is_ok());
        assert!(decode_with(&p, &DecodeLimits::fixed(71)).is_err());
        // A length past the end, and one byte left over.
        let mut q = p;
        q[12] = 2;
        assert!(decode(&q).is_err());
        q[12] = 0;
        assert!(decode(&q).is_err());
    }

    #[test]
    fn rejects_bad_shapes() {
        // negative dim
        let mut p = vec![0x08, 0x01, 0x12, 0x0c, 0x12, 0x0a, 0x08];
        put_varint(&mut p, (-1i64) as u64);
        assert!(decode(&p).is_err());
        // unknown_rank is ignored, as TensorFlow does: a scalar here.
        let t = decode(&[0x08, 0x01, 0x12, 0x02, 0x18, 0x01]).unwrap();
        assert_eq!(t.shape(), &[] as &[usize]);
        // 255 dims
        let mut r = vec![0x08, 0x04, 0x12, 0xfe, 0x03];
        for _ in 0..255 {
            r.extend_from_slice(&[0x12, 0x00]);
        }
        assert!(decode(&r).is_err());
        // dims 2^40 x 2^40 overflow
        let mut q = vec![0x08, 0x01, 0x12, 0x10];
        for _ in 0..2 {
            q.extend_from_slice(&[0x12, 0x06, 0x08]);
            put_varint(&mut q, 1 << 40);
        }
        assert!(decode(&q).is_err());
        // 2^62 x 2 fits in u64 but not in TensorFlow's int64 count.
        let mut q = vec![0x08, 0x04, 0x12, 0x0f, 0x12, 0x0a, 0x08];
        put_varint(&mut q, 1 << 62);
        q.extend_from_slice(&[0x12, 0x02, 0x08, 0x02]);
        assert!(decode(&q).is_err());
    }
}
