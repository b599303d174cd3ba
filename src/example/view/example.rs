//! [`ExampleView`] and [`FeaturesView`]: an `Example`'s features, borrowed
//! from the payload, looked up by name or iterated in wire order.
//!
//! Knows the index that parsing builds, not the wire format; knows nothing
//! of files, threads or TFRecord framing.

use std::fmt;
use std::iter::FusedIterator;

use super::feature::FeatureView;
use super::index::{dedupe, find, parse_example, str_at, Entry};
use crate::error::Result;
use crate::proto::messages::{Example, Features};

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
        let (entries, has_features) = parse_example(payload, strict)?;
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
    pub(super) fn new(payload: &'a [u8], mut entries: Vec<Entry>) -> Self {
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
            FeatureView::from_entry(
                entry.body.get(self.payload),
                entry.kind,
                entry.run_start as usize,
                entry.len as usize,
            ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example::feature_kind::FeatureKind;
    use crate::example::testing::*;
    use crate::proto::messages::Feature;

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
}
