//! TensorFlow's rules for numeric values given in the typed `*_val` fields
//! instead of `tensor_content`: which field serves which dtype, packed or
//! not, truncation to the element width, the last value repeated to fill
//! the shape (zeros when there is none), a lone trailing complex component
//! ignored, and more values than elements refused.
//!
//! Knows nothing of files, framing, shapes or tensors: it is handed the
//! element count and the most bytes it may allocate, and returns bytes.

use std::borrow::Cow;

use super::fields::{
    BOOL_VAL, DCOMPLEX_VAL, DOUBLE_VAL, FLOAT_VAL, HALF_VAL, INT64_VAL, INT_VAL, SCOMPLEX_VAL,
    STRING_VAL, UINT32_VAL, UINT64_VAL,
};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::proto::wire::{self, Fields, Value};

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

pub(super) fn decode_typed(
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
