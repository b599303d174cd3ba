//! Borrowing views of serialized `Example`s and `SequenceExample`s.
//!
//! Parsing checks the whole payload once and keeps a small index: for each
//! feature its name, where its bytes are, its kind and its value count.
//! Values stay in the payload and are decoded as they are read.

use std::borrow::Cow;
use std::fmt;
use std::iter::FusedIterator;

use super::wire::{Field, Fields, Value};
use super::{BytesList, Example, Feature, FeatureList, FeatureLists, Features, FloatList};
use super::{Int64List, Kind, SequenceExample};
use crate::error::{Error, Result};
use crate::proto::wire::decode_varint;
use crate::tensor::TensorView;

// Field numbers, as in TensorFlow's feature.proto and example.proto.
const EXAMPLE_FEATURES: u32 = 1;
const SEQUENCE_CONTEXT: u32 = 1;
const SEQUENCE_FEATURE_LISTS: u32 = 2;
/// `Features.feature` and `FeatureLists.feature_list`: the map entries.
const MAP_ENTRY: u32 = 1;
const ENTRY_KEY: u32 = 1;
const ENTRY_VALUE: u32 = 2;
const FEATURE_LIST_FEATURE: u32 = 1;
/// `BytesList.value`, `FloatList.value`, `Int64List.value`.
const LIST_VALUE: u32 = 1;

/// Largest payload parsed: protobuf's own limit on a message (2 GiB), which
/// also lets the index store offsets in 32 bits.
const MAX_PAYLOAD: usize = i32::MAX as usize;

/// Up to this many features, duplicates are found and lookups done by
/// linear scan; above it, through a sorted index.
const LINEAR_LIMIT: usize = 16;

/// Which list a feature holds: the `kind` oneof of `tf.train.Feature`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeatureKind {
    /// No kind is set (`tf.train.Feature()`); the feature has no values.
    None,
    /// `bytes_list`: byte strings.
    Bytes,
    /// `float_list`: 32-bit floats.
    Float,
    /// `int64_list`: 64-bit signed integers.
    Int64,
}

impl FeatureKind {
    /// The oneof field's name: `bytes_list`, `float_list` or `int64_list`,
    /// or `none` when no kind is set.
    ///
    /// ```
    /// use tfrec::example::FeatureKind;
    /// assert_eq!(FeatureKind::Int64.name(), "int64_list");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            FeatureKind::None => "none",
            FeatureKind::Bytes => "bytes_list",
            FeatureKind::Float => "float_list",
            FeatureKind::Int64 => "int64_list",
        }
    }

    /// The kind of a prost [`Feature`].
    pub fn of(feature: &Feature) -> FeatureKind {
        match feature.kind {
            None => FeatureKind::None,
            Some(Kind::BytesList(_)) => FeatureKind::Bytes,
            Some(Kind::FloatList(_)) => FeatureKind::Float,
            Some(Kind::Int64List(_)) => FeatureKind::Int64,
        }
    }

    fn from_field(number: u32) -> Option<FeatureKind> {
        match number {
            1 => Some(FeatureKind::Bytes),
            2 => Some(FeatureKind::Float),
            3 => Some(FeatureKind::Int64),
            _ => None,
        }
    }

    fn field(self) -> u32 {
        match self {
            FeatureKind::None => 0,
            FeatureKind::Bytes => 1,
            FeatureKind::Float => 2,
            FeatureKind::Int64 => 3,
        }
    }
}

impl fmt::Display for FeatureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// A byte range of the payload, in 32 bits (payloads are under 2 GiB).
#[derive(Debug, Clone, Copy, Default)]
struct Span {
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

    fn get(self, payload: &[u8]) -> &[u8] {
        let start = self.start as usize;
        payload
            .get(start..start + self.len as usize)
            .unwrap_or_default()
    }
}

/// One feature of a `Features` map, as indexed by parsing.
#[derive(Debug, Clone, Copy)]
struct Entry {
    name: Span,
    /// The map entry message.
    body: Span,
    run_start: u32,
    len: u32,
    kind: FeatureKind,
}

/// One feature list of a `FeatureLists` map.
#[derive(Debug, Clone, Copy)]
struct ListEntry {
    name: Span,
    body: Span,
    steps: u32,
}

