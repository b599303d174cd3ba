//! Parsing `Example`s into tensors by a spec, as `tf.io.parse_example`
//! does; see [`ParseSpec`].

use std::sync::Arc;

#[cfg(test)]
use std::borrow::Cow;

use rayon::prelude::*;

use super::{ExampleView, FeatureKind};
use crate::dtype::DType;
use crate::error::{Error, ErrorKind, Result};
use crate::tensor::{num_elements, Dims, TensorView};

mod parsed;
mod scan;

pub use parsed::{Column, Parsed, ParsedBatch, SparseTensor, Strings};

use scan::{scan, string_bytes, Feat};

/// Why a batch failed: the position of the record to blame, when one is,
/// and the error without position context.
pub(crate) type Failure = (Option<usize>, Error);

/// Batches of at least this many records are parsed on several threads.
const PARALLEL_MIN: usize = 32;

/// The default of a fixed feature: the values a record that lacks the
/// feature gets, in C order. Its dtype must be the feature's (an `I64`
/// default also serves an `F32` feature, converted), and it must hold as
/// many values as the feature's shape has elements.
///
/// ```
/// use tfrec::example::DefaultValue;
/// let zeros = DefaultValue::from(vec![0.0f32; 16]);
/// let label = DefaultValue::from(-1i64);
/// let name = DefaultValue::from("unknown");
/// assert_eq!(zeros.len(), 16);
/// assert_eq!(name, DefaultValue::String(vec![b"unknown".to_vec()]));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    /// Values of a `float_list` feature.
    F32(Vec<f32>),
    /// Values of an `int64_list` feature.
    I64(Vec<i64>),
    /// Values of a `bytes_list` feature.
    String(Vec<Vec<u8>>),
}

impl DefaultValue {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            DefaultValue::F32(v) => v.len(),
            DefaultValue::I64(v) => v.len(),
            DefaultValue::String(v) => v.len(),
        }
    }

    /// True when there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The dtype of the values.
    pub fn dtype(&self) -> DType {
        match self {
            DefaultValue::F32(_) => DType::F32,
            DefaultValue::I64(_) => DType::I64,
            DefaultValue::String(_) => DType::String,
        }
    }

    /// The values converted for a feature of `dtype`, or `None` when they
    /// cannot be.
    fn convert(&self, dtype: DType) -> Option<DefaultValue> {
        match (self, dtype) {
            (DefaultValue::I64(v), DType::F32) => {
                Some(DefaultValue::F32(v.iter().map(|&x| x as f32).collect()))
            }
            (d, dtype) if d.dtype() == dtype => Some(d.clone()),
            _ => None,
        }
    }

    /// Little-endian element bytes of numeric values.
    fn le_bytes(&self) -> Vec<u8> {
        match self {
            DefaultValue::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            DefaultValue::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            DefaultValue::String(_) => Vec::new(),
        }
    }
}

macro_rules! default_from {
    ($variant:ident, $t:ty) => {
        impl From<Vec<$t>> for DefaultValue {
            fn from(values: Vec<$t>) -> Self {
                DefaultValue::$variant(values)
            }
        }
        impl From<&[$t]> for DefaultValue {
            fn from(values: &[$t]) -> Self {
                DefaultValue::$variant(values.to_vec())
            }
        }
        impl<const N: usize> From<[$t; N]> for DefaultValue {
            fn from(values: [$t; N]) -> Self {
                DefaultValue::$variant(values.to_vec())
            }
        }
        impl From<$t> for DefaultValue {
            fn from(value: $t) -> Self {
                DefaultValue::$variant(vec![value])
            }
        }
    };
}

default_from!(F32, f32);
default_from!(I64, i64);

impl From<&str> for DefaultValue {
    fn from(value: &str) -> Self {
        DefaultValue::String(vec![value.as_bytes().to_vec()])
    }
}

impl From<&[u8]> for DefaultValue {
    fn from(value: &[u8]) -> Self {
        DefaultValue::String(vec![value.to_vec()])
    }
}

impl From<Vec<&str>> for DefaultValue {
    fn from(values: Vec<&str>) -> Self {
        DefaultValue::String(values.iter().map(|s| s.as_bytes().to_vec()).collect())
    }
}

