//! Parsing a serialized `Example` or `SequenceExample` into the small
//! index the views read from: for each feature its name, where its bytes
//! are, its kind and its value count; for each feature list its name and
//! step count. Checks the whole payload once, following protobuf's merge
//! rules (see [`ExampleView`](crate::example::ExampleView)).
//!
//! Knows the field numbers of `Example`, `Features`, `Feature` and their
//! lists; knows nothing of how values are read back, of files, threads or
//! TFRecord framing.

use crate::error::{Error, Result};
use crate::example::feature_kind::FeatureKind;
use crate::example::wire::{Field, Fields, Value};
use crate::proto::wire::decode_varint;

// Field numbers, as in TensorFlow's feature.proto and example.proto.
const EXAMPLE_FEATURES: u32 = 1;
const SEQUENCE_CONTEXT: u32 = 1;
const SEQUENCE_FEATURE_LISTS: u32 = 2;
/// `Features.feature` and `FeatureLists.feature_list`: the map entries.
const MAP_ENTRY: u32 = 1;
const ENTRY_KEY: u32 = 1;
pub(super) const ENTRY_VALUE: u32 = 2;
pub(super) const FEATURE_LIST_FEATURE: u32 = 1;
/// `BytesList.value`, `FloatList.value`, `Int64List.value`.
pub(super) const LIST_VALUE: u32 = 1;

/// Largest payload parsed: protobuf's own limit on a message (2 GiB), which
/// also lets the index store offsets in 32 bits.
const MAX_PAYLOAD: usize = i32::MAX as usize;

/// Up to this many features, duplicates are found and lookups done by
/// linear scan; above it, through a sorted index.
const LINEAR_LIMIT: usize = 16;
/// A byte range of the payload, in 32 bits (payloads are under 2 GiB).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Span {
    start: u32,
    len: u32,
}

impl Span {
    /// Where `sub`, a subslice of `payload`, lies in it.
    fn of(payload: &[u8], sub: &[u8]) -> Span {
        // Both are slices of the same allocation and the payload is under
        // 2 GiB, so the difference and length fit.
        let start = (sub.as_ptr() as usize).wrapping_sub(payload.as_ptr() as usize);
        Span {
            start: start as u32,
            len: sub.len() as u32,
        }
    }

    pub(super) fn get(self, payload: &[u8]) -> &[u8] {
        let start = self.start as usize;
        payload
            .get(start..start + self.len as usize)
            .unwrap_or_default()
    }
}

/// One feature of a `Features` map, as indexed by parsing.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    pub(super) name: Span,
    /// The map entry message.
    pub(super) body: Span,
    pub(super) run_start: u32,
    pub(super) len: u32,
    pub(super) kind: FeatureKind,
}

/// One feature list of a `FeatureLists` map.
#[derive(Debug, Clone, Copy)]
pub(super) struct ListEntry {
    pub(super) name: Span,
    pub(super) body: Span,
    pub(super) steps: u32,
}

/// What parsing learns of one feature: the kind that won, where the run of
/// list fields of that kind starts (an offset in the map entry, or in the
/// `Feature` message), and how many values the run holds.
#[derive(Debug, Clone, Copy)]
pub(super) struct Acc {
    pub(super) kind: FeatureKind,
    pub(super) run_start: usize,
    pub(super) len: usize,
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            kind: FeatureKind::None,
            run_start: 0,
            len: 0,
        }
    }
}

fn unknown(field: &Field<'_>, strict: bool, message: &str) -> Result<()> {
    if strict {
        Err(Error::invalid_example(format!(
            "unknown field {} in {message}",
            field.number
        )))
    } else {
        Ok(())
    }
}

fn wrong_wire_type(field: &Field<'_>, what: &str) -> Error {
    Error::invalid_example(format!(
        "{what} (field {}) has wire type {}",
        field.number,
        field.value.wire_name()
    ))
}

fn too_many(what: &str) -> Error {
    Error::invalid_example(format!("{what} count overflows"))
}

/// Prefixes an error found inside a feature (or list, or step) with what
/// it was found in.
fn within(err: Error, place: impl FnOnce() -> Option<String>) -> Error {
    match (err.kind(), place()) {
        (crate::error::ErrorKind::InvalidExample { reason }, Some(place)) => {
            Error::invalid_example(format!("{place}: {reason}"))
        }
        _ => err,
    }
}

/// `feature "name"`, when the name is known.
fn named(what: &str, name: Option<&str>) -> Option<String> {
    name.map(|name| format!("{what} {name:?}"))
}

