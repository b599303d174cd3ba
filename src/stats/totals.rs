//! [`Stats`], the totals over records: adding one record, merging tallies
//! and other totals. Knows nothing of files, threads or output formats.

use std::collections::BTreeMap;

use crate::dtype::DType;
use crate::error::Result;
use crate::example::RecordKind;
use crate::tensor::TensorView;

use super::features::{self, FeatureListStats, FeatureStats, KindCounts};
use super::sizes::{self, SizeStats};
use super::summary::{DTypeStats, Summary};
use super::tally::Tally;

/// Statistics over the records of one or more files.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    /// Records read.
    pub records: u64,
    /// Bytes of their frames (decompressed, for compressed files).
    pub bytes: u64,
    /// Per dtype.
    pub dtypes: BTreeMap<DType, DTypeStats>,
    /// How many tensors had each shape (`[]` for scalars).
    pub shapes: BTreeMap<Vec<usize>, u64>,
    /// Records of each kind.
    pub kinds: KindCounts,
    /// Per feature name of `Example`s and of `SequenceExample` contexts.
    pub features: BTreeMap<String, FeatureStats>,
    /// Per feature list name of `SequenceExample`s.
    pub feature_lists: BTreeMap<String, FeatureListStats>,
    /// The sizes of the records' payloads.
    pub sizes: SizeStats,
}

impl Stats {
    /// No records yet.
    pub fn new() -> Stats {
        Stats::default()
    }

    /// Adds one decoded record whose frame is `frame_bytes` long.
    pub fn add(&mut self, tensor: &TensorView<'_>, frame_bytes: u64) -> Result<()> {
        let mut tally = Tally::default();
        tally.add(tensor, frame_bytes);
        self.absorb(tally)
    }

    /// Adds one record of any kind, whose frame is `frame_bytes` long, and
    /// returns the kind it was counted as ([`RecordKind::detect`]).
    ///
    /// ```
    /// use tfrec::example::{self, Example, RecordKind};
    /// use tfrec::stats::Stats;
    ///
    /// let mut s = Stats::new();
    /// let ex = example::encode(&Example::default().int64("label", [1]).float("x", [0.5, 2.0]));
    /// assert_eq!(s.add_record(&ex, ex.len() as u64 + 16)?, RecordKind::Example);
    /// assert_eq!(s.add_record(b"\x89PNG", 20)?, RecordKind::Raw);
    /// assert_eq!((s.kinds.example, s.kinds.raw), (1, 1));
    /// assert_eq!(s.features["x"].value_counts[&2], 1);
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn add_record(&mut self, payload: &[u8], frame_bytes: u64) -> Result<RecordKind> {
        let mut tally = Tally::default();
        let kind = tally.add_payload(payload, frame_bytes);
        self.absorb(tally)?;
        Ok(kind)
    }

    /// What the records hold all together, by the rule of
    /// [`KindVote::decide`](crate::example::KindVote::decide) (empty
    /// payloads ignored; `raw` when no kind dominates).
    pub fn kind(&self) -> RecordKind {
        sizes::decide(&self.kinds, &self.sizes)
    }

    /// Adds another tally (of records that come after this one's).
    pub fn merge(&mut self, other: &Stats) -> Result<()> {
        self.records += other.records;
        self.bytes += other.bytes;
        for (dtype, s) in &other.dtypes {
            let entry = self.dtypes.entry(*dtype).or_insert_with(|| DTypeStats {
                tensors: 0,
                elements: 0,
                summary: Summary::empty(*dtype),
            });
            entry.tensors += s.tensors;
            entry.elements += s.elements;
            entry.summary.merge(&s.summary)?;
        }
        for (shape, n) in &other.shapes {
            *self.shapes.entry(shape.clone()).or_default() += n;
        }
        self.kinds.merge(&other.kinds);
        self.sizes.merge(&other.sizes);
        features::merge_features(&mut self.features, &other.features);
        features::merge_feature_lists(&mut self.feature_lists, &other.feature_lists);
        Ok(())
    }

