//! Protocol-buffer wire format: just enough to read and write the messages
//! this crate handles, over byte slices, without allocating.

use crate::error::{Error, Result};

/// A field's value as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Fixed32(u32),
    Len(&'a [u8]),
}

/// Wire type numbers.
pub(crate) const VARINT: u8 = 0;
pub(crate) const FIXED64: u8 = 1;
pub(crate) const LEN: u8 = 2;
pub(crate) const FIXED32: u8 = 5;

/// Reads a base-128 varint at `*pos`, advancing it.
#[inline]
pub(crate) fn read_varint(buf: &[u8], pos: &mut usize) -> Result<u64> {
    decode_varint(buf, pos).map_err(Error::invalid_tensor)
}

/// Reads a base-128 varint at `*pos`, advancing it; on failure says why,
/// for callers that report errors of their own kind.
#[inline]
pub(crate) fn decode_varint(buf: &[u8], pos: &mut usize) -> Result<u64, &'static str> {
    let mut value = 0u64;
    for i in 0..10 {
        let Some(&byte) = buf.get(*pos) else {
            return Err("truncated varint");
        };
        *pos += 1;
        if i == 9 && byte > 1 {
            return Err("varint overflows 64 bits");
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err("varint longer than 10 bytes")
}

/// Iterates the fields of one message.
pub(crate) struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Fields { buf, pos: 0 }
    }

    fn next_field(&mut self) -> Result<(u32, Value<'a>)> {
        let key = read_varint(self.buf, &mut self.pos)?;
        let number = key >> 3;
        if number == 0 || number > u64::from(u32::MAX >> 3) {
            return Err(Error::invalid_tensor(format!(
                "invalid field number {number}"
            )));
        }
        let value = match (key & 7) as u8 {
            VARINT => Value::Varint(read_varint(self.buf, &mut self.pos)?),
            FIXED64 => Value::Fixed64(u64::from_le_bytes(self.take::<8>()?)),
            FIXED32 => Value::Fixed32(u32::from_le_bytes(self.take::<4>()?)),
            LEN => {
                let len = read_varint(self.buf, &mut self.pos)?;
                let remaining = self.buf.len() - self.pos;
                if len > remaining as u64 {
                    return Err(Error::invalid_tensor(format!(
                        "field {number} claims {len} bytes, {remaining} remain"
                    )));
                }
                let start = self.pos;
                self.pos += len as usize;
                Value::Len(&self.buf[start..self.pos])
            }
            other => {
                return Err(Error::invalid_tensor(format!(
                    "field {number} has unsupported wire type {other}"
                )))
            }
        };
        Ok((number as u32, value))
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N]> {
        let Some(bytes) = self.buf.get(self.pos..).and_then(|b| b.first_chunk::<N>()) else {
            return Err(Error::invalid_tensor("truncated fixed-width field"));
        };
        self.pos += N;
        Ok(*bytes)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Value<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let item = self.next_field();
        if item.is_err() {
            // Stop after the first error: the rest cannot be framed.
            self.pos = self.buf.len();
        }
        Some(item)
    }
}

/// Appends `v` as a varint.
#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Bytes `v` takes as a varint.
#[inline]
pub(crate) fn varint_len(v: u64) -> usize {
    // 1 byte per started group of 7 bits, at least one.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Appends a field key.
#[inline]
pub(crate) fn put_key(out: &mut Vec<u8>, field: u32, wire_type: u8) {
    put_varint(out, (u64::from(field) << 3) | u64::from(wire_type));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip_and_length() {
        for v in [0u64, 1, 127, 128, 300, 1 << 35, u64::MAX, (-1i64) as u64] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
            let mut pos = 0;
            assert_eq!(read_varint(&out, &mut pos).unwrap(), v);
            assert_eq!(pos, out.len());
        }
    }

    #[test]
    fn bad_varints() {
        let mut pos = 0;
        assert!(read_varint(&[0x80, 0x80], &mut pos).is_err());
        let mut pos = 0;
        assert!(read_varint(&[0xff; 10], &mut pos).is_err());
        let mut pos = 0;
        assert!(read_varint(
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02],
            &mut pos
        )
        .is_err());
    }

    #[test]
    fn fields_reject_overlong_lengths_and_groups() {
        let fields: Vec<_> = Fields::new(&[0x22, 0x05, 1, 2]).collect();
        assert!(fields[0].is_err());
        let fields: Vec<_> = Fields::new(&[0x0b]).collect();
        assert!(fields[0].is_err());
        let fields: Vec<_> = Fields::new(&[0x00, 0x01]).collect();
        assert!(fields[0].is_err());
    }
}
