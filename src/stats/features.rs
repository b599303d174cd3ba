//! What [`Stats`](super::Stats) learns of records that are not tensors:
//! how many records of each kind, and per feature name of `Example`s and
//! `SequenceExample`s, its kind, how many records carry it and how many
//! values (or steps) it has in each. Knows nothing of files, threads,
//! tensors or output formats.

use std::collections::BTreeMap;

use crate::example::{FeatureKind, FeatureListsView, FeaturesView, RecordKind};

/// Records of each [`RecordKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KindCounts {
    /// Tensors (tallied by dtype and shape in [`Stats`](super::Stats)).
    pub tensor: u64,
    /// `tf.train.Example`s.
    pub example: u64,
    /// `tf.train.SequenceExample`s with feature lists.
    pub sequence_example: u64,
    /// Anything else, invalid tensors and malformed examples included.
    pub raw: u64,
}

impl KindCounts {
    /// Records of `kind`.
    pub fn get(&self, kind: RecordKind) -> u64 {
        match kind {
            RecordKind::Tensor => self.tensor,
            RecordKind::Example => self.example,
            RecordKind::SequenceExample => self.sequence_example,
            RecordKind::Raw => self.raw,
        }
    }

    /// True when every record counted was a tensor (or there were none).
    pub fn only_tensors(&self) -> bool {
        self.example == 0 && self.sequence_example == 0 && self.raw == 0
    }

    pub(crate) fn add(&mut self, kind: RecordKind) {
        match kind {
            RecordKind::Tensor => self.tensor += 1,
            RecordKind::Example => self.example += 1,
            RecordKind::SequenceExample => self.sequence_example += 1,
            RecordKind::Raw => self.raw += 1,
        }
    }

    pub(crate) fn merge(&mut self, other: &KindCounts) {
        self.tensor += other.tensor;
        self.example += other.example;
        self.sequence_example += other.sequence_example;
        self.raw += other.raw;
    }

    pub(super) fn iter(&self) -> [(RecordKind, u64); 4] {
        [
            (RecordKind::Tensor, self.tensor),
            (RecordKind::Example, self.example),
            (RecordKind::SequenceExample, self.sequence_example),
            (RecordKind::Raw, self.raw),
        ]
    }
}

/// How often each [`FeatureKind`] was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FeatureKinds {
    /// `bytes_list`.
    pub bytes_list: u64,
    /// `float_list`.
    pub float_list: u64,
    /// `int64_list`.
    pub int64_list: u64,
    /// No kind set.
    pub none: u64,
}

impl FeatureKinds {
    /// How often `kind` was seen.
    pub fn get(&self, kind: FeatureKind) -> u64 {
        match kind {
            FeatureKind::Bytes => self.bytes_list,
            FeatureKind::Float => self.float_list,
            FeatureKind::Int64 => self.int64_list,
            FeatureKind::None => self.none,
        }
    }

    /// The kinds seen, with their counts, in the order of their names
    /// (`bytes_list`, `float_list`, `int64_list`, `none`).
    pub fn iter(&self) -> impl Iterator<Item = (FeatureKind, u64)> + '_ {
        [
            FeatureKind::Bytes,
            FeatureKind::Float,
            FeatureKind::Int64,
            FeatureKind::None,
        ]
        .into_iter()
        .map(|k| (k, self.get(k)))
        .filter(|&(_, n)| n > 0)
    }

    /// The kind seen most often; among equals, the first in name order
    /// (so a real kind before `none`). `None` when nothing was seen.
    pub fn most_common(&self) -> Option<FeatureKind> {
        self.iter()
            .fold(
                None,
                |best: Option<(FeatureKind, u64)>, (k, n)| match best {
                    Some((_, m)) if m >= n => best,
                    _ => Some((k, n)),
                },
            )
            .map(|(k, _)| k)
    }

    fn add(&mut self, kind: FeatureKind) {
        match kind {
            FeatureKind::Bytes => self.bytes_list += 1,
            FeatureKind::Float => self.float_list += 1,
            FeatureKind::Int64 => self.int64_list += 1,
            FeatureKind::None => self.none += 1,
        }
    }

    fn merge(&mut self, other: &FeatureKinds) {
        self.bytes_list += other.bytes_list;
        self.float_list += other.float_list;
        self.int64_list += other.int64_list;
        self.none += other.none;
    }
}

