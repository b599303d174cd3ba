//! Decoding a serialized `TensorProto` into a tensor that borrows what it
//! can, within [`DecodeLimits`]: the dtype, the shape, `tensor_content`
//! and string values. Numeric values given in typed fields are filled in
//! by the typed-field rules next door.
//!
//! Knows nothing of files or framing, nor of encoding.

use std::borrow::Cow;

use super::fields::{DIM_SIZE, DTYPE, SHAPE_DIM, STRING_VAL, TENSOR_CONTENT, TENSOR_SHAPE};
use super::typed::decode_typed;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::proto::wire::{self, Fields, Value};
use crate::tensor::{check_bools, num_elements, Data, Dims, Tensor, TensorView, MAX_RANK};

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

impl<'a> TensorView<'a> {
    /// Decodes a serialized `TensorProto` (as `tf.io.parse_tensor` does),
    /// borrowing `tensor_content` from `payload`.
    pub fn decode(payload: &'a [u8]) -> Result<TensorView<'a>> {
        decode(payload)
    }
}

impl Tensor {
    /// Decodes a serialized `TensorProto` into an owned tensor.
    pub fn decode(payload: &[u8]) -> Result<Tensor> {
        TensorView::decode(payload).map(TensorView::into_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::wire::put_varint;

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