fn check_size(payload: &[u8]) -> Result<()> {
    if payload.len() > MAX_PAYLOAD {
        return Err(Error::invalid_example(format!(
            "payload of {} bytes exceeds protobuf's 2 GiB message limit",
            payload.len()
        )));
    }
    Ok(())
}

/// Number of varints in a packed run, each checked.
fn count_varints(packed: &[u8]) -> Result<usize> {
    let mut pos = 0;
    let mut n = 0usize;
    while pos < packed.len() {
        decode_varint(packed, &mut pos)
            .map_err(|e| Error::invalid_example(format!("packed int64 value: {e}")))?;
        n += 1;
    }
    Ok(n)
}

/// Checks a `BytesList`, `FloatList` or `Int64List` and counts its values.
fn count_list(kind: FeatureKind, list: &[u8], strict: bool) -> Result<usize> {
    let mut n = 0usize;
    for field in Fields::new(list) {
        let field = field?;
        if field.number != LIST_VALUE {
            unknown(&field, strict, kind.name())?;
            continue;
        }
        let count = match (kind, field.value) {
            (FeatureKind::Bytes, Value::Len(_)) => 1,
            (FeatureKind::Float, Value::Fixed32(_)) => 1,
            (FeatureKind::Float, Value::Len(packed)) => {
                if packed.len() % 4 != 0 {
                    return Err(Error::invalid_example(format!(
                        "packed float values take {} bytes, not a multiple of 4",
                        packed.len()
                    )));
                }
                packed.len() / 4
            }
            (FeatureKind::Int64, Value::Varint(_)) => 1,
            (FeatureKind::Int64, Value::Len(packed)) => count_varints(packed)?,
            _ => return Err(wrong_wire_type(&field, &format!("{} value", kind.name()))),
        };
        n = n.checked_add(count).ok_or_else(|| too_many("value"))?;
    }
    Ok(n)
}

/// Merges one `Feature` message into `acc`, as protobuf merges repeated
/// occurrences of a message: list fields of one kind concatenate, and a
/// list of another kind replaces what came before. `base` is the offset
/// of `feature` in the bytes `acc.run_start` counts from.
pub(super) fn merge_feature(
    acc: &mut Acc,
    feature: &[u8],
    base: usize,
    strict: bool,
) -> Result<()> {
    for field in Fields::new(feature) {
        let field = field?;
        let Some(kind) = FeatureKind::from_field(field.number) else {
            unknown(&field, strict, "Feature")?;
            continue;
        };
        let Value::Len(list) = field.value else {
            return Err(wrong_wire_type(&field, kind.name()));
        };
        let n = count_list(kind, list, strict)?;
        if kind == acc.kind {
            acc.len = acc.len.checked_add(n).ok_or_else(|| too_many("value"))?;
        } else {
            *acc = Acc {
                kind,
                run_start: base + field.offset,
                len: n,
            };
        }
    }
    Ok(())
}

/// Offset of `sub` within `outer`, of which it is a subslice.
pub(super) fn offset_in(outer: &[u8], sub: &[u8]) -> usize {
    (sub.as_ptr() as usize).wrapping_sub(outer.as_ptr() as usize)
}

/// A map key: UTF-8, as protobuf requires of `string` fields.
fn map_key<'a>(field: &Field<'a>, what: &str) -> Result<&'a str> {
    let Value::Len(key) = field.value else {
        return Err(wrong_wire_type(field, &format!("{what} name")));
    };
    std::str::from_utf8(key)
        .map_err(|e| Error::invalid_example(format!("{what} name is not UTF-8: {e}")))
}

/// Parses one entry of `Features.feature`.
fn parse_feature_entry(payload: &[u8], entry: &[u8], strict: bool) -> Result<Entry> {
    let mut name: Option<&str> = None;
    let mut acc = Acc::default();
    for field in Fields::new(entry) {
        let field = field.map_err(|e| within(e, || named("feature", name)))?;
        match field.number {
            ENTRY_KEY => name = Some(map_key(&field, "feature")?),
            ENTRY_VALUE => {
                let Value::Len(feature) = field.value else {
                    let err = wrong_wire_type(&field, "Feature");
                    return Err(within(err, || named("feature", name)));
                };
                merge_feature(&mut acc, feature, offset_in(entry, feature), strict)
                    .map_err(|e| within(e, || named("feature", name)))?;
            }
            _ => unknown(&field, strict, "a Features map entry")?,
        }
    }
    Ok(Entry {
        name: name
            .map(|n| Span::of(payload, n.as_bytes()))
            .unwrap_or_default(),
        body: Span::of(payload, entry),
        run_start: acc.run_start as u32,
        len: acc.len as u32,
        kind: acc.kind,
    })
}