/// One feature name of `Example`s (or of `SequenceExample` contexts).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeatureStats {
    /// Records that carry the feature.
    pub records: u64,
    /// Records per kind the feature had in them.
    pub kinds: FeatureKinds,
    /// Number of values → records in which the feature had that many.
    pub value_counts: BTreeMap<u64, u64>,
}

impl FeatureStats {
    /// The kind the feature had in most records.
    pub fn kind(&self) -> FeatureKind {
        self.kinds.most_common().unwrap_or(FeatureKind::None)
    }

    fn merge(&mut self, other: &FeatureStats) {
        self.records += other.records;
        self.kinds.merge(&other.kinds);
        merge_histogram(&mut self.value_counts, &other.value_counts);
    }
}

/// One feature list name of `SequenceExample`s.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeatureListStats {
    /// Records that carry the list.
    pub records: u64,
    /// Steps (the list's features) per kind, over all records.
    pub kinds: FeatureKinds,
    /// Number of steps → records in which the list had that many.
    pub lengths: BTreeMap<u64, u64>,
}

impl FeatureListStats {
    /// The kind most steps had; `None` when the list never had a step.
    pub fn kind(&self) -> Option<FeatureKind> {
        self.kinds.most_common()
    }

    fn merge(&mut self, other: &FeatureListStats) {
        self.records += other.records;
        self.kinds.merge(&other.kinds);
        merge_histogram(&mut self.lengths, &other.lengths);
    }
}

fn merge_histogram(into: &mut BTreeMap<u64, u64>, from: &BTreeMap<u64, u64>) {
    for (k, n) in from {
        *into.entry(*k).or_default() += n;
    }
}

/// Applies `f` to the entry for `name`, allocating the key only the first
/// time the name is seen.
fn update<V: Default>(map: &mut BTreeMap<String, V>, name: &str, f: impl FnOnce(&mut V)) {
    match map.get_mut(name) {
        Some(v) => f(v),
        None => {
            let mut v = V::default();
            f(&mut v);
            map.insert(name.to_owned(), v);
        }
    }
}

/// Tallies the features of one record.
pub(crate) fn add_features(map: &mut BTreeMap<String, FeatureStats>, features: &FeaturesView<'_>) {
    for (name, feature) in features {
        update(map, name, |s: &mut FeatureStats| {
            s.records += 1;
            s.kinds.add(feature.kind());
            *s.value_counts.entry(feature.len() as u64).or_default() += 1;
        });
    }
}

/// Tallies the feature lists of one record.
pub(crate) fn add_feature_lists(
    map: &mut BTreeMap<String, FeatureListStats>,
    lists: &FeatureListsView<'_>,
) {
    for (name, list) in lists {
        update(map, name, |s: &mut FeatureListStats| {
            s.records += 1;
            *s.lengths.entry(list.len() as u64).or_default() += 1;
            for step in list.iter() {
                s.kinds.add(step.kind());
            }
        });
    }
}

pub(crate) fn merge_features(
    into: &mut BTreeMap<String, FeatureStats>,
    from: &BTreeMap<String, FeatureStats>,
) {
    for (name, s) in from {
        update(into, name, |v| v.merge(s));
    }
}

pub(crate) fn merge_feature_lists(
    into: &mut BTreeMap<String, FeatureListStats>,
    from: &BTreeMap<String, FeatureListStats>,
) {
    for (name, s) in from {
        update(into, name, |v| v.merge(s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_common_prefers_counts_then_name_order() {
        let mut k = FeatureKinds::default();
        assert_eq!(k.most_common(), None);
        k.none = 3;
        k.int64_list = 3;
        assert_eq!(k.most_common(), Some(FeatureKind::Int64));
        k.bytes_list = 3;
        assert_eq!(k.most_common(), Some(FeatureKind::Bytes));
        k.none = 4;
        assert_eq!(k.most_common(), Some(FeatureKind::None));
        let seen: Vec<FeatureKind> = k.iter().map(|(k, _)| k).collect();
        assert_eq!(
            seen,
            [FeatureKind::Bytes, FeatureKind::Int64, FeatureKind::None]
        );
    }
}
