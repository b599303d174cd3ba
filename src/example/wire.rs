//! Reading the fields of `Example` messages: over the crate's one wire
//! reader ([`Cursor`]), with errors of kind
//! [`InvalidExample`](crate::ErrorKind::InvalidExample), each field's
//! offset, and unknown groups skipped the way protobuf skips them rather
//! than rejected.
//!
//! Knows wire types, not what any field of an `Example` means; knows
//! nothing of files, threads or TFRecord framing.

use crate::error::{Error, Result};
use crate::proto::wire::Cursor;

pub(crate) use crate::proto::wire::{FIXED32, FIXED64, LEN, VARINT};

const START_GROUP: u8 = 3;
const END_GROUP: u8 = 4;

/// Deepest nesting of unknown groups skipped. Far below prost's recursion
/// limit, so that anything accepted here prost accepts too.
const MAX_GROUP_DEPTH: usize = 32;

/// A field's value as it appears on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Varint(u64),
    Fixed64,
    Fixed32(u32),
    Len(&'a [u8]),
    /// An unknown group, already skipped.
    Group,
}

impl Value<'_> {
    /// The wire type's name, for error messages.
    pub(crate) fn wire_name(&self) -> &'static str {
        match self {
            Value::Varint(_) => "varint",
            Value::Fixed64 => "fixed64",
            Value::Fixed32(_) => "fixed32",
            Value::Len(_) => "length-delimited",
            Value::Group => "group",
        }
    }
}

/// One field: its number, value, and the offset of its key in the message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field<'a> {
    pub(crate) number: u32,
    pub(crate) value: Value<'a>,
    pub(crate) offset: usize,
}

/// Iterates the fields of one message. After the first error it ends.
#[derive(Debug, Clone)]
pub(crate) struct Fields<'a> {
    cursor: Cursor<'a>,
}

impl<'a> Fields<'a> {
    #[inline]
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Fields {
            cursor: Cursor::new(buf),
        }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        self.cursor.next_item(read_field)
    }
}

#[inline]
fn key(cursor: &mut Cursor<'_>) -> Result<(u32, u8)> {
    cursor.key().map_err(Error::invalid_example)
}

#[inline]
fn varint(cursor: &mut Cursor<'_>) -> Result<u64> {
    cursor.varint().map_err(Error::invalid_example)
}

#[inline]
fn take<'a>(cursor: &mut Cursor<'a>, n: usize) -> Result<&'a [u8]> {
    let remaining = cursor.remaining();
    cursor
        .take(n)
        .ok_or_else(|| Error::invalid_example(format!("field needs {n} bytes, {remaining} remain")))
}

#[inline]
fn len_delimited<'a>(cursor: &mut Cursor<'a>, number: u32) -> Result<&'a [u8]> {
    cursor.len_delimited(number).map_err(Error::invalid_example)
}

/// Skips the rest of a group opened by field `number`, nested groups
/// included, up to the matching end-group key.
fn skip_group(cursor: &mut Cursor<'_>, number: u32) -> Result<()> {
    let mut open = [0u32; MAX_GROUP_DEPTH];
    open[0] = number;
    let mut depth = 1;
    while depth > 0 {
        if cursor.remaining() == 0 {
            return Err(Error::invalid_example(format!(
                "group {number} is not closed"
            )));
        }
        let (inner, wire_type) = key(cursor)?;
        match wire_type {
            VARINT => {
                varint(cursor)?;
            }
            FIXED64 => {
                take(cursor, 8)?;
            }
            FIXED32 => {
                take(cursor, 4)?;
            }
            LEN => {
                len_delimited(cursor, inner)?;
            }
            START_GROUP => {
                let Some(slot) = open.get_mut(depth) else {
                    return Err(Error::invalid_example(format!(
                        "groups nested more than {MAX_GROUP_DEPTH} deep"
                    )));
                };
                *slot = inner;
                depth += 1;
            }
            END_GROUP => {
                depth -= 1;
                if open.get(depth) != Some(&inner) {
                    return Err(Error::invalid_example(format!(
                        "end of group {inner} does not match its start"
                    )));
                }
            }
            other => {
                return Err(Error::invalid_example(format!(
                    "field {inner} has invalid wire type {other}"
                )))
            }
        }
    }
    Ok(())
}

