//! Iterators over a feature's values as they lie in the payload: the list
//! messages of the run that counts, their `value` fields, and the byte
//! strings, floats and integers in them, packed or not.
//!
//! Knows the wire layout of `Feature` and its lists; trusts that parsing
//! checked it, so a malformed field just ends iteration. Knows nothing of
//! names, lookups, files, threads or TFRecord framing.

use std::iter::FusedIterator;

use super::index::{offset_in, ENTRY_VALUE, LIST_VALUE};
use crate::example::wire::{Fields, Value};
use crate::proto::wire::decode_varint;

/// The next value message (a `Feature` or a `FeatureList`) among the
/// fields of a map entry, past its key; `None` after the last.
#[inline]
pub(super) fn next_entry_value<'a>(entry: &mut Fields<'a>) -> Option<&'a [u8]> {
    entry.map_while(Result::ok).find_map(|f| match f.value {
        Value::Len(value) if f.number == ENTRY_VALUE => Some(value),
        _ => None,
    })
}

/// The list messages of a feature's winning run, in wire order.
#[derive(Debug, Clone)]
struct Lists<'a> {
    body: &'a [u8],
    /// Fields of the map entry, when the feature is one.
    outer: Option<Fields<'a>>,
    /// Fields of the current `Feature` message, which starts `inner_base`
    /// bytes into `body`.
    inner: Fields<'a>,
    inner_base: usize,
    kind_field: u32,
    run_start: usize,
}

impl<'a> Iterator for Lists<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            for field in self.inner.by_ref().map_while(Result::ok) {
                if field.number == self.kind_field
                    && self.inner_base + field.offset >= self.run_start
                {
                    if let Value::Len(list) = field.value {
                        return Some(list);
                    }
                }
            }
            let feature = next_entry_value(self.outer.as_mut()?)?;
            self.inner = Fields::new(feature);
            self.inner_base = offset_in(self.body, feature);
        }
    }
}

/// The `value` fields of a feature's lists, as they are on the wire.
#[derive(Debug, Clone)]
pub(super) struct ListValues<'a> {
    lists: Lists<'a>,
    list: Fields<'a>,
}

impl<'a> ListValues<'a> {
    /// The values of the lists numbered `kind_field` in `body`, a map entry
    /// (`nested`) or one `Feature` message, from the run starting at
    /// offset `run_start` on.
    pub(super) fn new(body: &'a [u8], nested: bool, kind_field: u32, run_start: usize) -> Self {
        let (outer, inner) = if nested {
            (Some(Fields::new(body)), Fields::new(&[]))
        } else {
            (None, Fields::new(body))
        };
        ListValues {
            lists: Lists {
                body,
                outer,
                inner,
                inner_base: 0,
                kind_field,
                run_start,
            },
            list: Fields::new(&[]),
        }
    }
}

impl<'a> Iterator for ListValues<'a> {
    type Item = Value<'a>;

    fn next(&mut self) -> Option<Value<'a>> {
        loop {
            for field in self.list.by_ref().map_while(Result::ok) {
                if field.number == LIST_VALUE {
                    return Some(field.value);
                }
            }
            self.list = Fields::new(self.lists.next()?);
        }
    }
}

/// Iterator over the values of a `bytes_list`, borrowed from the payload.
#[derive(Debug, Clone)]
pub struct BytesValues<'a> {
    values: ListValues<'a>,
    remaining: usize,
}

impl<'a> BytesValues<'a> {
    pub(super) fn new(values: ListValues<'a>, len: usize) -> Self {
        BytesValues {
            values,
            remaining: len,
        }
    }
}

impl<'a> Iterator for BytesValues<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            if let Value::Len(bytes) = self.values.next()? {
                self.remaining = self.remaining.saturating_sub(1);
                return Some(bytes);
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for BytesValues<'_> {}
impl FusedIterator for BytesValues<'_> {}

/// Iterator over the values of a `float_list`.
#[derive(Debug, Clone)]
pub struct FloatValues<'a> {
    values: ListValues<'a>,
    /// The rest of the packed run being read.
    packed: &'a [u8],
    remaining: usize,
}

impl<'a> FloatValues<'a> {
    pub(super) fn new(values: ListValues<'a>, len: usize) -> Self {
        FloatValues {
            values,
            packed: &[],
            remaining: len,
        }
    }
}

impl Iterator for FloatValues<'_> {
    type Item = f32;

    fn next(&mut self) -> Option<f32> {
        loop {
            if let Some((word, rest)) = self.packed.split_first_chunk::<4>() {
                self.packed = rest;
                self.remaining = self.remaining.saturating_sub(1);
                return Some(f32::from_le_bytes(*word));
            }
            match self.values.next()? {
                Value::Fixed32(bits) => {
                    self.remaining = self.remaining.saturating_sub(1);
                    return Some(f32::from_bits(bits));
                }
                Value::Len(packed) => self.packed = packed,
                _ => {}
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for FloatValues<'_> {}
impl FusedIterator for FloatValues<'_> {}

/// Iterator over the values of an `int64_list`.
#[derive(Debug, Clone)]
pub struct Int64Values<'a> {
    values: ListValues<'a>,
    /// The rest of the packed run being read.
    packed: &'a [u8],
    remaining: usize,
}

impl<'a> Int64Values<'a> {
    pub(super) fn new(values: ListValues<'a>, len: usize) -> Self {
        Int64Values {
            values,
            packed: &[],
            remaining: len,
        }
    }
}

impl Iterator for Int64Values<'_> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        loop {
            if !self.packed.is_empty() {
                let mut pos = 0;
                let value = decode_varint(self.packed, &mut pos);
                self.packed = self.packed.get(pos..).unwrap_or_default();
                if let Ok(v) = value {
                    self.remaining = self.remaining.saturating_sub(1);
                    return Some(v as i64);
                }
                // Unreachable after parsing; the run is dropped.
                self.packed = &[];
            }
            match self.values.next()? {
                Value::Varint(v) => {
                    self.remaining = self.remaining.saturating_sub(1);
                    return Some(v as i64);
                }
                Value::Len(packed) => self.packed = packed,
                _ => {}
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Int64Values<'_> {}
impl FusedIterator for Int64Values<'_> {}
