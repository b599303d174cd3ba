//! Parsing `Example`s into tensors by a spec, as `tf.io.parse_example`
//! does; see [`ParseSpec`].
//!
//! This file holds the spec itself (building and checking it, and the
//! public parse calls). The parts below it: `default` (defaults of fixed
//! features), `entry` (one checked feature of a spec), `scan` (the fast
//! pass over canonical payloads), `batch` (the three-pass batch parser)
//! and `parsed` (what parsing gives).
//!
//! Knows nothing of files, readers, datasets or TFRecord framing: records
//! come in as byte slices.

use std::sync::Arc;

use crate::dtype::DType;
use crate::error::{Error, ErrorKind, Result};

mod batch;
mod default;
mod entry;
mod parsed;
mod scan;

pub(crate) use batch::Failure;
pub use default::DefaultValue;
pub use parsed::{Column, Parsed, ParsedBatch, SparseTensor, Strings};

use entry::{make_entry, Entry, EntryKind};

/// Batches of at least this many records are parsed on several threads.
const PARALLEL_MIN: usize = 32;

/// Which features to take from each `Example`, and how: the spec of
/// `tf.io.parse_example`.
///
/// A spec names the features to take from each `Example` and what
/// they must hold:
///
/// - **fixed** features ([`ParseSpec::fixed`], TensorFlow's
///   `tf.io.FixedLenFeature`): a dtype, a shape, and an optional default;
///   every record gives exactly one value of that shape, and a batch stacks
///   them into one tensor `[n, ...shape]`;
/// - **variable-length** features ([`ParseSpec::var_len`],
///   `tf.io.VarLenFeature`): any number of values per record, batched as the
///   values of all records one after another plus row splits (what
///   `tf.io.RaggedFeature` gives), convertible to TensorFlow's `SparseTensor`
///   triple or to a padded dense tensor;
/// - **tensor** features ([`ParseSpec::tensor`]): a `bytes_list` holding one
///   serialized `TensorProto` per record (what `tf.io.serialize_tensor`
///   writes, a common way to store arrays in an `Example`), decoded by the
///   crate's tensor decoder and stacked.
///
/// [`ParseSpec::parse`] parses one record, like `tf.io.parse_single_example`;
/// [`ParseSpec::parse_batch`] parses many into one [`ParsedBatch`], like
/// `tf.io.parse_example`, writing every value straight into the batch's
/// buffers (values of fixed features into their slot of one stacked buffer,
/// strings into one contiguous byte buffer with offsets) and spreading the
/// records over rayon's threads when there are many.
/// [`Dataset::example_batches`](crate::pipeline::Dataset::example_batches)
/// does the same for the batches of a dataset.
///
/// ```
/// use tfrec::example::{self, DefaultValue, Example, ParseSpec};
/// use tfrec::DType;
///
/// let spec = ParseSpec::new()
///     .fixed("label", DType::I64, &[], None)
///     .fixed("x", DType::F32, &[2], Some(DefaultValue::from([0.0f32, 0.0])))
///     .var_len("tokens", DType::I64);
/// let records = [
///     example::encode(&Example::default().int64("label", [1]).float("x", [0.5, 1.5]).int64("tokens", [7, 8, 9])),
///     example::encode(&Example::default().int64("label", [0])), // x takes its default, no tokens
/// ];
/// let payloads: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
/// let batch = spec.parse_batch(&payloads)?;
///
/// let x = batch.get("x").unwrap();
/// assert_eq!(x.shape(), [2, 2]);
/// assert_eq!(&*x.values::<f32>().unwrap(), [0.5, 1.5, 0.0, 0.0]);
/// let tokens = batch.get("tokens").unwrap();
/// assert_eq!(&*tokens.values::<i64>().unwrap(), [7, 8, 9]);
/// assert_eq!(tokens.row_splits().unwrap(), [0, 3, 3]);
/// let sparse = tokens.to_sparse().unwrap();    // as tf.io.VarLenFeature gives it
/// assert_eq!(sparse.indices, [0, 0, 0, 1, 0, 2]);
/// assert_eq!(sparse.dense_shape, [2, 3]);
/// # Ok::<(), tfrec::Error>(())
/// ```
///
/// # Rules
///
/// These are TensorFlow's (checked against `tf.io.parse_example` and
/// `tf.io.parse_single_example` in the test suite):
///
/// - dtypes of fixed and variable-length features are [`DType::F32`]
///   (`float_list`), [`DType::I64`] (`int64_list`) and [`DType::String`]
///   (`bytes_list`); a feature holding another kind of list is an error,
///   even an empty list, and even when a default is given;
/// - a feature that is absent, or present with no kind set
///   (`tf.train.Feature()`), is *missing*: a fixed feature then takes its
///   default, or is an error without one; a variable-length feature has no
///   values;
/// - a fixed feature that is present must hold exactly as many values as its
///   shape has elements — an empty list counts as present, so it is an
///   error (the default is not used) unless the shape has no elements;
/// - a default must hold exactly as many values as the shape has elements,
///   in any layout (TensorFlow reshapes it); a single value is not broadcast
///   to a larger shape. Integer defaults of float features are converted;
/// - when the same feature name occurs twice in one `Example`, the last
///   occurrence wins (protobuf map merging; see
///   [`ExampleView`](crate::example::ExampleView)).
///
/// Errors are [`ErrorKind::InvalidExample`](crate::ErrorKind::InvalidExample)
/// naming the feature and what it holds; a spec that cannot be right (a
/// duplicate name, a default of the wrong size or dtype, no features at
/// all) is [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput),
/// reported by [`ParseSpec::check`] and by every parse.
///
/// # Building
///
/// Built by chaining [`fixed`](ParseSpec::fixed),
/// [`var_len`](ParseSpec::var_len) and [`tensor`](ParseSpec::tensor). A
/// mistake in the spec (a duplicate name, a default that does not fit) is
/// kept and reported by [`check`](ParseSpec::check) and by every parse, so
/// that the chain stays free of `?`. Cheap to clone.
///
/// ```
/// use tfrec::example::{self, Example, ParseSpec};
/// use tfrec::{DType, Tensor};
///
/// let emb = Tensor::from_slice(&[1.0f32, 2.0, 3.0, 4.0], &[2, 2])?;
/// let payload = example::encode(
///     &Example::default()
///         .bytes("img", [b"\x89PNG...".as_slice()])
///         .bytes("emb", [emb.to_proto_bytes()]),
/// );
/// let spec = ParseSpec::new()
///     .fixed("img", DType::String, &[], None)
///     .tensor("emb", DType::F32, &[2, 2]);
/// let parsed = spec.parse(&payload)?;                  // like tf.io.parse_single_example
/// assert_eq!(parsed.get("emb").unwrap(), *emb);
/// let img = parsed.get("img").unwrap();
/// assert_eq!(img.strings().unwrap().next(), Some(b"\x89PNG...".as_slice()));
/// # Ok::<(), tfrec::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct ParseSpec {
    entries: Arc<Vec<Entry>>,
    problem: Option<String>,
}

