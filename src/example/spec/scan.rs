//! Finding a spec's features in one pass over an `Example` written in the
//! layout every encoder produces, without building an index; anything else
//! goes to the general parser, [`ExampleView`](crate::example::ExampleView).
//!
//! The layout accepted is what TensorFlow, prost, Python protobuf and
//! [`encode`](crate::example::encode) write: one `features` field; each map
//! entry its key then its value (or no value), nothing else; each `Feature` no field or
//! exactly one list; in a `bytes_list` only values; in a `float_list` or
//! `int64_list` nothing or one packed run. Every feature is checked as the
//! general parser checks it (lengths, varints, UTF-8 names), so a payload
//! either scans to what the general parser would find, or is handed to it —
//! which then gives the same result or the error. A spec feature named twice
//! also goes to the general parser, which applies protobuf's last-wins rule.
//!
//! Knows the canonical layout and the spec's entries; knows nothing of
//! batches, threads, files or TFRecord framing.

use super::entry::{name_key, Entry};
use crate::error::{Error, Result};
use crate::example::feature_kind::FeatureKind;
use crate::example::view::{BytesValues, FeatureView};
use crate::proto::wire::decode_varint;
use crate::tensor::TensorView;

/// Key bytes of field 1, 2 and 3 with wire type 2 (length-delimited).
const FIELD_1: u8 = 0x0a;
const FIELD_2: u8 = 0x12;
const FIELD_3: u8 = 0x1a;

/// Largest payload scanned: protobuf's message limit, as the general parser.
const MAX_PAYLOAD: usize = i32::MAX as usize;

/// A feature as the scan found it: its kind, number of values, and the
/// list's values as they lie in the payload (packed floats, packed
/// varints, or the `bytes_list` message).
#[derive(Debug, Clone, Copy)]
pub(super) struct Found<'a> {
    kind: FeatureKind,
    len: usize,
    body: &'a [u8],
    /// Total bytes of a `bytes_list`'s values.
    bytes: usize,
    /// The first value of a `bytes_list`.
    first: &'a [u8],
}

/// One feature of a record, however it was found.
#[derive(Debug, Clone, Copy)]
pub(super) enum Feat<'a> {
    Scanned(Found<'a>),
    Viewed(FeatureView<'a>),
}

/// Reads a varint at `*pos`: values of one or two bytes (most lengths and
/// small integers) inline, the rest by the general decoder.
#[inline(always)]
fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let at = *pos;
    if let Some(&low) = buf.get(at) {
        if low < 0x80 {
            *pos = at + 1;
            return Some(u64::from(low));
        }
        if let Some(&high) = buf.get(at + 1) {
            if high < 0x80 {
                *pos = at + 2;
                return Some(u64::from(low & 0x7f) | u64::from(high) << 7);
            }
        }
    }
    decode_varint(buf, pos).ok()
}

/// Reads a length-delimited body at `*pos`.
#[inline(always)]
fn delimited<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let len = usize::try_from(varint(buf, pos)?).ok()?;
    let end = pos.checked_add(len)?;
    let body = buf.get(*pos..end)?;
    *pos = end;
    Some(body)
}

/// The one field with key `key` that `message` consists of, or `None`.
#[inline(always)]
fn only_field(message: &[u8], key: u8) -> Option<&[u8]> {
    if message.first() != Some(&key) {
        return None;
    }
    let mut pos = 1;
    let body = delimited(message, &mut pos)?;
    (pos == message.len()).then_some(body)
}

