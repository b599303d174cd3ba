//! [`SequenceExampleView`] and its feature lists: per-step features
//! borrowed from the payload, each step's `Feature` found when iterated.
//!
//! Knows the index that parsing builds and, to walk the steps, where a
//! `FeatureList` keeps them; knows nothing of files, threads or TFRecord
//! framing.

use std::fmt;
use std::iter::FusedIterator;

use super::example::FeaturesView;
use super::feature::FeatureView;
use super::index::{dedupe, find, parse_sequence_example, str_at, ListEntry, FEATURE_LIST_FEATURE};
use super::values::next_entry_value;
use crate::error::Result;
use crate::example::wire::{Fields, Value};
use crate::proto::messages::{FeatureList, FeatureLists, SequenceExample};

/// A serialized `tf.train.SequenceExample`, parsed in place: `context`
/// features of the whole sequence and `feature_lists`, one feature per
/// step. The rules are those of
/// [`ExampleView`](crate::example::ExampleView); feature lists occurring
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
        let index = parse_sequence_example(payload, strict)?;
        Ok(SequenceExampleView {
            context: FeaturesView::new(payload, index.context),
            feature_lists: FeatureListsView::new(payload, index.lists),
            has_context: index.has_context,
            has_feature_lists: index.has_feature_lists,
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
            let list = next_entry_value(&mut self.entry)?;
            self.list = Fields::new(list);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for FeatureListIter<'_> {}
impl FusedIterator for FeatureListIter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example::feature_kind::FeatureKind;
    use crate::example::owned::encode;
    use crate::example::testing::{entry, ints, len_field, packed_ints, reason, varint_field};

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
}