impl ParseSpec {
    /// A spec with no features yet.
    pub fn new() -> Self {
        ParseSpec::default()
    }

    /// A fixed-length feature (`tf.io.FixedLenFeature(shape, dtype,
    /// default_value)`): each record holds exactly as many values as
    /// `shape` has elements (one for `&[]`, a scalar), of `dtype` —
    /// [`DType::F32`], [`DType::I64`] or [`DType::String`]. A record
    /// missing the feature takes `default`, or is an error without one.
    /// Batched as one tensor `[n, ...shape]`.
    pub fn fixed(
        self,
        name: impl Into<String>,
        dtype: DType,
        shape: &[usize],
        default: Option<DefaultValue>,
    ) -> Self {
        self.push(name.into(), dtype, EntryKind::Fixed, shape, default)
    }

    /// A variable-length feature (`tf.io.VarLenFeature(dtype)`): any number
    /// of values of `dtype` per record ([`DType::F32`], [`DType::I64`] or
    /// [`DType::String`]); a missing feature has none. Batched as the
    /// values of every record in order plus row splits; see [`Column`].
    pub fn var_len(self, name: impl Into<String>, dtype: DType) -> Self {
        self.push(name.into(), dtype, EntryKind::VarLen, &[], None)
    }

    /// A tensor feature: a `bytes_list` holding exactly one serialized
    /// `TensorProto` per record (as `tf.io.serialize_tensor` writes it,
    /// read in TensorFlow with `tf.io.parse_tensor`), which must decode to a
    /// tensor of `dtype` (any dtype the crate supports) and exactly `shape`.
    /// Decoded with [`FeatureView::tensor`](super::FeatureView::tensor) (borrowing `tensor_content`
    /// from the record) and stacked into `[n, ...shape]`. There is no
    /// default: a record missing the feature is an error.
    pub fn tensor(self, name: impl Into<String>, dtype: DType, shape: &[usize]) -> Self {
        self.push(name.into(), dtype, EntryKind::Tensor, shape, None)
    }