/// What parsing learns of one feature: the kind that won, where the run of
/// list fields of that kind starts (an offset in the map entry, or in the
/// `Feature` message), and how many values the run holds.
#[derive(Debug, Clone, Copy)]
struct Acc {
    kind: FeatureKind,
    run_start: usize,
    len: usize,
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
        (crate::ErrorKind::InvalidExample { reason }, Some(place)) => {
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
fn merge_feature(acc: &mut Acc, feature: &[u8], base: usize, strict: bool) -> Result<()> {
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
fn offset_in(outer: &[u8], sub: &[u8]) -> usize {
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

/// Parses the entries of one `Features` message onto `entries`.
fn parse_features(
    payload: &[u8],
    features: &[u8],
    strict: bool,
    entries: &mut Vec<Entry>,
) -> Result<()> {
    for field in Fields::new(features) {
        let field = field?;
        if field.number != MAP_ENTRY {
            unknown(&field, strict, "Features")?;
            continue;
        }
        let Value::Len(entry) = field.value else {
            return Err(wrong_wire_type(&field, "Features map entry"));
        };
        entries.push(parse_feature_entry(payload, entry, strict)?);
    }
    Ok(())
}

/// Parses the entries of one `FeatureLists` message onto `entries`.
fn parse_feature_lists(
    payload: &[u8],
    lists: &[u8],
    strict: bool,
    entries: &mut Vec<ListEntry>,
) -> Result<()> {
    for field in Fields::new(lists) {
        let field = field?;
        if field.number != MAP_ENTRY {
            unknown(&field, strict, "FeatureLists")?;
            continue;
        }
        let Value::Len(entry) = field.value else {
            return Err(wrong_wire_type(&field, "FeatureLists map entry"));
        };
        entries.push(parse_feature_list_entry(payload, entry, strict)?);
    }
    Ok(())
}

/// Drops every entry whose name occurs again later (protobuf map merging:
/// the last entry for a key wins), keeping wire order otherwise, and returns
/// the positions of the survivors sorted by name when there are enough of
/// them to be worth binary search.
fn dedupe<'p, E>(entries: &mut Vec<E>, name: impl Fn(&E) -> &'p [u8]) -> Vec<u32> {
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
fn find<'p, E>(
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

fn str_at(payload: &[u8], span: Span) -> &str {
    // Checked to be UTF-8 when parsed.
    std::str::from_utf8(span.get(payload)).unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Example
// ---------------------------------------------------------------------------

/// A serialized `tf.train.Example`, parsed in place.
///
/// Parsing checks the whole payload and follows protobuf's rules exactly as
/// prost and TensorFlow's C++ decoder apply them:
/// - repeated scalars may be packed, unpacked, or both, concatenated;
/// - a message field that occurs more than once is merged: `features`
///   occurring twice holds the entries of both, lists of the same kind
///   concatenate;
/// - among map entries with the same name the last one wins, whole;
/// - in a `Feature`, the last kind seen wins (a list of another kind
///   discards what came before);
/// - unknown fields are skipped (groups included);
/// - a known field with the wrong wire type, a malformed field, or a name
///   that is not UTF-8 is an [`InvalidExample`](crate::ErrorKind::InvalidExample) error.
///
/// Features iterate in wire order, a feature overridden by a later entry of
/// the same name taking that later position. Values are never copied: the
/// view keeps 28 bytes of index per feature (at most 14 bytes per payload
/// byte, for a payload of nothing but empty entries) and reads values from
/// the payload when asked.
///
/// ```
/// use tfrec::example::{self, Example, ExampleView, FeatureKind};
///
/// let payload = example::encode(
///     &Example::default()
///         .int64("label", [7])
///         .float("score", [0.5, 0.25])
///         .bytes("id", ["a1"]),
/// );
/// let view = ExampleView::parse(&payload)?;
/// assert_eq!(view.len(), 3);
/// let score = view.get("score").unwrap();
/// assert_eq!(score.kind(), FeatureKind::Float);
/// assert_eq!(&score.floats().unwrap()[..], [0.5, 0.25]);
/// let label: Vec<i64> = view.get("label").unwrap().int64_list().unwrap().collect();
/// assert_eq!(label, [7]);
/// let names: Vec<&str> = view.iter().map(|(name, _)| name).collect();
/// assert_eq!(names, ["id", "label", "score"]); // wire order; ours is sorted
/// # Ok::<(), tfrec::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ExampleView<'a> {
    features: FeaturesView<'a>,
    has_features: bool,
}

impl<'a> ExampleView<'a> {
    /// Parses a serialized `Example`, checking all of it.
    pub fn parse(payload: &'a [u8]) -> Result<ExampleView<'a>> {
        ExampleView::parse_with(payload, false)
    }

    /// Parses, rejecting unknown fields anywhere when `strict`.
    pub(crate) fn parse_with(payload: &'a [u8], strict: bool) -> Result<ExampleView<'a>> {
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
            parse_features(payload, features, strict, &mut entries)?;
        }
        Ok(ExampleView {
            features: FeaturesView::new(payload, entries),
            has_features,
        })
    }

    /// The features.
    pub fn features(&self) -> &FeaturesView<'a> {
        &self.features
    }

    /// Whether the payload has a `features` field at all (an `Example` with
    /// no features serializes to nothing; one with an empty `features`
    /// message does not).
    pub fn has_features(&self) -> bool {
        self.has_features
    }

    /// The feature called `name`.
    pub fn get(&self, name: &str) -> Option<FeatureView<'a>> {
        self.features.get(name)
    }

    /// `(name, feature)` pairs in wire order.
    pub fn iter(&self) -> FeaturesIter<'_, 'a> {
        self.features.iter()
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// True when there are no features.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// The prost message, values copied out.
    pub fn to_owned(&self) -> Example {
        Example {
            features: self.has_features.then(|| self.features.to_owned()),
        }
    }
}

impl<'v, 'a> IntoIterator for &'v ExampleView<'a> {
    type Item = (&'a str, FeatureView<'a>);
    type IntoIter = FeaturesIter<'v, 'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// The `features` of an `Example` or the `context` of a `SequenceExample`:
/// a map from names to [`FeatureView`]s.
#[derive(Clone)]
pub struct FeaturesView<'a> {
    payload: &'a [u8],
    entries: Vec<Entry>,
    /// Entry positions sorted by name, for lookups among many features.
    sorted: Vec<u32>,
}

impl<'a> FeaturesView<'a> {
    fn new(payload: &'a [u8], mut entries: Vec<Entry>) -> Self {
        let sorted = dedupe(&mut entries, |e| e.name.get(payload));
        FeaturesView {
            payload,
            entries,
            sorted,
        }
    }

    fn view(&self, entry: &Entry) -> (&'a str, FeatureView<'a>) {
        (
            str_at(self.payload, entry.name),
            FeatureView {
                body: entry.body.get(self.payload),
                nested: true,
                kind: entry.kind,
                run_start: entry.run_start as usize,
                len: entry.len as usize,
            },
        )
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The feature called `name`: a linear scan among few features, a
    /// binary search among many.
    pub fn get(&self, name: &str) -> Option<FeatureView<'a>> {
        let at = find(&self.entries, &self.sorted, name.as_bytes(), |e| {
            e.name.get(self.payload)
        })?;
        self.entries.get(at).map(|e| self.view(e).1)
    }

    /// `(name, feature)` pairs in wire order.
    pub fn iter(&self) -> FeaturesIter<'_, 'a> {
        FeaturesIter {
            features: self,
            entries: self.entries.iter(),
        }
    }

    /// The names, in wire order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &'a str> + '_ {
        self.iter().map(|(name, _)| name)
    }

    /// The prost message, values copied out.
    pub fn to_owned(&self) -> Features {
        Features {
            feature: self
                .iter()
                .map(|(name, f)| (name.to_owned(), f.to_owned()))
                .collect(),
        }
    }
}

impl fmt::Debug for FeaturesView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'v, 'a> IntoIterator for &'v FeaturesView<'a> {
    type Item = (&'a str, FeatureView<'a>);
    type IntoIter = FeaturesIter<'v, 'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over the `(name, feature)` pairs of a [`FeaturesView`].
#[derive(Debug, Clone)]
pub struct FeaturesIter<'v, 'a> {
    features: &'v FeaturesView<'a>,
    entries: std::slice::Iter<'v, Entry>,
}

impl<'a> Iterator for FeaturesIter<'_, 'a> {
    type Item = (&'a str, FeatureView<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        self.entries.next().map(|e| self.features.view(e))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for FeaturesIter<'_, '_> {}
impl FusedIterator for FeaturesIter<'_, '_> {}

// ---------------------------------------------------------------------------
// SequenceExample
// ---------------------------------------------------------------------------

/// A serialized `tf.train.SequenceExample`, parsed in place: `context`
/// features of the whole sequence and `feature_lists`, one feature per
/// step. The rules are those of [`ExampleView`]; feature lists occurring
/// more than once under one name are merged the same way (the last entry
/// wins, and within an entry repeated `FeatureList`s concatenate).
///
/// ```
/// use tfrec::example::{self, Feature, SequenceExample, SequenceExampleView};
///
/// let payload = example::encode(
///     &SequenceExample::default()
///         .context_feature("length", Feature::int64_list([2]))
///         .feature_list("tokens", [Feature::int64_list([5, 6]), Feature::int64_list([7])]),
/// );
/// let view = SequenceExampleView::parse(&payload)?;
/// assert_eq!(view.context().len(), 1);
/// let tokens = view.feature_lists().get("tokens").unwrap();
/// let steps: Vec<Vec<i64>> = tokens
///     .iter()
///     .map(|step| step.int64_list().unwrap().collect())
///     .collect();
/// assert_eq!(steps, [vec![5, 6], vec![7]]);
/// # Ok::<(), tfrec::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SequenceExampleView<'a> {
    context: FeaturesView<'a>,
    feature_lists: FeatureListsView<'a>,
    has_context: bool,
    has_feature_lists: bool,
}

impl<'a> SequenceExampleView<'a> {
    /// Parses a serialized `SequenceExample`, checking all of it.
    pub fn parse(payload: &'a [u8]) -> Result<SequenceExampleView<'a>> {
        SequenceExampleView::parse_with(payload, false)
    }

    /// Parses, rejecting unknown fields anywhere when `strict`.
    pub(crate) fn parse_with(payload: &'a [u8], strict: bool) -> Result<SequenceExampleView<'a>> {
        check_size(payload)?;
        let mut context = Vec::with_capacity(count_entries(payload, SEQUENCE_CONTEXT));
        let mut lists = Vec::with_capacity(count_entries(payload, SEQUENCE_FEATURE_LISTS));
        let (mut has_context, mut has_feature_lists) = (false, false);
        for field in Fields::new(payload) {
            let field = field?;
            match (field.number, field.value) {
                (SEQUENCE_CONTEXT, Value::Len(features)) => {
                    has_context = true;
                    parse_features(payload, features, strict, &mut context)?;
                }
                (SEQUENCE_FEATURE_LISTS, Value::Len(feature_lists)) => {
                    has_feature_lists = true;
                    parse_feature_lists(payload, feature_lists, strict, &mut lists)?;
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
        Ok(SequenceExampleView {
            context: FeaturesView::new(payload, context),
            feature_lists: FeatureListsView::new(payload, lists),
            has_context,
            has_feature_lists,
        })
    }

    /// The features of the whole sequence.
    pub fn context(&self) -> &FeaturesView<'a> {
        &self.context
    }

    /// The per-step features.
    pub fn feature_lists(&self) -> &FeatureListsView<'a> {
        &self.feature_lists
    }

    /// Whether the payload has a `context` field at all.
    pub fn has_context(&self) -> bool {
        self.has_context
    }

    /// Whether the payload has a `feature_lists` field at all.
    pub fn has_feature_lists(&self) -> bool {
        self.has_feature_lists
    }

    /// The prost message, values copied out.
    pub fn to_owned(&self) -> SequenceExample {
        SequenceExample {
            context: self.has_context.then(|| self.context.to_owned()),
            feature_lists: self
                .has_feature_lists
                .then(|| self.feature_lists.to_owned()),
        }
    }
}

/// The `feature_lists` of a `SequenceExample`: a map from names to
/// [`FeatureListView`]s.
#[derive(Clone)]
pub struct FeatureListsView<'a> {
    payload: &'a [u8],
    entries: Vec<ListEntry>,
    sorted: Vec<u32>,
}

impl<'a> FeatureListsView<'a> {
    fn new(payload: &'a [u8], mut entries: Vec<ListEntry>) -> Self {
        let sorted = dedupe(&mut entries, |e| e.name.get(payload));
        FeatureListsView {
            payload,
            entries,
            sorted,
        }
    }

    fn view(&self, entry: &ListEntry) -> (&'a str, FeatureListView<'a>) {
        (
            str_at(self.payload, entry.name),
            FeatureListView {
                body: entry.body.get(self.payload),
                len: entry.steps as usize,
            },
        )
    }

    /// Number of feature lists.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The feature list called `name`.
    pub fn get(&self, name: &str) -> Option<FeatureListView<'a>> {
        let at = find(&self.entries, &self.sorted, name.as_bytes(), |e| {
            e.name.get(self.payload)
        })?;
        self.entries.get(at).map(|e| self.view(e).1)
    }

    /// `(name, feature list)` pairs in wire order.
    pub fn iter(&self) -> FeatureListsIter<'_, 'a> {
        FeatureListsIter {
            lists: self,
            entries: self.entries.iter(),
        }
    }

    /// The prost message, values copied out.
    pub fn to_owned(&self) -> FeatureLists {
        FeatureLists {
            feature_list: self
                .iter()
                .map(|(name, list)| (name.to_owned(), list.to_owned()))
                .collect(),
        }
    }
}

impl fmt::Debug for FeatureListsView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'v, 'a> IntoIterator for &'v FeatureListsView<'a> {
    type Item = (&'a str, FeatureListView<'a>);
    type IntoIter = FeatureListsIter<'v, 'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over the `(name, feature list)` pairs of a [`FeatureListsView`].
#[derive(Debug, Clone)]
pub struct FeatureListsIter<'v, 'a> {
    lists: &'v FeatureListsView<'a>,
    entries: std::slice::Iter<'v, ListEntry>,
}

impl<'a> Iterator for FeatureListsIter<'_, 'a> {
    type Item = (&'a str, FeatureListView<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        self.entries.next().map(|e| self.lists.view(e))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.entries.size_hint()
    }
}

impl ExactSizeIterator for FeatureListsIter<'_, '_> {}
impl FusedIterator for FeatureListsIter<'_, '_> {}

/// One feature list: a feature per step, read in order from the payload.
#[derive(Clone, Copy)]
pub struct FeatureListView<'a> {
    /// The map entry.
    body: &'a [u8],
    len: usize,
}

impl<'a> FeatureListView<'a> {
    /// Number of steps.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no steps.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The features of the steps, in order.
    pub fn iter(&self) -> FeatureListIter<'a> {
        FeatureListIter {
            entry: Fields::new(self.body),
            list: Fields::new(&[]),
            remaining: self.len,
        }
    }

    /// The feature of step `i`, found by walking the steps before it.
    pub fn get(&self, i: usize) -> Option<FeatureView<'a>> {
        self.iter().nth(i)
    }

    /// The prost message, values copied out.
    pub fn to_owned(&self) -> FeatureList {
        FeatureList {
            feature: self.iter().map(|f| f.to_owned()).collect(),
        }
    }
}

impl fmt::Debug for FeatureListView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for FeatureListView<'a> {
    type Item = FeatureView<'a>;
    type IntoIter = FeatureListIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over the steps of a [`FeatureListView`].
#[derive(Debug, Clone)]
pub struct FeatureListIter<'a> {
    /// Fields of the map entry: `FeatureList` messages under `ENTRY_VALUE`.
    entry: Fields<'a>,
    /// Fields of the current `FeatureList`.
    list: Fields<'a>,
    remaining: usize,
}

impl<'a> Iterator for FeatureListIter<'a> {
    type Item = FeatureView<'a>;