#[inline]
fn read_field<'a>(cursor: &mut Cursor<'a>) -> Result<Field<'a>> {
    let offset = cursor.pos();
    let (number, wire_type) = key(cursor)?;
    let value = match wire_type {
        VARINT => Value::Varint(varint(cursor)?),
        FIXED64 => {
            take(cursor, 8)?;
            Value::Fixed64
        }
        FIXED32 => {
            let b = take(cursor, 4)?;
            let mut word = [0u8; 4];
            word.copy_from_slice(b);
            Value::Fixed32(u32::from_le_bytes(word))
        }
        LEN => Value::Len(len_delimited(cursor, number)?),
        START_GROUP => {
            skip_group(cursor, number)?;
            Value::Group
        }
        END_GROUP => {
            return Err(Error::invalid_example(format!(
                "end of group {number} without a start"
            )))
        }
        other => {
            return Err(Error::invalid_example(format!(
                "field {number} has invalid wire type {other}"
            )))
        }
    };
    Ok(Field {
        number,
        value,
        offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(buf: &[u8]) -> Result<Vec<(u32, Value<'_>)>> {
        Fields::new(buf)
            .map(|f| f.map(|f| (f.number, f.value)))
            .collect()
    }

    #[test]
    fn reads_every_wire_type_with_offsets() {
        let buf = [
            0x08, 0x96, 0x01, // 1: varint 150
            0x11, 1, 2, 3, 4, 5, 6, 7, 8, // 2: fixed64
            0x1d, 0, 0, 0x80, 0x3f, // 3: fixed32 1.0f
            0x22, 0x02, b'h', b'i', // 4: "hi"
        ];
        let got: Vec<_> = Fields::new(&buf).map(Result::unwrap).collect();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].value, Value::Varint(150));
        assert_eq!(got[1].value, Value::Fixed64);
        assert_eq!(got[2].value, Value::Fixed32(1.0f32.to_bits()));
        assert_eq!(got[3].value, Value::Len(b"hi"));
        let offsets: Vec<usize> = got.iter().map(|f| f.offset).collect();
        assert_eq!(offsets, [0, 3, 12, 17]);
    }

    #[test]
    fn groups_are_skipped_whole() {
        // 5: group { 1: varint 1, 6: group { 2: "x" } } then 1: varint 7
        let buf = [
            0x2b, 0x08, 0x01, 0x33, 0x12, 0x01, b'x', 0x34, 0x2c, 0x08, 0x07,
        ];
        assert_eq!(
            fields(&buf).unwrap(),
            [(5, Value::Group), (1, Value::Varint(7))]
        );
    }

    #[test]
    fn malformed_groups_are_errors() {
        assert!(fields(&[0x2b, 0x08, 0x01]).is_err()); // never closed
        assert!(fields(&[0x2b, 0x34]).is_err()); // closed by another number
        assert!(fields(&[0x2c]).is_err()); // end without start
        let mut deep = vec![0x0b; MAX_GROUP_DEPTH + 1];
        deep.extend(vec![0x0c; MAX_GROUP_DEPTH + 1]);
        assert!(fields(&deep).is_err());
        let ok = &deep[1..deep.len() - 1];
        assert_eq!(fields(ok).unwrap(), [(1, Value::Group)]);
    }

    #[test]
    fn malformed_fields_are_errors() {
        for bad in [
            &[0x0a, 0x05, 1, 2][..], // length past the end
            &[0x0e],                 // wire type 6
            &[0x00, 0x01],           // field 0
            &[0x15, 1, 2],           // truncated fixed32
            &[0x09, 1],              // truncated fixed64
            &[0x08],                 // missing varint
            &[0x08, 0x80],           // truncated varint
        ] {
            let err = fields(bad).unwrap_err();
            assert_eq!(err.kind().name(), "invalid_example", "{bad:?}");
        }
    }
}