    pub(super) fn absorb(&mut self, tally: Tally) -> Result<()> {
        self.records += tally.records;
        self.bytes += tally.bytes;
        for (dtype, s) in tally.dtypes {
            let entry = self.dtypes.entry(dtype).or_insert_with(|| DTypeStats {
                tensors: 0,
                elements: 0,
                summary: Summary::empty(dtype),
            });
            entry.tensors += s.tensors;
            entry.elements += s.elements;
            entry.summary.merge(&s.summary)?;
        }
        for (shape, n) in tally.shapes {
            *self.shapes.entry(shape.to_vec()).or_default() += n;
        }
        self.kinds.merge(&tally.kinds);
        self.sizes.merge(&tally.sizes);
        if self.features.is_empty() {
            self.features = tally.features;
        } else {
            features::merge_features(&mut self.features, &tally.features);
        }
        if self.feature_lists.is_empty() {
            self.feature_lists = tally.feature_lists;
        } else {
            features::merge_feature_lists(&mut self.feature_lists, &tally.feature_lists);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example::FeatureKind;
    use crate::tensor::Tensor;

    #[test]
    fn records_that_are_not_tensors_are_counted_by_kind() {
        use crate::example::{encode, Example, Feature, SequenceExample};
        let payloads = [
            Tensor::scalar(1u8).to_proto_bytes(),
            Tensor::from_strings(&["a"], &[1]).unwrap().to_proto_bytes(),
            encode(&Example::default().int64("a", [1, 2]).bytes("b", ["x"])),
            encode(&Example::default().float("a", [])),
            encode(
                &SequenceExample::default()
                    .context_feature("b", Feature::default())
                    .feature_list("s", [Feature::float_list([1.0]), Feature::default()])
                    .feature_list("e", []),
            ),
            b"\x08\x63".to_vec(), // dtype 99: not a valid tensor
            Vec::new(),
        ];
        let mut one = Stats::new();
        let mut tally = Tally::default();
        for p in &payloads {
            let kind = one.add_record(p, p.len() as u64).unwrap();
            assert_eq!(kind, RecordKind::detect(p), "{p:02x?}");
            tally.add_payload(p, p.len() as u64);
        }
        let mut all = Stats::new();
        all.absorb(tally).unwrap();
        assert_eq!(all, one);
        assert_eq!(
            one.kinds,
            KindCounts {
                tensor: 2,
                example: 2,
                sequence_example: 1,
                raw: 2
            }
        );
        assert_eq!(one.records, 7);
        let a = &one.features["a"];
        assert_eq!((a.records, a.kind()), (2, FeatureKind::Float));
        assert_eq!((a.kinds.int64_list, a.kinds.float_list), (1, 1));
        assert_eq!(a.value_counts, BTreeMap::from([(0, 1), (2, 1)]));
        let b = &one.features["b"];
        assert_eq!((b.records, b.kind()), (2, FeatureKind::Bytes));
        let s = &one.feature_lists["s"];
        assert_eq!((s.records, s.kind()), (1, Some(FeatureKind::Float)));
        assert_eq!((s.kinds.float_list, s.kinds.none), (1, 1));
        assert_eq!(s.lengths, BTreeMap::from([(2, 1)]));
        assert_eq!(one.feature_lists["e"].kind(), None);

        // Merging halves gives the whole.
        let mut first = Stats::new();
        let mut second = Stats::new();
        for (i, p) in payloads.iter().enumerate() {
            let half = if i < 3 { &mut first } else { &mut second };
            half.add_record(p, p.len() as u64).unwrap();
        }
        first.merge(&second).unwrap();
        assert_eq!(first, one);
        let json = one.to_json();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["feature_lists"]["e"]["kind"], serde_json::Value::Null);
        assert_eq!(value["feature_lists"]["s"]["kinds"]["none"], 1);
        assert!(one.to_text().contains("sequence_example  1"));
    }
}
