//! Protocol-buffer wire format: just enough to read and write the messages
//! this crate handles, over byte slices, without allocating.
//!
//! Knows varints, keys, wire types and length-delimited bodies; knows
//! nothing of what any field means (tensors, examples), of files or of
//! TFRecord framing. The one varint and key reader of the crate: the
//! tensor codec and the `Example` reader both build on [`Cursor`].

use std::fmt;

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

/// Why bytes are not a well-formed field, without an error kind: the
/// tensor decoder and the `Example` reader each report it as their own.
/// Small and formatted only when reported, so that reads stay cheap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// A varint that is truncated or too long.
    Varint(&'static str),
    /// A key whose field number is 0 or above 2^29 - 1.
    FieldNumber(u64),
    /// A length-delimited field longer than what remains.
    Length {
        number: u32,
        len: u64,
        remaining: usize,
    },
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Malformed::Varint(why) => f.write_str(why),
            Malformed::FieldNumber(number) => write!(f, "invalid field number {number}"),
            Malformed::Length {
                number,
                len,
                remaining,
            } => write!(f, "field {number} claims {len} bytes, {remaining} remain"),
        }
    }
}

impl From<Malformed> for String {
    #[cold]
    fn from(m: Malformed) -> String {
        m.to_string()
    }
}

/// A position in one message's bytes, with the reads that every field
/// reader needs: keys, varints and length-delimited bodies. Each reader
/// decides what to do with wire types and how to report a failure.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    #[inline]
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    /// Offset of the next byte to read.
    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left to read.
    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Reads a varint.
    #[inline]
    pub(crate) fn varint(&mut self) -> Result<u64, Malformed> {
        decode_varint(self.buf, &mut self.pos).map_err(Malformed::Varint)
    }

    /// Reads a key: field number (1 to 2^29 - 1) and wire type.
    #[inline]
    pub(crate) fn key(&mut self) -> Result<(u32, u8), Malformed> {
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 || number > u64::from(u32::MAX >> 3) {
            return Err(Malformed::FieldNumber(number));
        }
        Ok((number as u32, (key & 7) as u8))
    }

    /// Takes the next `n` bytes, or `None` when fewer remain.
    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.buf.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(bytes)
    }

    /// Reads the length and body of length-delimited field `number`.
    #[inline]
    pub(crate) fn len_delimited(&mut self, number: u32) -> Result<&'a [u8], Malformed> {
        let len = self.varint()?;
        let remaining = self.remaining();
        let body = (len <= remaining as u64)
            .then(|| self.take(len as usize))
            .flatten();
        body.ok_or(Malformed::Length {
            number,
            len,
            remaining,
        })
    }

    /// The next item `read` gives, or `None` at the end of the message.
    /// After an error it ends: the rest cannot be framed.
    #[inline]
    pub(crate) fn next_item<T, E>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, E>,
    ) -> Option<Result<T, E>> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let item = read(self);
        if item.is_err() {
            self.pos = self.buf.len();
        }
        Some(item)
    }
}

/// Iterates the fields of one message.
pub(crate) struct Fields<'a> {
    cursor: Cursor<'a>,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Fields {
            cursor: Cursor::new(buf),
        }
    }
}

/// Reads one field, rejecting groups (no tensor message has any).
#[inline]
fn read_field<'a>(cursor: &mut Cursor<'a>) -> Result<(u32, Value<'a>)> {
    let (number, wire_type) = cursor.key().map_err(Error::invalid_tensor)?;
    let value = match wire_type {
        VARINT => Value::Varint(cursor.varint().map_err(Error::invalid_tensor)?),
        FIXED64 => Value::Fixed64(u64::from_le_bytes(take::<8>(cursor)?)),
        FIXED32 => Value::Fixed32(u32::from_le_bytes(take::<4>(cursor)?)),
        LEN => Value::Len(
            cursor
                .len_delimited(number)
                .map_err(Error::invalid_tensor)?,
        ),
        other => {
            return Err(Error::invalid_tensor(format!(
                "field {number} has unsupported wire type {other}"
            )))
        }
    };
    Ok((number, value))
}

#[inline]
fn take<const N: usize>(cursor: &mut Cursor<'_>) -> Result<[u8; N]> {
    match cursor.take(N).and_then(|b| b.first_chunk::<N>()) {
        Some(bytes) => Ok(*bytes),
        None => Err(Error::invalid_tensor("truncated fixed-width field")),
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Value<'a>)>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.cursor.next_item(read_field)
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
    fn malformed_fields_say_why_in_the_same_words_for_every_reader() {
        let reason = |buf: &[u8]| match Fields::new(buf).next() {
            Some(Err(e)) => match e.kind() {
                crate::error::ErrorKind::InvalidTensor { reason } => reason.clone(),
                other => panic!("unexpected kind {other:?}"),
            },
            other => panic!("expected an error, got {other:?}"),
        };
        assert_eq!(
            reason(&[0x22, 0x05, 1, 2]),
            "field 4 claims 5 bytes, 2 remain"
        );
        assert_eq!(reason(&[0x00, 0x01]), "invalid field number 0");
        assert_eq!(reason(&[0x80]), "truncated varint");
        let mut cursor = Cursor::new(&[0x22, 0x05, 1, 2]);
        assert_eq!(cursor.key(), Ok((4, LEN)));
        assert_eq!(
            cursor.len_delimited(4),
            Err(Malformed::Length {
                number: 4,
                len: 5,
                remaining: 2
            })
        );
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