    fn next(&mut self) -> Option<FeatureView<'a>> {
        // Parsing checked everything, so errors cannot occur; were one to,
        // iteration would just end.
        loop {
            for field in self.list.by_ref().map_while(Result::ok) {
                if let (FEATURE_LIST_FEATURE, Value::Len(feature)) = (field.number, field.value) {
                    self.remaining = self.remaining.saturating_sub(1);
                    return Some(FeatureView::from_feature(feature));
                }
            }
            let list = self
                .entry
                .by_ref()
                .map_while(Result::ok)
                .find_map(|f| match f.value {
                    Value::Len(list) if f.number == ENTRY_VALUE => Some(list),
                    _ => None,
                })?;
            self.list = Fields::new(list);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for FeatureListIter<'_> {}
impl FusedIterator for FeatureListIter<'_> {}

// ---------------------------------------------------------------------------
// Feature
// ---------------------------------------------------------------------------

/// One feature: its kind and its values, read from the payload on demand.
///
/// Cheap to copy. Typed access returns `None` when the feature holds
/// another kind.
#[derive(Clone, Copy)]
pub struct FeatureView<'a> {
    /// A map entry whose `Feature` messages are its values (`nested`), or
    /// one `Feature` message.
    body: &'a [u8],
    nested: bool,
    kind: FeatureKind,
    /// Offset in `body` of the first list field of the run that counts.
    run_start: usize,
    len: usize,
}

impl<'a> FeatureView<'a> {
    /// A view of one checked `Feature` message.
    fn from_feature(feature: &'a [u8]) -> FeatureView<'a> {
        let mut acc = Acc::default();
        // Checked when the payload was parsed.
        let _ = merge_feature(&mut acc, feature, 0, false);
        FeatureView {
            body: feature,
            nested: false,
            kind: acc.kind,
            run_start: acc.run_start,
            len: acc.len,
        }
    }

    /// Which list the feature holds.
    pub fn kind(&self) -> FeatureKind {
        self.kind
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no values (an empty list, or no kind).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn values(&self) -> ListValues<'a> {
        let (outer, inner) = if self.nested {
            (Some(Fields::new(self.body)), Fields::new(&[]))
        } else {
            (None, Fields::new(self.body))
        };
        ListValues {
            lists: Lists {
                body: self.body,
                outer,
                inner,
                inner_base: 0,
                kind_field: self.kind.field(),
                run_start: self.run_start,
            },
            list: Fields::new(&[]),
        }
    }

    fn wrong_kind(&self, wanted: FeatureKind) -> Error {
        Error::invalid_example(format!("feature is {}, not {wanted}", self.kind))
    }

    /// The byte strings of a `bytes_list`, borrowed from the payload.
    ///
    /// ```
    /// use tfrec::example::{self, Example, ExampleView};
    /// let payload = example::encode(&Example::default().bytes("ids", ["a", "bc"]));
    /// let view = ExampleView::parse(&payload)?;
    /// let ids: Vec<&[u8]> = view.get("ids").unwrap().bytes_list().unwrap().collect();
    /// assert_eq!(ids, [b"a".as_slice(), b"bc"]);
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn bytes_list(&self) -> Option<BytesValues<'a>> {
        (self.kind == FeatureKind::Bytes).then(|| BytesValues {
            values: self.values(),
            remaining: self.len,
        })
    }