    fn push(
        mut self,
        name: String,
        dtype: DType,
        kind: EntryKind,
        shape: &[usize],
        default: Option<DefaultValue>,
    ) -> Self {
        match make_entry(&self.entries, name, dtype, kind, shape, default) {
            Ok(entry) => Arc::make_mut(&mut self.entries).push(entry),
            Err(problem) => {
                self.problem.get_or_insert(problem);
            }
        }
        self
    }

    /// Fails with the first mistake made building the spec, or when it
    /// has no features (TensorFlow refuses an empty spec too).
    ///
    /// ```
    /// use tfrec::example::ParseSpec;
    /// use tfrec::DType;
    /// let spec = ParseSpec::new().fixed("x", DType::F32, &[3], Some(vec![0.0f32; 2].into()));
    /// let err = spec.check().unwrap_err();
    /// assert!(err.to_string().contains("default of feature \"x\" has 2 values, shape [3] needs 3"));
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn check(&self) -> Result<()> {
        if let Some(problem) = &self.problem {
            return Err(Error::invalid_input(format!("parse spec: {problem}")));
        }
        if self.entries.is_empty() {
            return Err(Error::invalid_input("parse spec: no features"));
        }
        Ok(())
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the spec has no features.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The feature names, in the order they were added.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.entries.iter().map(|e| e.name.as_str())
    }

    /// Parses one serialized `Example`, as `tf.io.parse_single_example`
    /// does: fixed and tensor features without a batch dimension,
    /// variable-length features as a 1-D list of their values.
    pub fn parse(&self, payload: &[u8]) -> Result<Parsed> {
        self.check()?;
        let mut batch = ParsedBatch::new();
        self.fill(1, |_| Ok(payload), &mut batch, false)
            .map_err(|(_, e)| e)?;
        Ok(Parsed::from_batch(batch))
    }

    /// Parses serialized `Example`s into one batch, as `tf.io.parse_example`
    /// does. An error names the first bad record's position in `payloads`.
    pub fn parse_batch(&self, payloads: &[&[u8]]) -> Result<ParsedBatch> {
        let mut out = ParsedBatch::new();
        self.parse_batch_into(payloads, &mut out)?;
        Ok(out)
    }

    /// Like [`parse_batch`](ParseSpec::parse_batch), reusing the buffers of
    /// `out` (a batch of the same spec and size allocates nothing new).
    ///
    /// ```
    /// use tfrec::example::{self, Example, ParseSpec, ParsedBatch};
    /// use tfrec::DType;
    /// let spec = ParseSpec::new().fixed("label", DType::I64, &[], None);
    /// let mut batch = ParsedBatch::new();
    /// for label in 0..3i64 {
    ///     let payload = example::encode(&Example::default().int64("label", [label]));
    ///     spec.parse_batch_into(&[payload.as_slice()], &mut batch)?;
    ///     assert_eq!(&*batch.get("label").unwrap().values::<i64>().unwrap(), [label]);
    /// }
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn parse_batch_into(&self, payloads: &[&[u8]], out: &mut ParsedBatch) -> Result<()> {
        self.check()?;
        let n = payloads.len();
        let fetch = |i: usize| {
            payloads
                .get(i)
                .copied()
                .ok_or_else(|| Error::invalid_input("record position out of range"))
        };
        self.fill(n, fetch, out, n >= PARALLEL_MIN)
            .map_err(|(i, e)| match (i, e.kind()) {
                (Some(i), ErrorKind::InvalidExample { reason }) => {
                    Error::invalid_example(format!("example {i} of {n}: {reason}"))
                }
                (_, _) => e,
            })
    }