/// Parses one entry of `FeatureLists.feature_list`.
fn parse_feature_list_entry(payload: &[u8], entry: &[u8], strict: bool) -> Result<ListEntry> {
    let mut name: Option<&str> = None;
    let mut steps = 0usize;
    for field in Fields::new(entry) {
        let field = field.map_err(|e| within(e, || named("feature list", name)))?;
        match field.number {
            ENTRY_KEY => name = Some(map_key(&field, "feature list")?),
            ENTRY_VALUE => {
                let Value::Len(list) = field.value else {
                    let err = wrong_wire_type(&field, "FeatureList");
                    return Err(within(err, || named("feature list", name)));
                };
                let n = count_steps(list, strict)
                    .map_err(|e| within(e, || named("feature list", name)))?;
                steps = steps.checked_add(n).ok_or_else(|| too_many("step"))?;
            }
            _ => unknown(&field, strict, "a FeatureLists map entry")?,
        }
    }
    Ok(ListEntry {
        name: name
            .map(|n| Span::of(payload, n.as_bytes()))
            .unwrap_or_default(),
        body: Span::of(payload, entry),
        steps: steps as u32,
    })
}

/// Checks a `FeatureList` message and counts its features.
fn count_steps(list: &[u8], strict: bool) -> Result<usize> {
    let mut steps = 0usize;
    for field in Fields::new(list) {
        let field = field?;
        if field.number != FEATURE_LIST_FEATURE {
            unknown(&field, strict, "FeatureList")?;
            continue;
        }
        let Value::Len(feature) = field.value else {
            return Err(wrong_wire_type(&field, "Feature"));
        };
        merge_feature(&mut Acc::default(), feature, 0, strict)
            .map_err(|e| within(e, || Some(format!("step {steps}"))))?;
        steps += 1;
    }
    Ok(steps)
}

/// Number of map entries in the messages that `field` of `payload` holds,
/// counted without checking them (parsing does that), so that the index
/// is allocated once at its final size.
fn count_entries(payload: &[u8], field: u32) -> usize {
    Fields::new(payload)
        .map_while(Result::ok)
        .filter_map(|f| match f.value {
            Value::Len(map) if f.number == field => Some(
                Fields::new(map)
                    .map_while(Result::ok)
                    .filter(|e| e.number == MAP_ENTRY)
                    .count(),
            ),
            _ => None,
        })
        .sum()
}

/// Parses the entries of one map message, `Features` or `FeatureLists`
/// (`message` names it in errors), onto `entries`, each by `parse_entry`.
#[inline]
fn parse_map<'p, E>(
    payload: &'p [u8],
    map: &'p [u8],
    strict: bool,
    message: &str,
    entries: &mut Vec<E>,
    parse_entry: impl Fn(&'p [u8], &'p [u8], bool) -> Result<E>,
) -> Result<()> {
    for field in Fields::new(map) {
        let field = field?;
        if field.number != MAP_ENTRY {
            unknown(&field, strict, message)?;
            continue;
        }
        let Value::Len(entry) = field.value else {
            return Err(wrong_wire_type(&field, &format!("{message} map entry")));
        };
        entries.push(parse_entry(payload, entry, strict)?);
    }
    Ok(())
}

/// What parsing an `Example` finds: the entries of its `features` (of all
/// of them, when the field occurs more than once, in wire order) and
/// whether it has the field at all.
pub(super) fn parse_example(payload: &[u8], strict: bool) -> Result<(Vec<Entry>, bool)> {
    check_size(payload)?;
    let mut entries = Vec::with_capacity(count_entries(payload, EXAMPLE_FEATURES));
    let mut has_features = false;
    for field in Fields::new(payload) {
        let field = field?;
        if field.number != EXAMPLE_FEATURES {
            unknown(&field, strict, "Example")?;
            continue;
        }
        let Value::Len(features) = field.value else {
            return Err(wrong_wire_type(&field, "Example.features"));
        };
        has_features = true;
        parse_map(
            payload,
            features,
            strict,
            "Features",
            &mut entries,
            parse_feature_entry,
        )?;
    }
    Ok((entries, has_features))
}