/// Scans `payload` for the features of `entries`, filling `found` (one slot
/// per entry, `None` when absent). False when the payload is not in the
/// layout scanned; `found` is then meaningless.
pub(super) fn scan<'a>(
    payload: &'a [u8],
    entries: &[Entry],
    found: &mut [Option<Feat<'a>>],
) -> bool {
    found.fill(None);
    if payload.is_empty() {
        return true;
    }
    if payload.len() > MAX_PAYLOAD {
        return false;
    }
    let Some(features) = only_field(payload, FIELD_1) else {
        return false;
    };
    let mut pos = 0;
    while pos < features.len() {
        if features.get(pos) != Some(&FIELD_1) {
            return false;
        }
        pos += 1;
        let Some(entry) = delimited(features, &mut pos) else {
            return false;
        };
        if entry.first() != Some(&FIELD_1) {
            return false;
        }
        let mut at = 1;
        let Some(name) = delimited(entry, &mut at) else {
            return false;
        };
        // An entry without a value (prost leaves out a `Feature` with no
        // kind) holds a feature with no kind.
        let feature = match entry.get(at..) {
            Some([]) => &[][..],
            Some(rest) => match only_field(rest, FIELD_2) {
                Some(feature) => feature,
                None => return false,
            },
            None => return false,
        };
        let Some(f) = scan_feature(feature) else {
            return false;
        };
        let key = name_key(name);
        let matched = entries.iter().position(|e| {
            // The key settles names of up to 8 bytes alone.
            e.key == key
                && e.name.len() == name.len()
                && (name.len() <= 8 || e.name.as_bytes() == name)
        });
        match matched {
            Some(e) => match found.get_mut(e) {
                Some(slot @ None) => *slot = Some(Feat::Scanned(f)),
                _ => return false,
            },
            None => {
                if std::str::from_utf8(name).is_err() {
                    return false;
                }
            }
        }
    }
    true
}

/// A `Feature` message in the layout scanned.
fn scan_feature(feature: &[u8]) -> Option<Found<'_>> {
    let Some(&key) = feature.first() else {
        return Some(Found {
            kind: FeatureKind::None,
            len: 0,
            body: &[],
            bytes: 0,
            first: &[],
        });
    };
    let kind = match key {
        FIELD_1 => FeatureKind::Bytes,
        FIELD_2 => FeatureKind::Float,
        FIELD_3 => FeatureKind::Int64,
        _ => return None,
    };
    let list = only_field(feature, key)?;
    if kind == FeatureKind::Bytes {
        let mut pos = 0;
        let (mut len, mut bytes) = (0usize, 0usize);
        let mut first: &[u8] = &[];
        while pos < list.len() {
            if list.get(pos) != Some(&FIELD_1) {
                return None;
            }
            pos += 1;
            let value = delimited(list, &mut pos)?;
            if len == 0 {
                first = value;
            }
            bytes += value.len();
            len += 1;
        }
        return Some(Found {
            kind,
            len,
            body: list,
            bytes,
            first,
        });
    }
    if list.is_empty() {
        return Some(Found {
            kind,
            len: 0,
            body: &[],
            bytes: 0,
            first: &[],
        });
    }
    let packed = only_field(list, FIELD_1)?;
    let len = if kind == FeatureKind::Float {
        if packed.len() % 4 != 0 {
            return None;
        }
        packed.len() / 4
    } else {
        let mut pos = 0;
        let mut n = 0usize;
        while pos < packed.len() {
            varint(packed, &mut pos)?;
            n += 1;
        }
        n
    };
    Some(Found {
        kind,
        len,
        body: packed,
        bytes: 0,
        first: &[],
    })
}

/// The values of a scanned `bytes_list`.
#[derive(Debug, Clone)]
pub(super) struct ScannedBytes<'a> {
    list: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for ScannedBytes<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        // Checked by the scan: key, length, bytes, repeated.
        self.list.get(self.pos)?;
        self.pos += 1;
        delimited(self.list, &mut self.pos)
    }
}

/// The byte strings of a feature, however it was found.
pub(super) enum StringValues<'a> {
    Scanned(ScannedBytes<'a>),
    Viewed(BytesValues<'a>),
    Empty,
}

impl<'a> Iterator for StringValues<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            StringValues::Scanned(it) => it.next(),
            StringValues::Viewed(it) => it.next(),
            StringValues::Empty => None,
        }
    }
}

fn wrong_kind(have: FeatureKind, wanted: FeatureKind) -> Error {
    Error::invalid_example(format!("feature is {have}, not {wanted}"))
}