    /// The values of a `float_list`, decoded one by one.
    pub fn float_list(&self) -> Option<FloatValues<'a>> {
        (self.kind == FeatureKind::Float).then(|| FloatValues {
            values: self.values(),
            packed: &[],
            remaining: self.len,
        })
    }

    /// The values of an `int64_list`, varints decoded in place.
    pub fn int64_list(&self) -> Option<Int64Values<'a>> {
        (self.kind == FeatureKind::Int64).then(|| Int64Values {
            values: self.values(),
            packed: &[],
            remaining: self.len,
        })
    }

    /// The little-endian bytes of a `float_list` whose values are one packed
    /// run (as every encoder writes them), borrowed from the payload; `None`
    /// for another kind or when the values are spread over several fields.
    pub fn float_bytes(&self) -> Option<&'a [u8]> {
        if self.kind != FeatureKind::Float {
            return None;
        }
        if self.len == 0 {
            return Some(&[]);
        }
        let mut values = self.values();
        match (values.next(), values.next()) {
            (Some(Value::Len(packed)), None) => Some(packed),
            _ => None,
        }
    }

    /// The values of a `float_list` as a slice: borrowed from the payload
    /// when they are one packed run suitably aligned on a little-endian
    /// host, copied otherwise.
    ///
    /// ```
    /// use tfrec::example::{self, Example, ExampleView};
    /// let payload = example::encode(&Example::default().float("x", [1.5, -2.0]));
    /// let view = ExampleView::parse(&payload)?;
    /// assert_eq!(&view.get("x").unwrap().floats().unwrap()[..], [1.5, -2.0]);
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn floats(&self) -> Option<Cow<'a, [f32]>> {
        if let Some(bytes) = self.float_bytes() {
            if cfg!(target_endian = "little") {
                if let Ok(floats) = bytemuck::try_cast_slice::<u8, f32>(bytes) {
                    return Some(Cow::Borrowed(floats));
                }
            }
        }
        self.float_list().map(|values| Cow::Owned(values.collect()))
    }

    /// Writes the values of a `float_list` to the front of `out` and
    /// returns how many there are. Fails when the feature is of another
    /// kind or `out` is shorter than [`len`](FeatureView::len).
    ///
    /// ```
    /// use tfrec::example::{self, Example, ExampleView};
    /// let payload = example::encode(&Example::default().float("x", [1.0, 2.0]));
    /// let view = ExampleView::parse(&payload)?;
    /// let mut batch = [0f32; 4];
    /// let n = view.get("x").unwrap().copy_floats_into(&mut batch[1..])?;
    /// assert_eq!((n, batch), (2, [0.0, 1.0, 2.0, 0.0]));
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn copy_floats_into(&self, out: &mut [f32]) -> Result<usize> {
        if self.kind != FeatureKind::Float {
            return Err(self.wrong_kind(FeatureKind::Float));
        }
        let out = self.destination(out)?;
        let out_bytes = bytemuck::cast_slice_mut::<f32, u8>(out);
        match self.float_bytes() {
            Some(bytes) if cfg!(target_endian = "little") && bytes.len() == out_bytes.len() => {
                out_bytes.copy_from_slice(bytes);
            }
            _ => {
                for (slot, v) in out.iter_mut().zip(self.float_list().into_iter().flatten()) {
                    *slot = v;
                }
            }
        }
        Ok(self.len)
    }

    /// Writes the values of an `int64_list` to the front of `out` and
    /// returns how many there are. Fails when the feature is of another
    /// kind or `out` is shorter than [`len`](FeatureView::len).
    pub fn copy_int64s_into(&self, out: &mut [i64]) -> Result<usize> {
        if self.kind != FeatureKind::Int64 {
            return Err(self.wrong_kind(FeatureKind::Int64));
        }
        let out = self.destination(out)?;
        for (slot, v) in out.iter_mut().zip(self.int64_list().into_iter().flatten()) {
            *slot = v;
        }
        Ok(self.len)
    }

    fn destination<'o, T>(&self, out: &'o mut [T]) -> Result<&'o mut [T]> {
        let available = out.len();
        out.get_mut(..self.len).ok_or_else(|| {
            Error::invalid_example(format!(
                "feature has {} values, the buffer holds {available}",
                self.len
            ))
        })
    }

    /// Decodes value `i` of a `bytes_list` as a serialized `TensorProto`
    /// (what `tf.io.serialize_tensor` writes), borrowing from the payload.
    ///
    /// ```
    /// use tfrec::example::{self, Example, ExampleView};
    /// use tfrec::Tensor;
    /// let t = Tensor::from_slice(&[1i32, 2, 3, 4], &[2, 2])?;
    /// let payload = example::encode(&Example::default().bytes("t", [t.to_proto_bytes()]));
    /// let view = ExampleView::parse(&payload)?;
    /// let back = view.get("t").unwrap().tensor(0)?;
    /// assert_eq!(back, *t);
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn tensor(&self, i: usize) -> Result<TensorView<'a>> {
        let Some(mut values) = self.bytes_list() else {
            return Err(self.wrong_kind(FeatureKind::Bytes));
        };
        let Some(bytes) = values.nth(i) else {
            return Err(Error::invalid_example(format!(
                "feature has {} values, no value {i}",
                self.len
            )));
        };
        TensorView::decode(bytes)
    }

    /// Decodes every value of a `bytes_list` as a serialized `TensorProto`.
    pub fn decode_tensors(&self) -> Result<Vec<TensorView<'a>>> {
        let Some(values) = self.bytes_list() else {
            return Err(self.wrong_kind(FeatureKind::Bytes));
        };
        values.map(TensorView::decode).collect()
    }

    /// The prost message, values copied out.
    pub fn to_owned(&self) -> Feature {
        let kind = match self.kind {
            FeatureKind::None => None,
            FeatureKind::Bytes => Some(Kind::BytesList(BytesList {
                value: self
                    .bytes_list()
                    .into_iter()
                    .flatten()
                    .map(<[u8]>::to_vec)
                    .collect(),
            })),
            FeatureKind::Float => Some(Kind::FloatList(FloatList {
                value: self.floats().map(Cow::into_owned).unwrap_or_default(),
            })),
            FeatureKind::Int64 => Some(Kind::Int64List(Int64List {
                value: self.int64_list().into_iter().flatten().collect(),
            })),
        };
        Feature { kind }
    }
}