/// What parsing a `SequenceExample` finds.
pub(super) struct SequenceIndex {
    pub(super) context: Vec<Entry>,
    pub(super) lists: Vec<ListEntry>,
    pub(super) has_context: bool,
    pub(super) has_feature_lists: bool,
}

/// Parses a `SequenceExample`: the entries of its `context` and of its
/// `feature_lists`, and which of the two fields it has.
pub(super) fn parse_sequence_example(payload: &[u8], strict: bool) -> Result<SequenceIndex> {
    check_size(payload)?;
    let mut context = Vec::with_capacity(count_entries(payload, SEQUENCE_CONTEXT));
    let mut lists = Vec::with_capacity(count_entries(payload, SEQUENCE_FEATURE_LISTS));
    let (mut has_context, mut has_feature_lists) = (false, false);
    for field in Fields::new(payload) {
        let field = field?;
        match (field.number, field.value) {
            (SEQUENCE_CONTEXT, Value::Len(features)) => {
                has_context = true;
                parse_map(
                    payload,
                    features,
                    strict,
                    "Features",
                    &mut context,
                    parse_feature_entry,
                )?;
            }
            (SEQUENCE_FEATURE_LISTS, Value::Len(feature_lists)) => {
                has_feature_lists = true;
                parse_map(
                    payload,
                    feature_lists,
                    strict,
                    "FeatureLists",
                    &mut lists,
                    parse_feature_list_entry,
                )?;
            }
            (SEQUENCE_CONTEXT, _) => {
                return Err(wrong_wire_type(&field, "SequenceExample.context"))
            }
            (SEQUENCE_FEATURE_LISTS, _) => {
                return Err(wrong_wire_type(&field, "SequenceExample.feature_lists"))
            }
            _ => unknown(&field, strict, "SequenceExample")?,
        }
    }
    Ok(SequenceIndex {
        context,
        lists,
        has_context,
        has_feature_lists,
    })
}

/// Drops every entry whose name occurs again later (protobuf map merging:
/// the last entry for a key wins), keeping wire order otherwise, and returns
/// the positions of the survivors sorted by name when there are enough of
/// them to be worth binary search.
pub(super) fn dedupe<'p, E>(entries: &mut Vec<E>, name: impl Fn(&E) -> &'p [u8]) -> Vec<u32> {
    let n = entries.len();
    if n <= LINEAR_LIMIT {
        let mut keep = [true; LINEAR_LIMIT];
        for i in 0..n {
            let later = entries.get(i + 1..).unwrap_or_default();
            keep[i] = !later.iter().any(|e| name(e) == name(&entries[i]));
        }
        let mut i = 0;
        entries.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        return Vec::new();
    }
    let mut order: Vec<u32> = (0..n as u32).collect();
    let by_name = |a: &u32, b: &u32| name(&entries[*a as usize]).cmp(name(&entries[*b as usize]));
    order.sort_unstable_by(|a, b| by_name(a, b).then(a.cmp(b)));
    let mut keep = vec![true; n];
    for pair in order.windows(2) {
        if by_name(&pair[0], &pair[1]).is_eq() {
            keep[pair[0] as usize] = false;
        }
    }
    if keep.iter().all(|&k| k) {
        return order;
    }
    let mut i = 0;
    entries.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    if entries.len() <= LINEAR_LIMIT {
        return Vec::new();
    }
    let mut order: Vec<u32> = (0..entries.len() as u32).collect();
    order.sort_unstable_by(|a, b| name(&entries[*a as usize]).cmp(name(&entries[*b as usize])));
    order
}

/// Position of the entry called `target`.
pub(super) fn find<'p, E>(
    entries: &[E],
    sorted: &[u32],
    target: &[u8],
    name: impl Fn(&E) -> &'p [u8],
) -> Option<usize> {
    if sorted.is_empty() {
        entries.iter().position(|e| name(e) == target)
    } else {
        let at = sorted
            .binary_search_by(|&i| entries.get(i as usize).map_or(&[][..], &name).cmp(target))
            .ok()?;
        sorted.get(at).map(|&i| i as usize)
    }
}

pub(super) fn str_at(payload: &[u8], span: Span) -> &str {
    // Checked to be UTF-8 when parsed.
    std::str::from_utf8(span.get(payload)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_entries_stay_small() {
        // The bound the docs of `ExampleView` promise.
        assert_eq!(std::mem::size_of::<Entry>(), 28);
        assert_eq!(std::mem::size_of::<ListEntry>(), 20);
    }
}