impl From<Vec<Vec<u8>>> for DefaultValue {
    fn from(values: Vec<Vec<u8>>) -> Self {
        DefaultValue::String(values)
    }
}

/// What kind of entry of a spec a feature is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Fixed,
    VarLen,
    Tensor,
}

/// One feature of a spec.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) name: String,
    /// The name's first bytes as a word, for the scan's comparisons.
    key: u64,
    pub(crate) dtype: DType,
    pub(crate) kind: EntryKind,
    /// Shape of one record's value (fixed and tensor entries).
    pub(crate) shape: Dims,
    /// Elements per record (fixed and tensor entries).
    pub(crate) count: usize,
    /// Bytes per record in the stacked buffer (fixed-size dtypes of fixed
    /// and tensor entries; 0 otherwise).
    pub(crate) slot_bytes: usize,
    pub(crate) default: Option<DefaultValue>,
    /// The default's element bytes (numeric) or total string bytes.
    default_bytes: Vec<u8>,
    default_string_bytes: usize,
}

impl Entry {
    /// Whether the values go into one stacked buffer of fixed-size slots.
    pub(crate) fn is_stacked(&self) -> bool {
        self.kind != EntryKind::VarLen && self.dtype != DType::String
    }

    /// Whether values of varying size are gathered in a second pass.
    fn is_gathered(&self) -> bool {
        self.kind == EntryKind::VarLen || self.dtype == DType::String
    }

    fn list_kind(&self) -> FeatureKind {
        match self.dtype {
            DType::F32 => FeatureKind::Float,
            DType::I64 => FeatureKind::Int64,
            _ => FeatureKind::Bytes,
        }
    }

    fn fail(&self, what: impl std::fmt::Display) -> Error {
        Error::invalid_example(format!("feature {:?}: {what}", self.name))
    }