    /// Parses records `0..n`, whose payloads `fetch` gives, into `out`
    /// (see `batch::fill`, which says what a failure holds). The spec must
    /// have passed [`check`](ParseSpec::check).
    pub(crate) fn fill<'a>(
        &self,
        n: usize,
        fetch: impl Fn(usize) -> Result<&'a [u8]> + Sync,
        out: &mut ParsedBatch,
        parallel: bool,
    ) -> Result<(), Failure> {
        batch::fill(&self.entries, n, fetch, out, parallel)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::example::feature_kind::FeatureKind;
    use crate::example::owned::encode;
    use crate::example::testing::{entry, len_field};
    use crate::example::view::ExampleView;
    use crate::proto::messages::{Example, Feature};
    use scan::{scan, Feat};

    fn spec() -> ParseSpec {
        ParseSpec::new()
            .fixed("label", DType::I64, &[], None)
            .fixed("x", DType::F32, &[3], Some(vec![0.0f32; 3].into()))
            .var_len("ids", DType::String)
    }

    fn example() -> Example {
        Example::default()
            .int64("label", [300])
            .float("x", [0.5, -1.0, 2.0])
            .bytes("ids", ["a", "bcd"])
            .bytes("other", ["zzz"])
    }

    /// Per spec entry, the kind, length and strings of what was found.
    type Seen = Vec<Option<(FeatureKind, usize, Vec<Vec<u8>>)>>;

    /// What the scan finds.
    fn scanned(payload: &[u8]) -> Option<Seen> {
        let spec = spec();
        let mut found = vec![None; spec.len()];
        scan(payload, &spec.entries, &mut found).then(|| {
            found
                .iter()
                .map(|f| f.map(|f| (f.kind(), f.len(), f.strings().map(<[u8]>::to_vec).collect())))
                .collect()
        })
    }

    fn viewed(payload: &[u8]) -> Seen {
        let view = ExampleView::parse(payload).unwrap();
        spec()
            .names()
            .map(|name| {
                view.get(name).map(|f| {
                    let f = Feat::Viewed(f);
                    (f.kind(), f.len(), f.strings().map(<[u8]>::to_vec).collect())
                })
            })
            .collect()
    }

    #[test]
    fn the_scan_takes_canonical_layouts_and_agrees_with_the_view() {
        use prost::Message;
        for ex in [
            example(),
            Example::default(),
            Example {
                features: Some(Default::default()),
            },
            Example::default()
                .with_feature("x", Feature::default())
                .float("ids", []),
        ] {
            for payload in [encode(&ex), ex.encode_to_vec()] {
                assert_eq!(scanned(&payload), Some(viewed(&payload)), "{ex:?}");
            }
        }
        assert_eq!(scanned(&[]), Some(vec![None, None, None]));
    }

    #[test]
    fn the_scan_leaves_other_layouts_to_the_view() {
        let canonical = encode(&example());
        let unpacked_float = [0x0d, 0, 0, 0x80, 0x3f]; // float_list { value: 1.0 } unpacked
        let others: Vec<Vec<u8>> = vec![
            [canonical.clone(), vec![0x10, 0x01]].concat(), // unknown Example field
            [canonical.clone(), canonical.clone()].concat(), // features twice
            len_field(1, &[entry(b"x", &[]), entry(b"x", &[])].concat()), // a spec name twice
            len_field(1, &entry(b"x", &len_field(2, &unpacked_float))),
            len_field(
                1,
                &len_field(1, &[len_field(2, &[]), len_field(1, b"x")].concat()),
            ), // value first
            len_field(
                1,
                &entry(b"x", &[len_field(2, &[]), len_field(2, &[])].concat()),
            ), // two lists
            len_field(1, &entry(b"\xff", &[])), // a name that is not UTF-8
            len_field(1, &entry(b"x", &len_field(3, &[0x08, 0x01]))), // unpacked int64
        ];
        for payload in &others {
            assert_eq!(scanned(payload), None, "{payload:02x?}");
        }
        // Where the view accepts them, parsing goes through it.
        let got = spec().parse(&others[1]).unwrap();
        let want = spec().parse(&canonical).unwrap();
        assert_eq!(got.get("x"), want.get("x"));
        let got = ParseSpec::new()
            .var_len("x", DType::F32)
            .parse(&others[3])
            .unwrap();
        assert_eq!(got.get("x").unwrap().to_vec::<f32>().unwrap(), [1.0]);
        assert!(spec().parse(&others[6]).is_err());
    }

    #[test]
    fn every_kind_of_entry_in_one_batch() {
        let t = crate::tensor::Tensor::from_strings(&["p", "q"], &[2]).unwrap();
        let spec = spec().tensor("t", DType::String, &[2]);
        let payloads: Vec<Vec<u8>> = (0..100i64)
            .map(|i| {
                let mut ex = Example::default()
                    .int64("label", [i])
                    .bytes("ids", vec![b"v".to_vec(); (i % 3) as usize])
                    .bytes("t", [t.to_proto_bytes()]);
                if i % 2 == 0 {
                    ex = ex.float("x", [i as f32; 3]);
                }
                encode(&ex)
            })
            .collect();
        let refs: Vec<&[u8]> = payloads.iter().map(Vec::as_slice).collect();
        let batch = spec.parse_batch(&refs).unwrap();
        let labels = batch.get("label").unwrap();
        assert_eq!(
            labels.values::<i64>().unwrap()[..],
            (0..100).collect::<Vec<_>>()[..]
        );
        let x = batch
            .get("x")
            .unwrap()
            .values::<f32>()
            .unwrap()
            .into_owned();
        assert_eq!((x[6], x[9]), (2.0, 0.0));
        let ids = batch.get("ids").unwrap();
        assert_eq!(ids.row_splits().unwrap()[..4], [0, 0, 1, 3]);
        assert_eq!(ids.shape(), [100, 2]);
        let t_col = batch.get("t").unwrap();
        assert_eq!(t_col.strings().unwrap().len(), 200);
        assert_eq!(t_col.get(99).unwrap(), *t);
        assert!(matches!(
            batch.get("x").unwrap().values::<f32>(),
            Some(Cow::Borrowed(_))
        ));
    }

    #[test]
    fn long_names_sharing_a_prefix_are_told_apart() {
        let spec = ParseSpec::new()
            .fixed("embedding/a", DType::I64, &[], None)
            .fixed("embedding/b", DType::I64, &[], None)
            .fixed("embeddin", DType::I64, &[], None);
        let payload = encode(
            &Example::default()
                .int64("embedding/b", [2])
                .int64("embedding/a", [1])
                .int64("embedding/c", [9])
                .int64("embeddin", [3])
                .int64("embedding", [8]),
        );
        assert!(scan(&payload, &spec.entries, &mut [None; 3]));
        let got = spec.parse(&payload).unwrap();
        for (name, want) in [("embedding/a", 1), ("embedding/b", 2), ("embeddin", 3)] {
            assert_eq!(
                got.get(name).unwrap().to_vec::<i64>().unwrap(),
                [want],
                "{name}"
            );
        }
    }

    #[test]
    fn defaults_are_converted_and_checked() {
        let d = DefaultValue::from([1i64, 2]);
        assert_eq!(
            d.convert(DType::F32),
            Some(DefaultValue::F32(vec![1.0, 2.0]))
        );
        assert_eq!(d.convert(DType::String), None);
        assert_eq!(DefaultValue::from("a").le_bytes(), Vec::<u8>::new());
        assert_eq!(DefaultValue::from(1.0f32).le_bytes(), 1.0f32.to_le_bytes());
        assert!(ParseSpec::new()
            .fixed("s", DType::String, &[2], Some(DefaultValue::from("a")))
            .check()
            .is_err());
    }
}