impl fmt::Debug for FeatureView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeatureView")
            .field("kind", &self.kind)
            .field("len", &self.len)
            .finish()
    }
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
            let feature =
                self.outer
                    .as_mut()?
                    .map_while(Result::ok)
                    .find_map(|f| match f.value {
                        Value::Len(feature) if f.number == ENTRY_VALUE => Some(feature),
                        _ => None,
                    })?;
            self.inner = Fields::new(feature);
            self.inner_base = offset_in(self.body, feature);
        }
    }
}

/// The `value` fields of a feature's lists, as they are on the wire.
#[derive(Debug, Clone)]
struct ListValues<'a> {
    lists: Lists<'a>,
    list: Fields<'a>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example::encode;
    use crate::proto::wire::put_varint;
    use crate::ErrorKind;

    fn len_field(number: u32, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, u64::from(number) << 3 | 2);
        put_varint(&mut out, body.len() as u64);
        out.extend_from_slice(body);
        out
    }

    fn varint_field(number: u32, v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, u64::from(number) << 3);
        put_varint(&mut out, v);
        out
    }

    fn fixed32_field(number: u32, v: f32) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, u64::from(number) << 3 | 5);
        out.extend_from_slice(&v.to_le_bytes());
        out
    }

    fn entry(name: &str, feature: &[u8]) -> Vec<u8> {
        len_field(
            1,
            &[len_field(1, name.as_bytes()), len_field(2, feature)].concat(),
        )
    }

    fn example(entries: &[Vec<u8>]) -> Vec<u8> {
        len_field(1, &entries.concat())
    }

    fn packed_floats(values: &[f32]) -> Vec<u8> {
        len_field(
            1,
            &values
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<_>>(),
        )
    }

    fn packed_ints(values: &[i64]) -> Vec<u8> {
        let mut body = Vec::new();
        for &v in values {
            put_varint(&mut body, v as u64);
        }
        len_field(1, &body)
    }

    fn reason(err: Error) -> String {
        match err.kind() {
            ErrorKind::InvalidExample { reason } => reason.clone(),
            other => panic!("unexpected kind {other:?}"),
        }
    }

    fn ints(f: FeatureView<'_>) -> Vec<i64> {
        f.int64_list().unwrap().collect()
    }

    fn floats(f: FeatureView<'_>) -> Vec<f32> {
        f.float_list().unwrap().collect()
    }

    #[test]
    fn index_entries_stay_small() {
        // The bound the docs of `ExampleView` promise.
        assert_eq!(std::mem::size_of::<Entry>(), 28);
        assert_eq!(std::mem::size_of::<ListEntry>(), 20);
    }

    #[test]
    fn packed_unpacked_and_mixed_scalars() {
        let float_list = [
            packed_floats(&[1.0, 2.0]),
            fixed32_field(1, 3.0),
            packed_floats(&[]),
            fixed32_field(9, 99.0), // unknown field
            packed_floats(&[4.0]),
        ]
        .concat();
        let int64_list = [
            varint_field(1, 5),
            packed_ints(&[-1, i64::MAX]),
            varint_field(1, (-7i64) as u64),
        ]
        .concat();
        let payload = example(&[
            entry("f", &len_field(2, &float_list)),
            entry("i", &len_field(3, &int64_list)),
        ]);
        let view = ExampleView::parse(&payload).unwrap();
        let f = view.get("f").unwrap();
        assert_eq!((f.kind(), f.len()), (FeatureKind::Float, 4));
        assert_eq!(floats(f), [1.0, 2.0, 3.0, 4.0]);
        assert_eq!(f.float_bytes(), None); // spread over several fields
        assert!(matches!(f.floats(), Some(Cow::Owned(v)) if v == [1.0, 2.0, 3.0, 4.0]));
        assert_eq!(f.float_list().unwrap().len(), 4);
        let i = view.get("i").unwrap();
        assert_eq!(ints(i), [5, -1, i64::MAX, -7]);
        assert_eq!(i.len(), 4);
        assert!(i.float_list().is_none() && i.bytes_list().is_none());
    }

    #[test]
    fn floats_borrow_when_aligned_and_copy_when_not() {
        let values: Vec<f32> = (0..16).map(|i| i as f32 * 0.5).collect();
        let ex = Example::default().float("x", values.iter().copied());
        let bytes = encode(&ex);
        // Try every alignment of the payload.
        let mut buf = vec![0u8; bytes.len() + 4];
        let mut borrowed = 0;
        for shift in 0..4 {
            buf[shift..shift + bytes.len()].copy_from_slice(&bytes);
            let payload = &buf[shift..shift + bytes.len()];
            let view = ExampleView::parse(payload).unwrap();
            let f = view.get("x").unwrap();
            assert_eq!(f.float_bytes().map(<[u8]>::len), Some(64));
            let got = f.floats().unwrap();
            assert_eq!(&got[..], &values[..]);
            if matches!(got, Cow::Borrowed(_)) {
                borrowed += 1;
            }
            let mut out = vec![0f32; 20];
            assert_eq!(f.copy_floats_into(&mut out).unwrap(), 16);
            assert_eq!(&out[..16], &values[..]);
        }
        assert_eq!(borrowed, 1, "one alignment in four is zero-copy");
    }

    #[test]
    fn copy_into_checks_kind_and_room() {
        let payload = encode(&Example::default().int64("i", [1, 2, 3]).float("f", [1.0]));
        let view = ExampleView::parse(&payload).unwrap();
        let i = view.get("i").unwrap();
        let mut out = [0i64; 3];
        assert_eq!(i.copy_int64s_into(&mut out).unwrap(), 3);
        assert_eq!(out, [1, 2, 3]);
        assert!(reason(i.copy_int64s_into(&mut [0; 2]).unwrap_err()).contains("holds 2"));
        assert!(reason(i.copy_floats_into(&mut [0.0; 3]).unwrap_err())
            .contains("int64_list, not float_list"));
        let f = view.get("f").unwrap();
        assert!(f.copy_int64s_into(&mut out).is_err());
        assert!(f.tensor(0).is_err());
    }

    #[test]
    fn repeated_features_fields_merge_and_last_name_wins() {
        let payload = [
            example(&[
                entry("a", &len_field(3, &packed_ints(&[1]))),
                entry("b", &len_field(3, &packed_ints(&[2]))),
            ]),
            example(&[
                entry("c", &len_field(3, &packed_ints(&[3]))),
                entry("a", &len_field(2, &packed_floats(&[9.0]))),
            ]),
        ]
        .concat();
        let view = ExampleView::parse(&payload).unwrap();
        let names: Vec<&str> = view.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["b", "c", "a"]);
        assert_eq!(floats(view.get("a").unwrap()), [9.0]);
        assert_eq!(ints(view.get("b").unwrap()), [2]);
        let owned = view.to_owned();
        assert_eq!(
            owned,
            Example::default()
                .float("a", [9.0])
                .int64("b", [2])
                .int64("c", [3])
        );
    }

    #[test]
    fn feature_messages_merge_and_last_kind_wins() {
        // One entry with its value field three times: bytes [x], then a
        // float list (discarding the bytes), then bytes [y] and [z]
        // (discarding the floats): bytes [y, z].
        let entry_body = [
            len_field(1, b"k"),
            len_field(2, &len_field(1, &len_field(1, b"x"))),
            len_field(2, &len_field(2, &packed_floats(&[1.0]))),
            len_field(
                2,
                &[
                    len_field(1, &len_field(1, b"y")),
                    len_field(1, &len_field(1, b"z")),
                ]
                .concat(),
            ),
        ]
        .concat();
        let payload = example(&[len_field(1, &entry_body)]);
        let view = ExampleView::parse(&payload).unwrap();
        let k = view.get("k").unwrap();
        assert_eq!(k.kind(), FeatureKind::Bytes);
        let values: Vec<&[u8]> = k.bytes_list().unwrap().collect();
        assert_eq!(values, [b"y".as_slice(), b"z"]);
        assert_eq!(k.len(), 2);
        // Same kind twice in one Feature message concatenates.
        let feature = [
            len_field(3, &packed_ints(&[1])),
            len_field(3, &packed_ints(&[2, 3])),
        ]
        .concat();
        let payload = example(&[entry("n", &feature)]);
        let view = ExampleView::parse(&payload).unwrap();
        assert_eq!(ints(view.get("n").unwrap()), [1, 2, 3]);
    }

    #[test]
    fn missing_key_value_and_kind() {
        // An entry with neither key nor value: name "", no kind.
        let payload = example(&[len_field(1, &[])]);
        let view = ExampleView::parse(&payload).unwrap();
        let f = view.get("").unwrap();
        assert_eq!((f.kind(), f.len()), (FeatureKind::None, 0));
        assert!(f.bytes_list().is_none() && f.floats().is_none());
        assert_eq!(
            view.to_owned(),
            Example::default().with_feature("", Feature::default())
        );
        // Empty lists are a kind with no values.
        let payload = example(&[entry("e", &len_field(2, &[]))]);
        let view = ExampleView::parse(&payload).unwrap();
        let e = view.get("e").unwrap();
        assert_eq!((e.kind(), e.len()), (FeatureKind::Float, 0));
        assert_eq!(e.float_bytes(), Some(&[][..]));
        assert!(e.floats().unwrap().is_empty());
    }

    #[test]
    fn empty_and_featureless_payloads() {
        let view = ExampleView::parse(&[]).unwrap();
        assert!(view.is_empty() && !view.has_features());
        assert_eq!(view.to_owned(), Example::default());
        let view = ExampleView::parse(&[0x0a, 0x00]).unwrap();
        assert!(view.is_empty() && view.has_features());
        assert_eq!(
            view.to_owned(),
            Example {
                features: Some(Features::default())
            }
        );
    }

    #[test]
    fn unknown_fields_and_groups_are_skipped() {
        let feature = [
            varint_field(7, 1),
            len_field(
                3,
                &[packed_ints(&[4]), vec![0x13, 0x08, 0x01, 0x14]].concat(),
            ),
        ]
        .concat();
        let entry_body = [
            len_field(1, b"x"),
            varint_field(5, 3),
            len_field(2, &feature),
        ]
        .concat();
        let payload = [
            fixed32_field(9, 1.0),
            len_field(1, &[len_field(1, &entry_body), varint_field(4, 4)].concat()),
            vec![0x7b, 0x7c], // group 15, empty
        ]
        .concat();
        let view = ExampleView::parse(&payload).unwrap();
        assert_eq!(ints(view.get("x").unwrap()), [4]);
        let strict = ExampleView::parse_with(&payload, true).unwrap_err();
        assert!(reason(strict).contains("unknown field 9 in Example"));
    }

    #[test]
    fn wrong_wire_types_are_errors() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (varint_field(1, 1), "Example.features"),
            (len_field(1, &varint_field(1, 1)), "Features map entry"),
            (
                example(&[len_field(1, &varint_field(1, 1))]),
                "feature name",
            ),
            (
                example(&[len_field(
                    1,
                    &[len_field(1, b"n"), varint_field(2, 0)].concat(),
                )]),
                "feature \"n\": Feature",
            ),
            (example(&[entry("n", &varint_field(2, 0))]), "float_list"),
            (
                example(&[entry("n", &len_field(1, &varint_field(1, 0)))]),
                "bytes_list value",
            ),
            (
                example(&[entry("n", &len_field(2, &varint_field(1, 0)))]),
                "float_list value",
            ),
            (
                example(&[entry("n", &len_field(3, &fixed32_field(1, 0.0)))]),
                "int64_list value",
            ),
            (
                example(&[entry("n", &len_field(2, &len_field(1, &[0; 5])))]),
                "multiple of 4",
            ),
            (
                example(&[entry("n", &len_field(3, &len_field(1, &[0x80])))]),
                "packed int64",
            ),
            (
                example(&[entry("\u{e9}", &[])])
                    .iter()
                    .map(|&b| if b == 0xc3 { 0xff } else { b })
                    .collect(),
                "not UTF-8",
            ),
        ];
        for (payload, why) in cases {
            let got = reason(ExampleView::parse(&payload).unwrap_err());
            assert!(got.contains(why), "{payload:02x?}: {got}");
        }
    }

    #[test]
    fn many_features_dedupe_and_look_up() {
        let mut entries = Vec::new();
        for i in 0..100 {
            entries.push(entry(&format!("f{i}"), &len_field(3, &packed_ints(&[i]))));
        }
        for i in (0..100).step_by(7) {
            entries.push(entry(&format!("f{i}"), &len_field(3, &packed_ints(&[-i]))));
        }
        let payload = example(&entries);
        let view = ExampleView::parse(&payload).unwrap();
        assert_eq!(view.len(), 100);
        for i in 0..100 {
            let want = if i % 7 == 0 { -i } else { i };
            assert_eq!(ints(view.get(&format!("f{i}")).unwrap()), [want], "f{i}");
        }
        assert!(view.get("f100").is_none() && view.get("").is_none());
        let names: Vec<&str> = view.iter().map(|(n, _)| n).collect();
        assert_eq!(names[0], "f1");
        assert_eq!(names[85], "f0");
    }

    #[test]
    fn sequence_example_lists_merge() {
        let step = |v: i64| len_field(1, &len_field(3, &packed_ints(&[v])));
        let list_entry = |name: &str, lists: &[Vec<u8>]| {
            let mut body = len_field(1, name.as_bytes());
            for l in lists {
                body.extend(len_field(2, l));
            }
            len_field(1, &body)
        };
        let payload = [
            len_field(1, &entry("c", &len_field(1, &len_field(1, b"ctx")))),
            len_field(2, &list_entry("s", &[[step(1), step(2)].concat(), step(3)])),
            len_field(
                2,
                &[list_entry("t", &[step(9)]), list_entry("u", &[])].concat(),
            ),
            len_field(
                2,
                &list_entry("t", &[[step(10), len_field(1, &[])].concat()]),
            ),
        ]
        .concat();
        let view = SequenceExampleView::parse(&payload).unwrap();
        assert!(view.has_context() && view.has_feature_lists());
        assert_eq!(view.context().len(), 1);
        let lists = view.feature_lists();
        let names: Vec<&str> = lists.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["s", "u", "t"]);
        let s = lists.get("s").unwrap();
        assert_eq!(s.len(), 3);
        let steps: Vec<Vec<i64>> = s.iter().map(ints).collect();
        assert_eq!(steps, [[1], [2], [3]]);
        assert_eq!(ints(s.get(2).unwrap()), [3]);
        assert!(s.get(3).is_none());
        let t = lists.get("t").unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t.get(1).unwrap().kind(), FeatureKind::None);
        assert!(lists.get("u").unwrap().is_empty());
        let owned = view.to_owned();
        assert_eq!(owned.feature_lists.as_ref().unwrap().feature_list.len(), 3);
        assert_eq!(
            SequenceExampleView::parse(&encode(&owned))
                .unwrap()
                .to_owned(),
            owned
        );
        // An error inside a step names the list and the step.
        let bad = len_field(
            2,
            &list_entry(
                "bad",
                &[[step(1), len_field(1, &varint_field(2, 0))].concat()],
            ),
        );
        let got = reason(SequenceExampleView::parse(&bad).unwrap_err());
        assert!(got.contains("feature list \"bad\": step 1"), "{got}");
    }

    #[test]
    fn tensors_in_bytes_features() {
        let a = crate::Tensor::from_slice(&[1.5f32, 2.5], &[2]).unwrap();
        let b = crate::Tensor::from_strings(&["x"], &[1]).unwrap();
        let payload =
            encode(&Example::default().bytes("t", [a.to_proto_bytes(), b.to_proto_bytes()]));
        let view = ExampleView::parse(&payload).unwrap();
        let t = view.get("t").unwrap();
        assert_eq!(t.tensor(1).unwrap(), *b);
        let all = t.decode_tensors().unwrap();
        assert_eq!(all, [a.view(), b.view()]);
        assert!(all[0].is_borrowed());
        assert!(reason(t.tensor(2).unwrap_err()).contains("no value 2"));
        let junk = encode(&Example::default().bytes("t", ["junk"]));
        let view = ExampleView::parse(&junk).unwrap();
        assert!(view.get("t").unwrap().tensor(0).is_err());
    }
}