    /// The error for a feature of another kind than the spec's dtype.
    fn wrong_kind(&self, found: FeatureKind) -> Error {
        let wanted = self.list_kind();
        match self.kind {
            EntryKind::Tensor => self.fail(format_args!(
                "holds a {found}, a tensor feature needs a bytes_list holding one serialized tensor"
            )),
            _ => self.fail(format_args!(
                "holds a {found}, the spec wants {} ({wanted})",
                self.dtype
            )),
        }
    }
}

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
///   occurrence wins (protobuf map merging; see [`ExampleView`]).
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

    /// Parses records `0..n`, whose payloads `fetch` gives, into `out`. On
    /// failure, the position of the first bad record (when a record is to
    /// blame) and the error, without position context. The spec must have
    /// passed [`check`](ParseSpec::check).
    pub(crate) fn fill<'a, F>(
        &self,
        n: usize,
        fetch: F,
        out: &mut ParsedBatch,
        parallel: bool,
    ) -> Result<(), Failure>
    where
        F: Fn(usize) -> Result<&'a [u8]> + Sync,
    {
        let entries = &self.entries[..];
        let k = entries.len();
        out.prepare(&self.entries, n).map_err(|e| (None, e))?;
        let total = n
            .checked_mul(k)
            .ok_or_else(|| (None, Error::invalid_input("batch too large")))?;
        let mut pending: Vec<Pending<'a>> = Vec::new();
        pending.resize_with(total, Pending::default);
        let chunk = if parallel {
            n.div_ceil(rayon::current_num_threads().max(1) * 4).max(8)
        } else {
            n.max(1)
        };

        // Pass 1: parse each record, check every feature against the spec,
        // write stacked values into their slots and note where the rest are.
        {
            let mut stacked: Vec<&mut [u8]> = out
                .columns
                .iter_mut()
                .zip(entries)
                .map(|(c, e)| {
                    if e.is_stacked() {
                        c.bytes_mut()
                    } else {
                        &mut []
                    }
                })
                .collect();
            let mut rest = &mut pending[..];
            let mut works = Vec::with_capacity(n.div_ceil(chunk));
            let mut first = 0;
            while first < n {
                let m = chunk.min(n - first);
                let (mine, tail) = split(std::mem::take(&mut rest), m * k)?;
                rest = tail;
                let mut slots = Vec::with_capacity(k);
                for (col, e) in stacked.iter_mut().zip(entries) {
                    let (head, tail) = split(std::mem::take(col), m * e.slot_bytes)?;
                    *col = tail;
                    slots.push(head);
                }
                works.push(ParseWork {
                    first,
                    pending: mine,
                    slots,
                    found: vec![None; k],
                });
                first += m;
            }
            let run = |w: &mut ParseWork<'_, 'a>| -> Result<(), Failure> {
                let m = w.pending.len() / k.max(1);
                for j in 0..m {
                    let i = w.first + j;
                    let payload = fetch(i).map_err(|e| (Some(i), e))?;
                    let pending = w.pending.get_mut(j * k..(j + 1) * k).unwrap_or_default();
                    self.parse_one(payload, j, &mut w.slots, pending, &mut w.found)
                        .map_err(|e| (Some(i), e))?;
                }
                Ok(())
            };
            if works.len() > 1 {
                let results: Vec<_> = works.par_iter_mut().map(run).collect();
                results.into_iter().collect::<Result<Vec<()>, _>>()?;
            } else {
                works.iter_mut().try_for_each(run)?;
            }
        }

        // Pass 2: sizes of the gathered values, chunk by chunk.
        let chunks = n.div_ceil(chunk);
        let mut starts = vec![Start::default(); (chunks + 1) * k];
        for (e, (entry, col)) in entries.iter().zip(out.columns.iter_mut()).enumerate() {
            if !entry.is_gathered() {
                continue;
            }
            let (mut values, mut bytes, mut longest) = (0usize, 0usize, 0usize);
            let ragged = entry.kind == EntryKind::VarLen;
            if ragged {
                col.row_splits.push(0);
            }
            for i in 0..n {
                if i % chunk == 0 {
                    starts[(i / chunk) * k + e] = Start { values, bytes };
                }
                let p = &pending[i * k + e];
                values = values.checked_add(p.values).ok_or_else(overflow)?;
                bytes = bytes.checked_add(p.bytes).ok_or_else(overflow)?;
                longest = longest.max(p.values);
                if ragged {
                    let split = i64::try_from(values).map_err(|_| overflow())?;
                    col.row_splits.push(split);
                }
            }
            starts[chunks * k + e] = Start { values, bytes };
            if entry.dtype == DType::String {
                col.string_offsets.resize(values + 1, 0);
                col.string_data.resize(bytes, 0);
            } else {
                let esize = entry.dtype.size().unwrap_or(0);
                col.set_bytes_len(values.checked_mul(esize).ok_or_else(overflow)?);
            }
            if ragged {
                col.shape.clear();
                col.shape.extend_from_slice(&[n, longest]);
            }
        }

        // Pass 3: copy the gathered values into place.
        if entries.iter().any(Entry::is_gathered) {
            let mut areas: Vec<Area<'_>> = out
                .columns
                .iter_mut()
                .zip(entries)
                .map(|(c, e)| {
                    if !e.is_gathered() {
                        return Area::default();
                    }
                    if e.dtype == DType::String {
                        Area {
                            offsets: c.string_offsets.get_mut(1..).unwrap_or_default(),
                            data: &mut c.string_data[..],
                            values: &mut [],
                            base: 0,
                        }
                    } else {
                        Area {
                            values: c.bytes_mut(),
                            ..Area::default()
                        }
                    }
                })
                .collect();
            let mut works = Vec::with_capacity(chunks);
            for c in 0..chunks {
                let mut mine = Vec::with_capacity(k);
                for (e, (area, entry)) in areas.iter_mut().zip(entries).enumerate() {
                    if !entry.is_gathered() {
                        mine.push(Area::default());
                        continue;
                    }
                    let (from, to) = (starts[c * k + e], starts[(c + 1) * k + e]);
                    let esize = entry.dtype.size().unwrap_or(0);
                    let (values, rest) = split(
                        std::mem::take(&mut area.values),
                        (to.values - from.values) * esize,
                    )?;
                    area.values = rest;
                    let string_values = if entry.dtype == DType::String {
                        to.values - from.values
                    } else {
                        0
                    };
                    let (offsets, rest) = split(std::mem::take(&mut area.offsets), string_values)?;
                    area.offsets = rest;
                    let (data, rest) =
                        split(std::mem::take(&mut area.data), to.bytes - from.bytes)?;
                    area.data = rest;
                    mine.push(Area {
                        values,
                        offsets,
                        data,
                        base: from.bytes,
                    });
                }
                let first = c * chunk;
                let pending = pending
                    .get(first * k..(first + chunk).min(n) * k)
                    .unwrap_or_default();
                works.push(GatherWork {
                    first,
                    pending,
                    areas: mine,
                });
            }
            let run = |w: &mut GatherWork<'_, 'a>| -> Result<(), Failure> {
                let m = w.pending.len() / k.max(1);
                for j in 0..m {
                    let pending = w.pending.get(j * k..(j + 1) * k).unwrap_or_default();
                    self.gather_one(pending, &mut w.areas)
                        .map_err(|e| (Some(w.first + j), e))?;
                }
                Ok(())
            };
            if works.len() > 1 {
                let results: Vec<_> = works.par_iter_mut().map(run).collect();
                results.into_iter().collect::<Result<Vec<()>, _>>()?;
            } else {
                works.iter_mut().try_for_each(run)?;
            }
        }
        Ok(())
    }

    /// Pass 1 for record `j` of a chunk: checks it against the spec, writes
    /// stacked values into `slots` and notes the gathered ones in `pending`.
    fn parse_one<'a>(
        &self,
        payload: &'a [u8],
        j: usize,
        slots: &mut [&mut [u8]],
        pending: &mut [Pending<'a>],
        found: &mut [Option<Feat<'a>>],
    ) -> Result<()> {
        if !scan(payload, &self.entries, found) {
            let view = ExampleView::parse(payload)?;
            for (slot, entry) in found.iter_mut().zip(self.entries.iter()) {
                *slot = view.get(&entry.name).map(Feat::Viewed);
            }
        }
        for (((entry, slot), note), feature) in self
            .entries
            .iter()
            .zip(slots)
            .zip(pending)
            .zip(found.iter())
        {
            let slot = slot
                .get_mut(j * entry.slot_bytes..(j + 1) * entry.slot_bytes)
                .unwrap_or_default();
            // A feature with no kind set is missing, as in TensorFlow.
            let feature = feature.filter(|f| f.kind() != FeatureKind::None);
            match entry.kind {
                EntryKind::Fixed => {
                    let Some(f) = feature else {
                        if entry.default.is_none() {
                            return Err(entry.fail(format_args!(
                                "missing, and the spec gives no default ({}, shape {:?})",
                                entry.dtype,
                                &entry.shape[..]
                            )));
                        }
                        if entry.dtype == DType::String {
                            *note = Pending {
                                source: Source::Default,
                                values: entry.count,
                                bytes: entry.default_string_bytes,
                            };
                        } else {
                            copy_exact(slot, &entry.default_bytes)?;
                        }
                        continue;
                    };
                    if f.kind() != entry.list_kind() {
                        return Err(entry.wrong_kind(f.kind()));
                    }
                    if f.len() != entry.count {
                        return Err(entry.fail(format_args!(
                            "holds {} values, shape {:?} needs {}",
                            f.len(),
                            &entry.shape[..],
                            entry.count
                        )));
                    }
                    match entry.dtype {
                        DType::F32 => f.write_f32s(slot)?,
                        DType::I64 => f.write_i64s(slot)?,
                        _ => *note = strings_of(f),
                    }
                }
                EntryKind::VarLen => match feature {
                    None => *note = Pending::default(),
                    Some(f) if f.kind() != entry.list_kind() => {
                        return Err(entry.wrong_kind(f.kind()))
                    }
                    Some(f) if entry.dtype == DType::String => *note = strings_of(f),
                    Some(f) => {
                        *note = Pending {
                            source: Source::Feature(f),
                            values: f.len(),
                            bytes: 0,
                        }
                    }
                },
                EntryKind::Tensor => {
                    let Some(f) = feature else {
                        return Err(entry.fail(format_args!(
                            "missing; a tensor feature has no default ({}, shape {:?})",
                            entry.dtype,
                            &entry.shape[..]
                        )));
                    };
                    if f.kind() != FeatureKind::Bytes {
                        return Err(entry.wrong_kind(f.kind()));
                    }
                    if f.len() != 1 {
                        return Err(entry.fail(format_args!(
                            "holds {} values, a tensor feature holds exactly one serialized tensor",
                            f.len()
                        )));
                    }
                    let t = f.tensor().map_err(|e| {
                        entry.fail(format_args!("not a serialized tensor: {}", e.kind()))
                    })?;
                    if t.dtype() != entry.dtype || t.shape() != &entry.shape[..] {
                        return Err(entry.fail(format_args!(
                            "holds a tensor {}{:?}, the spec wants {}{:?}",
                            t.dtype(),
                            t.shape(),
                            entry.dtype,
                            &entry.shape[..]
                        )));
                    }
                    match t.bytes() {
                        Some(bytes) => copy_exact(slot, bytes)?,
                        None => {
                            let bytes = t.strings().into_iter().flatten().map(<[u8]>::len).sum();
                            *note = Pending {
                                source: Source::Tensor(Box::new(t)),
                                values: entry.count,
                                bytes,
                            };
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Pass 3 for one record: moves its gathered values into their areas.
    fn gather_one(&self, pending: &[Pending<'_>], areas: &mut [Area<'_>]) -> Result<()> {
        for ((entry, note), area) in self.entries.iter().zip(pending).zip(areas) {
            if !entry.is_gathered() || note.values == 0 {
                continue;
            }
            if entry.dtype == DType::String {
                match &note.source {
                    Source::One(one) => area.put_strings(std::iter::once(*one))?,
                    Source::Feature(f) => area.put_strings(f.strings())?,
                    Source::Tensor(t) => area.put_strings(t.strings().into_iter().flatten())?,
                    Source::Default => {
                        let strings = match &entry.default {
                            Some(DefaultValue::String(s)) => &s[..],
                            _ => &[],
                        };
                        area.put_strings(strings.iter().map(Vec::as_slice))?
                    }
                    Source::None => {}
                }
                continue;
            }
            let Source::Feature(f) = &note.source else {
                continue;
            };
            let esize = entry.dtype.size().unwrap_or(0);
            let (mine, rest) =
                split(std::mem::take(&mut area.values), note.values * esize).map_err(|(_, e)| e)?;
            area.values = rest;
            match entry.dtype {
                DType::F32 => f.write_f32s(mine)?,
                _ => f.write_i64s(mine)?,
            }
        }
        Ok(())
    }
}

fn make_entry(
    existing: &[Entry],
    name: String,
    dtype: DType,
    kind: EntryKind,
    shape: &[usize],
    default: Option<DefaultValue>,
) -> std::result::Result<Entry, String> {
    if existing.iter().any(|e| e.name == name) {
        return Err(format!("feature {name:?} is named twice"));
    }
    if kind != EntryKind::Tensor && !matches!(dtype, DType::F32 | DType::I64 | DType::String) {
        return Err(format!(
            "feature {name:?}: dtype {dtype} is not one an Example holds (float32, int64, string)"
        ));
    }
    let count = num_elements(shape).map_err(|e| format!("feature {name:?}: {}", e.kind()))?;
    if shape.len() > crate::tensor::MAX_RANK {
        return Err(format!(
            "feature {name:?}: rank {} exceeds {}",
            shape.len(),
            crate::tensor::MAX_RANK
        ));
    }
    let slot_bytes = if kind != EntryKind::VarLen {
        count
            .checked_mul(dtype.size().unwrap_or(0))
            .ok_or_else(|| format!("feature {name:?}: shape {shape:?} is too large"))?
    } else {
        0
    };
    let default = match default {
        None => None,
        Some(d) => {
            let Some(converted) = d.convert(dtype) else {
                return Err(format!(
                    "default of feature {name:?} holds {} values, the feature is {dtype}",
                    d.dtype()
                ));
            };
            if converted.len() != count {
                return Err(format!(
                    "default of feature {name:?} has {} values, shape {shape:?} needs {count}",
                    converted.len()
                ));
            }
            Some(converted)
        }
    };
    let default_bytes = default
        .as_ref()
        .map(DefaultValue::le_bytes)
        .unwrap_or_default();
    let default_string_bytes = match &default {
        Some(DefaultValue::String(s)) => s.iter().map(Vec::len).sum(),
        _ => 0,
    };
    Ok(Entry {
        key: scan::name_key(name.as_bytes()),
        name,
        dtype,
        kind,
        shape: Dims::from_slice(shape),
        count,
        slot_bytes,
        default,
        default_bytes,
        default_string_bytes,
    })
}

/// Where one record's gathered values of one feature come from.
#[derive(Default)]
enum Source<'a> {
    /// No values.
    #[default]
    None,
    Feature(Feat<'a>),
    /// The one value of a `bytes_list`.
    One(&'a [u8]),
    Default,
    /// A string tensor (boxed: rare, and large beside the others).
    Tensor(Box<TensorView<'a>>),
}

/// What pass 1 learns of one (record, feature) pair for pass 3.
#[derive(Default)]
struct Pending<'a> {
    source: Source<'a>,
    values: usize,
    bytes: usize,
}

fn strings_of(f: Feat<'_>) -> Pending<'_> {
    if let Some(one) = f.single_string() {
        return Pending {
            source: Source::One(one),
            values: 1,
            bytes: one.len(),
        };
    }
    let bytes = string_bytes(&f);
    Pending {
        source: Source::Feature(f),
        values: f.len(),
        bytes,
    }
}

/// Counts of gathered values and bytes before a chunk.
#[derive(Debug, Clone, Copy, Default)]
struct Start {
    values: usize,
    bytes: usize,
}

/// Pass 1's share of a batch: a run of records from `first`.
struct ParseWork<'s, 'a> {
    first: usize,
    pending: &'s mut [Pending<'a>],
    /// Per feature, the stacked slots of these records.
    slots: Vec<&'s mut [u8]>,
    /// Per feature, where the record being parsed holds it.
    found: Vec<Option<Feat<'a>>>,
}

/// Pass 3's share of a batch.
struct GatherWork<'s, 'a> {
    first: usize,
    pending: &'s [Pending<'a>],
    areas: Vec<Area<'s>>,
}

/// Where a run of records' gathered values of one feature go.
#[derive(Default)]
struct Area<'s> {
    /// Element bytes of numeric values.
    values: &'s mut [u8],
    /// The end offset of each string.
    offsets: &'s mut [usize],
    /// String bytes.
    data: &'s mut [u8],
    /// Offset of `data` in the column's string buffer.
    base: usize,
}

impl Area<'_> {
    fn put_strings<'v>(&mut self, strings: impl Iterator<Item = &'v [u8]>) -> Result<()> {
        for s in strings {
            let (dst, rest) = split(std::mem::take(&mut self.data), s.len()).map_err(|(_, e)| e)?;
            dst.copy_from_slice(s);
            self.data = rest;
            self.base += s.len();
            let (end, rest) = split(std::mem::take(&mut self.offsets), 1).map_err(|(_, e)| e)?;
            if let Some(slot) = end.first_mut() {
                *slot = self.base;
            }
            self.offsets = rest;
        }
        Ok(())
    }
}

fn overflow() -> Failure {
    (None, Error::invalid_input("batch size in bytes overflows"))
}

/// Splits off the first `n` elements; sizes come from the first pass, so
/// a shortfall is a bug, reported rather than panicking.
fn split<T>(slice: &mut [T], n: usize) -> Result<(&mut [T], &mut [T]), Failure> {
    let len = slice.len();
    slice.split_at_mut_checked(n).ok_or_else(|| {
        (
            None,
            Error::invalid_input(format!(
                "internal: batch buffer of {len} elements has no room for {n}"
            )),
        )
    })
}

fn copy_exact(dst: &mut [u8], src: &[u8]) -> Result<()> {
    if dst.len() != src.len() {
        return Err(Error::invalid_input(format!(
            "internal: slot of {} bytes for {} bytes",
            dst.len(),
            src.len()
        )));
    }
    dst.copy_from_slice(src);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example::{encode, Example, Feature};
    use crate::proto::wire::put_varint;

    fn len_field(number: u32, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        put_varint(&mut out, u64::from(number) << 3 | 2);
        put_varint(&mut out, body.len() as u64);
        out.extend_from_slice(body);
        out
    }

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
        let entry = |name: &[u8], feature: &[u8]| {
            len_field(1, &[len_field(1, name), len_field(2, feature)].concat())
        };
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
        let t = crate::Tensor::from_strings(&["p", "q"], &[2]).unwrap();
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