fn room(values: usize, bytes: usize, have: usize) -> Result<()> {
    if values.checked_mul(bytes) == Some(have) {
        Ok(())
    } else {
        Err(Error::invalid_example(format!(
            "feature has {values} values, the slot holds {have} bytes"
        )))
    }
}

impl<'a> Feat<'a> {
    pub(super) fn kind(&self) -> FeatureKind {
        match self {
            Feat::Scanned(f) => f.kind,
            Feat::Viewed(f) => f.kind(),
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Feat::Scanned(f) => f.len,
            Feat::Viewed(f) => f.len(),
        }
    }

    /// Writes the values of a `float_list` as little-endian bytes to `out`,
    /// which must hold exactly all of them.
    pub(super) fn write_f32s(&self, out: &mut [u8]) -> Result<()> {
        if self.kind() != FeatureKind::Float {
            return Err(wrong_kind(self.kind(), FeatureKind::Float));
        }
        room(self.len(), 4, out.len())?;
        match self {
            // Packed floats are little-endian on the wire, as in the batch.
            Feat::Scanned(f) => out.copy_from_slice(f.body),
            Feat::Viewed(f) => {
                if let Some(bytes) = f.float_bytes().filter(|b| b.len() == out.len()) {
                    out.copy_from_slice(bytes);
                } else {
                    for (slot, v) in out
                        .chunks_exact_mut(4)
                        .zip(f.float_list().into_iter().flatten())
                    {
                        slot.copy_from_slice(&v.to_le_bytes());
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes the values of an `int64_list` as little-endian bytes to
    /// `out`, which must hold exactly all of them.
    pub(super) fn write_i64s(&self, out: &mut [u8]) -> Result<()> {
        if self.kind() != FeatureKind::Int64 {
            return Err(wrong_kind(self.kind(), FeatureKind::Int64));
        }
        room(self.len(), 8, out.len())?;
        match self {
            Feat::Scanned(f) => {
                let mut pos = 0;
                for slot in out.chunks_exact_mut(8) {
                    // Checked by the scan.
                    let v = varint(f.body, &mut pos).unwrap_or(0);
                    slot.copy_from_slice(&v.to_le_bytes());
                }
            }
            Feat::Viewed(f) => {
                for (slot, v) in out
                    .chunks_exact_mut(8)
                    .zip(f.int64_list().into_iter().flatten())
                {
                    slot.copy_from_slice(&v.to_le_bytes());
                }
            }
        }
        Ok(())
    }

    /// The only value of a scanned `bytes_list` of one value.
    pub(super) fn single_string(&self) -> Option<&'a [u8]> {
        match self {
            Feat::Scanned(f) if f.kind == FeatureKind::Bytes && f.len == 1 => Some(f.first),
            _ => None,
        }
    }

    /// The values of a `bytes_list` (none for another kind).
    pub(super) fn strings(&self) -> StringValues<'a> {
        match self {
            Feat::Scanned(f) if f.kind == FeatureKind::Bytes => {
                StringValues::Scanned(ScannedBytes {
                    list: f.body,
                    pos: 0,
                })
            }
            Feat::Viewed(f) => f
                .bytes_list()
                .map_or(StringValues::Empty, StringValues::Viewed),
            Feat::Scanned(_) => StringValues::Empty,
        }
    }

    /// The first value of a `bytes_list` decoded as a serialized tensor,
    /// borrowing from the payload.
    pub(super) fn tensor(&self) -> Result<TensorView<'a>> {
        match self {
            Feat::Viewed(f) => f.tensor(0),
            Feat::Scanned(f) => match (f.len > 0).then_some(f.first) {
                Some(bytes) => TensorView::decode(bytes),
                None => Err(Error::invalid_example(format!(
                    "feature has {} values, no value 0",
                    self.len()
                ))),
            },
        }
    }
}

/// Total bytes of a feature's strings.
pub(super) fn string_bytes(f: &Feat<'_>) -> usize {
    match f {
        Feat::Scanned(found) => found.bytes,
        Feat::Viewed(_) => f.strings().map(<[u8]>::len).sum(),
    }
}
