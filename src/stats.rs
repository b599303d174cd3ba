//! Statistics over the records of TFRecord files: record and byte counts,
//! per dtype the tensors, elements, sum, minimum and maximum, and a
//! histogram of shapes; for files that hold other records too, the records
//! of each kind and, per feature name of `Example`s and `SequenceExample`s,
//! its kind, how many records carry it and how many values it has.
//!
//! Each record's kind is told by [`RecordKind::detect`]: a record that is
//! not a valid tensor (nor an `Example` or a `SequenceExample`) counts as
//! `raw`, even when it was meant to be a tensor. Only damaged framing
//! (lengths, CRCs, truncation) is an error.
//!
//! | dtype | `sum` | `min`, `max` |
//! | --- | --- | --- |
//! | integers | exact, as `i128`/`u128` | exact |
//! | float16, bfloat16, float32, float64 | `f64` (in record order, so the same every run) | `f64` |
//! | bool | the number of `true` elements | 0 or 1 |
//! | complex64, complex128 | `[re, im]` sums as `f64` | none (complex numbers have no order) |
//! | string | none | none |
//!
//! NaN elements are left out of float sums, minima and maxima and counted
//! separately ([`Summary::Float::nan`]); a sum that overflows `f64` is
//! infinite, which JSON prints as `null`. Minima and maxima of dtypes that
//! had no elements are `None` (`null`).
//!
//! Uncompressed files are read through their [`Index`]: consecutive records
//! are grouped into pieces of about 256 KiB, each piece read with one
//! positioned read and its records checked (both CRCs), decoded and tallied
//! in parallel on rayon's pool. Compressed files and other streams are read
//! in order and tallied in parallel in chunks.
//!
//! ```
//! use tfrec::{stats, DType, Tensor, Writer};
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("a.tfrecord");
//! let mut w = Writer::create(&path)?;
//! w.write_tensor(&Tensor::from_slice(&[1u8, 2, 250], &[3])?)?;
//! w.write_tensor(&Tensor::from_slice(&[4u8, 5, 6], &[3])?)?;
//! w.write_tensor(&Tensor::from_slice(&[0.5f32, f32::NAN], &[2])?)?;
//! w.finish()?;
//!
//! let s = stats::stats_file(&path, &|_| {})?;
//! assert_eq!(s.records, 3);
//! let u8s = &s.dtypes[&DType::U8];
//! assert_eq!((u8s.tensors, u8s.elements), (2, 6));
//! assert_eq!(u8s.summary, stats::Summary::UInt { sum: 268, min: Some(1), max: Some(250) });
//! assert_eq!(s.shapes[&vec![3]], 2);
//! assert_eq!(
//!     s.to_json(),
//!     r#"{"records": 3, "bytes": 92, "holds": "tensor", "sizes": {"min": 13, "mean": 14.666666666666666, "max": 18, "empty": 0}, "dtypes": {"float32": {"tensors": 1, "elements": 2, "sum": 0.5, "min": 0.5, "max": 0.5}, "uint8": {"tensors": 2, "elements": 6, "sum": 268, "min": 1, "max": 250}}, "shapes": {"[2]": 1, "[3]": 2}}"#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::path::Path;

use rayon::prelude::*;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::example::{ExampleView, RecordKind, SequenceExampleView};
use crate::framing::{self, FrameCheck, FRAME_OVERHEAD};
use crate::index::{FrameBuf, Index};
use crate::read::mmap::Mmap;
use crate::read::segments::{self, Input, Walk};
use crate::read::{open_plain_file, Reader};
use crate::tensor::{Dims, TensorView};

mod features;
mod sizes;

pub use features::{FeatureKinds, FeatureListStats, FeatureStats, KindCounts};
pub use sizes::SizeStats;

/// Sum, minimum and maximum of one dtype's elements.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Summary {
    /// Signed integers: exact.
    Int {
        /// Sum of all elements.
        sum: i128,
        /// Smallest element.
        min: Option<i64>,
        /// Largest element.
        max: Option<i64>,
    },
    /// Unsigned integers: exact.
    UInt {
        /// Sum of all elements.
        sum: u128,
        /// Smallest element.
        min: Option<u64>,
        /// Largest element.
        max: Option<u64>,
    },
    /// Floats (f16 and bf16 converted exactly to f64). NaNs are counted,
    /// not summed or compared.
    Float {
        /// Sum of the non-NaN elements.
        sum: f64,
        /// Smallest non-NaN element.
        min: Option<f64>,
        /// Largest non-NaN element.
        max: Option<f64>,
        /// Elements that were NaN.
        nan: u64,
    },
    /// Bools: the number of `true` elements (min and max follow from it and
    /// the element count).
    Bool {
        /// Elements that were `true`.
        trues: u64,
    },
    /// Complex numbers: sums of the real and imaginary parts (NaN parts
    /// counted, not summed). No minimum or maximum.
    Complex {
        /// Sum of the real parts.
        re: f64,
        /// Sum of the imaginary parts.
        im: f64,
        /// Elements with a NaN part.
        nan: u64,
    },
    /// Strings: counts only.
    String,
}

impl Summary {
    fn empty(dtype: DType) -> Summary {
        match dtype {
            DType::I8 | DType::I16 | DType::I32 | DType::I64 => Summary::Int {
                sum: 0,
                min: None,
                max: None,
            },
            DType::U8 | DType::U16 | DType::U32 | DType::U64 => Summary::UInt {
                sum: 0,
                min: None,
                max: None,
            },
            DType::F16 | DType::BF16 | DType::F32 | DType::F64 => Summary::Float {
                sum: 0.0,
                min: None,
                max: None,
                nan: 0,
            },
            DType::Bool => Summary::Bool { trues: 0 },
            DType::Complex64 | DType::Complex128 => Summary::Complex {
                re: 0.0,
                im: 0.0,
                nan: 0,
            },
            DType::String => Summary::String,
        }
    }

    fn merge(&mut self, other: &Summary) -> Result<()> {
        fn opt<T: Copy>(a: Option<T>, b: Option<T>, pick: fn(T, T) -> T) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(pick(a, b)),
                (a, None) => a,
                (None, b) => b,
            }
        }
        let overflow = || Error::invalid_input("integer sum exceeds 128 bits");
        match (self, other) {
            (
                Summary::Int { sum, min, max },
                Summary::Int {
                    sum: s,
                    min: lo,
                    max: hi,
                },
            ) => {
                *sum = sum.checked_add(*s).ok_or_else(overflow)?;
                *min = opt(*min, *lo, std::cmp::min);
                *max = opt(*max, *hi, std::cmp::max);
            }
            (
                Summary::UInt { sum, min, max },
                Summary::UInt {
                    sum: s,
                    min: lo,
                    max: hi,
                },
            ) => {
                *sum = sum.checked_add(*s).ok_or_else(overflow)?;
                *min = opt(*min, *lo, std::cmp::min);
                *max = opt(*max, *hi, std::cmp::max);
            }
            (
                Summary::Float { sum, min, max, nan },
                Summary::Float {
                    sum: s,
                    min: lo,
                    max: hi,
                    nan: n,
                },
            ) => {
                *sum += s;
                *min = opt(*min, *lo, f64::min);
                *max = opt(*max, *hi, f64::max);
                *nan += n;
            }
            (Summary::Bool { trues }, Summary::Bool { trues: t }) => *trues += t,
            (
                Summary::Complex { re, im, nan },
                Summary::Complex {
                    re: r,
                    im: i,
                    nan: n,
                },
            ) => {
                *re += r;
                *im += i;
                *nan += n;
            }
            _ => {}
        }
        Ok(())
    }
}

/// The tally of one dtype.
#[derive(Debug, Clone, PartialEq)]
pub struct DTypeStats {
    /// Tensors of this dtype.
    pub tensors: u64,
    /// Their elements, all together.
    pub elements: u64,
    /// Sum, minimum and maximum.
    pub summary: Summary,
}

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

    fn absorb(&mut self, tally: Tally) -> Result<()> {
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

    /// One line of JSON:
    /// `{"records": N, "bytes": B, "holds": KIND, "sizes": {"min": .., "mean": .., "max": .., "empty": ..}, "dtypes": {NAME: {"tensors": .., "elements": .., "sum": .., "min": .., "max": ..}, ...}, "shapes": {"[d0, d1]": count, ...}}`.
    ///
    /// Integer sums are exact JSON integers, however large. Complex sums are
    /// `[re, im]` with `min` and `max` `null`; bool sums count `true`, with
    /// `min`/`max` 0 or 1; string dtypes carry only `tensors` and
    /// `elements`. Non-finite numbers and the minimum and maximum of no
    /// elements are `null`.
    ///
    /// `holds` is what the records hold all together ([`Stats::kind`]):
    /// `tensor`, `example`, `sequence_example` or `raw`. `sizes` gives the
    /// smallest, mean and largest payload in bytes (`null` without records)
    /// and the number of empty payloads.
    ///
    /// When some record is not a tensor, three keys follow (`dtypes` and
    /// `shapes` then describe the tensors among the records):
    ///
    /// - `"kinds": {"tensor": N, "example": N, "sequence_example": N, "raw": N}`;
    /// - `"features": {NAME: {"kind": K, "records": N, "value_counts": {"V": N, ...}}}`
    ///   for the features of `Example`s and `SequenceExample` contexts: the
    ///   kind (`int64_list`, `float_list`, `bytes_list` or `none`) the
    ///   feature had in most records, the records that carry it, and how
    ///   many records had it with `V` values. A name seen with several kinds
    ///   also has `"kinds": {K: N, ...}`, records per kind;
    /// - `"feature_lists": {NAME: {"kind": K, "records": N, "lengths": {"L": N, ...}}}`
    ///   for `SequenceExample` feature lists: the kind most steps had (`null`
    ///   if the list never had a step; `"kinds"`, steps per kind, when
    ///   there were several), the records that carry it, and how many
    ///   records had it with `L` steps.
    ///
    /// ```
    /// use tfrec::example::{self, Example, Feature, SequenceExample};
    /// use tfrec::stats::Stats;
    ///
    /// let mut s = Stats::new();
    /// for payload in [
    ///     example::encode(&Example::default().int64("id", [7]).float("x", [0.5, 1.0])),
    ///     example::encode(&Example::default().int64("id", [8])),
    ///     example::encode(&SequenceExample::default()
    ///         .context_feature("id", Feature::default())
    ///         .feature_list("t", [Feature::int64_list([1]), Feature::int64_list([2, 3])])),
    /// ] {
    ///     s.add_record(&payload, payload.len() as u64 + 16)?;
    /// }
    /// let json = s.to_json();
    /// assert!(json.ends_with(
    ///     r#""kinds": {"tensor": 0, "example": 2, "sequence_example": 1, "raw": 0}, "features": {"id": {"kind": "int64_list", "kinds": {"int64_list": 2, "none": 1}, "records": 3, "value_counts": {"0": 1, "1": 2}}, "x": {"kind": "float_list", "records": 1, "value_counts": {"2": 1}}}, "feature_lists": {"t": {"kind": "int64_list", "records": 1, "lengths": {"2": 1}}}}"#
    /// ), "{json}");
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "{{\"records\": {}, \"bytes\": {}, \"holds\": \"{}\", \"sizes\": {{\"min\": {}, \"mean\": {}, \"max\": {}, \"empty\": {}}}, \"dtypes\": {{",
            self.records,
            self.bytes,
            self.kind(),
            json_opt(self.sizes.min),
            self.sizes.mean(self.records).map_or_else(|| "null".into(), json_f64),
            json_opt(self.sizes.max),
            self.sizes.empty,
        );
        for (i, (dtype, s)) in self.dtypes.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(
                out,
                "\"{}\": {{\"tensors\": {}, \"elements\": {}",
                dtype.name(),
                s.tensors,
                s.elements
            );
            let (sum, min, max) = json_values(s);
            if let Some(sum) = sum {
                let _ = write!(out, ", \"sum\": {sum}, \"min\": {min}, \"max\": {max}");
            }
            out.push('}');
        }
        out.push_str("}, \"shapes\": {");
        for (i, (shape, n)) in self.shapes.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "\"{}\": {n}", shape_key(shape));
        }
        out.push('}');
        if !self.kinds.only_tensors() {
            features::write_json(&mut out, &self.kinds, &self.features, &self.feature_lists);
        }
        out.push('}');
        out
    }

    /// A table for people: totals, one row per dtype, one per shape. When
    /// some records are not tensors: records per kind, then one row per
    /// feature (kind, records, `VALUES:RECORDS` pairs) and one per feature
    /// list (kind, records, `STEPS:RECORDS` pairs); the dtype and shape
    /// tables only if there were tensors.
    pub fn to_text(&self) -> String {
        let mut rows = vec![[
            "dtype".to_string(),
            "tensors".into(),
            "elements".into(),
            "sum".into(),
            "min".into(),
            "max".into(),
            "NaN".into(),
        ]];
        for (dtype, s) in &self.dtypes {
            let (sum, min, max) = json_values(s);
            let nan = match s.summary {
                Summary::Float { nan, .. } | Summary::Complex { nan, .. } => nan.to_string(),
                _ => String::new(),
            };
            let dash = |v: String| if v == "null" { "-".to_string() } else { v };
            rows.push([
                dtype.name().to_string(),
                s.tensors.to_string(),
                s.elements.to_string(),
                sum.map_or_else(|| "-".into(), dash),
                dash(min),
                dash(max),
                nan,
            ]);
        }
        let mut out = String::new();
        let _ = writeln!(out, "records\t{}", self.records);
        let _ = writeln!(out, "bytes\t{}", self.bytes);
        let _ = writeln!(out, "holds\t{}", self.kind());
        if let (Some(min), Some(mean), Some(max)) = (
            self.sizes.min,
            self.sizes.mean(self.records),
            self.sizes.max,
        ) {
            let _ = writeln!(
                out,
                "sizes\tmin {min}  mean {mean:.1}  max {max}  empty {}",
                self.sizes.empty
            );
        }
        let only_tensors = self.kinds.only_tensors();
        if only_tensors || self.kinds.tensor > 0 {
            out.push('\n');
            write_table(&mut out, &rows);
            out.push('\n');
            let mut shape_rows = vec![["shape".to_string(), "tensors".to_string()]];
            for (shape, n) in &self.shapes {
                shape_rows.push([shape_key(shape), n.to_string()]);
            }
            write_table(&mut out, &shape_rows);
        }
        if !only_tensors {
            out.push('\n');
            features::write_text(&mut out, &self.kinds, &self.features, &self.feature_lists);
        }
        out
    }
}

fn write_table<const N: usize>(out: &mut String, rows: &[[String; N]]) {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// `[128, 128, 3]`; `[]` for a scalar.
pub fn shape_key(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", dims.join(", "))
}

/// A JSON number for a float: shortest round-trip form, `null` when not finite.
fn json_f64(x: f64) -> String {
    if x.is_finite() {
        format!("{x:?}")
    } else {
        "null".into()
    }
}

fn json_opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "null".into(), |v| v.to_string())
}

/// (sum, min, max) as JSON values; no sum for strings.
fn json_values(s: &DTypeStats) -> (Option<String>, String, String) {
    match &s.summary {
        Summary::Int { sum, min, max } => (Some(sum.to_string()), json_opt(*min), json_opt(*max)),
        Summary::UInt { sum, min, max } => (Some(sum.to_string()), json_opt(*min), json_opt(*max)),
        Summary::Float { sum, min, max, .. } => (
            Some(json_f64(*sum)),
            min.map_or_else(|| "null".into(), json_f64),
            max.map_or_else(|| "null".into(), json_f64),
        ),
        Summary::Bool { trues } => {
            let (min, max) = if s.elements == 0 {
                ("null".into(), "null".into())
            } else {
                (
                    u8::from(*trues == s.elements).to_string(),
                    u8::from(*trues > 0).to_string(),
                )
            };
            (Some(trues.to_string()), min, max)
        }
        Summary::Complex { re, im, .. } => (
            Some(format!("[{}, {}]", json_f64(*re), json_f64(*im))),
            "null".into(),
            "null".into(),
        ),
        Summary::String => (None, String::new(), String::new()),
    }
}

/// A tally of a run of records, kept small: few dtypes and shapes, found by
/// linear search.
#[derive(Default)]
struct Tally {
    records: u64,
    bytes: u64,
    dtypes: Vec<(DType, DTypeStats)>,
    shapes: Vec<(Dims, u64)>,
    last_dtype: usize,
    last_shape: usize,
    kinds: KindCounts,
    features: BTreeMap<String, FeatureStats>,
    feature_lists: BTreeMap<String, FeatureListStats>,
    sizes: SizeStats,
}

impl Tally {
    /// Tallies a record of any kind.
    #[inline]
    fn add_payload(&mut self, payload: &[u8], frame_bytes: u64) -> RecordKind {
        if let Some(tensor) = canonical(payload) {
            return self.add(&tensor, frame_bytes);
        }
        // Detection parses the payload once and the tally a second time;
        // should the second parse fail all the same, the record is raw.
        let mut kind = RecordKind::detect(payload);
        match kind {
            RecordKind::Tensor => match TensorView::decode(payload) {
                Ok(tensor) => return self.add(&tensor, frame_bytes),
                Err(_) => kind = RecordKind::Raw,
            },
            RecordKind::Example => match ExampleView::parse(payload) {
                Ok(example) => features::add_features(&mut self.features, example.features()),
                Err(_) => kind = RecordKind::Raw,
            },
            RecordKind::SequenceExample => match SequenceExampleView::parse(payload) {
                Ok(seq) => {
                    features::add_features(&mut self.features, seq.context());
                    features::add_feature_lists(&mut self.feature_lists, seq.feature_lists());
                }
                Err(_) => kind = RecordKind::Raw,
            },
            RecordKind::Raw => {}
        }
        self.records += 1;
        self.bytes += frame_bytes;
        self.sizes
            .add(frame_bytes.saturating_sub(FRAME_OVERHEAD as u64));
        self.kinds.add(kind);
        kind
    }

    /// Tallies a tensor.
    fn add(&mut self, t: &TensorView<'_>, frame_bytes: u64) -> RecordKind {
        self.records += 1;
        self.bytes += frame_bytes;
        self.sizes
            .add(frame_bytes.saturating_sub(FRAME_OVERHEAD as u64));
        self.kinds.tensor += 1;
        // Records mostly repeat the previous record's shape and dtype.
        let shape_at = match self.shapes.get(self.last_shape) {
            Some((s, _)) if same_dims(s, t.shape()) => Some(self.last_shape),
            _ => self
                .shapes
                .iter()
                .position(|(s, _)| same_dims(s, t.shape())),
        };
        self.last_shape = match shape_at {
            Some(i) => i,
            None => {
                self.shapes.push((Dims::from_slice(t.shape()), 0));
                self.shapes.len() - 1
            }
        };
        self.shapes[self.last_shape].1 += 1;
        let dtype = t.dtype();
        let at = match self.dtypes.get(self.last_dtype) {
            Some((d, _)) if *d == dtype => self.last_dtype,
            _ => match self.dtypes.iter().position(|(d, _)| *d == dtype) {
                Some(i) => i,
                None => {
                    self.dtypes.push((
                        dtype,
                        DTypeStats {
                            tensors: 0,
                            elements: 0,
                            summary: Summary::empty(dtype),
                        },
                    ));
                    self.dtypes.len() - 1
                }
            },
        };
        self.last_dtype = at;
        let s = &mut self.dtypes[at].1;
        s.tensors += 1;
        s.elements += t.num_elements() as u64;
        let bytes = t.bytes().unwrap_or_default();
        // Per-tensor sums of elements up to 32 bits cannot overflow 64 bits:
        // a tensor has fewer than 2^31 elements.
        match &mut s.summary {
            Summary::UInt { sum, min, max } => {
                let (s_, lo, hi) = match dtype {
                    DType::U8 => sum_u8(bytes),
                    DType::U16 => ints::<2, u64>(bytes, |b| u64::from(u16::from_le_bytes(b))),
                    DType::U32 => ints::<4, u64>(bytes, |b| u64::from(u32::from_le_bytes(b))),
                    _ => ints::<8, u64>(bytes, u64::from_le_bytes),
                };
                *sum += s_;
                fold(min, lo, std::cmp::min);
                fold(max, hi, std::cmp::max);
            }
            Summary::Int { sum, min, max } => {
                let (s_, lo, hi) = match dtype {
                    DType::I8 => ints::<1, i64>(bytes, |b| i64::from(i8::from_le_bytes(b))),
                    DType::I16 => ints::<2, i64>(bytes, |b| i64::from(i16::from_le_bytes(b))),
                    DType::I32 => ints::<4, i64>(bytes, |b| i64::from(i32::from_le_bytes(b))),
                    _ => ints::<8, i64>(bytes, i64::from_le_bytes),
                };
                *sum += s_;
                fold(min, lo, std::cmp::min);
                fold(max, hi, std::cmp::max);
            }
            Summary::Float { sum, min, max, nan } => {
                let f = match dtype {
                    DType::F16 => floats::<2>(bytes, |b| half::f16::from_le_bytes(b).to_f64()),
                    DType::BF16 => floats::<2>(bytes, |b| half::bf16::from_le_bytes(b).to_f64()),
                    DType::F32 => floats::<4>(bytes, |b| f64::from(f32::from_le_bytes(b))),
                    _ => floats::<8>(bytes, f64::from_le_bytes),
                };
                *sum += f.sum;
                fold(min, f.min, f64::min);
                fold(max, f.max, f64::max);
                *nan += f.nan;
            }
            Summary::Bool { trues } => {
                *trues += bytes.iter().map(|&b| u64::from(b != 0)).sum::<u64>();
            }
            Summary::Complex { re, im, nan } => {
                let (r, i, n) = match dtype {
                    DType::Complex64 => complex::<4>(bytes, |b| f64::from(f32::from_le_bytes(b))),
                    _ => complex::<8>(bytes, f64::from_le_bytes),
                };
                *re += r;
                *im += i;
                *nan += n;
            }
            Summary::String => {}
        }
        RecordKind::Tensor
    }
}

/// Slice equality without a call to `memcmp` for these few numbers.
#[inline]
fn same_dims(a: &[usize], b: &[usize]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

fn fold<T: Copy>(acc: &mut Option<T>, v: Option<T>, pick: fn(T, T) -> T) {
    if let Some(v) = v {
        *acc = Some(acc.map_or(v, |a| pick(a, v)));
    }
}

/// Sum, min, max of bytes as unsigned values, in one pass the compiler
/// vectorises: 32 lanes of minima and maxima, and sums of byte pairs in
/// 16-bit lanes of 64-bit words, flushed before they can overflow.
fn sum_u8(bytes: &[u8]) -> (u128, Option<u64>, Option<u64>) {
    const LANES: usize = 32;
    /// 128 blocks add at most 128 · 2 · 255 < 2^16 to a 16-bit lane.
    const FLUSH: usize = 128;
    const LOW: u64 = 0x00ff_00ff_00ff_00ff;
    if bytes.is_empty() {
        return (0, None, None);
    }
    let mut min = [u8::MAX; LANES];
    let mut max = [u8::MIN; LANES];
    let mut sum = 0u64;
    let whole = bytes.len() - bytes.len() % LANES;
    for run in bytes[..whole].chunks(LANES * FLUSH) {
        let mut acc = [0u64; LANES / 8];
        for block in run.chunks_exact(LANES) {
            for (a, word) in acc.iter_mut().zip(block.chunks_exact(8)) {
                let mut w = [0u8; 8];
                w.copy_from_slice(word);
                let w = u64::from_le_bytes(w);
                *a += (w & LOW) + ((w >> 8) & LOW);
            }
            for ((lo, hi), &b) in min.iter_mut().zip(max.iter_mut()).zip(block) {
                *lo = (*lo).min(b);
                *hi = (*hi).max(b);
            }
        }
        for a in acc {
            sum += (a & 0xffff) + ((a >> 16) & 0xffff) + ((a >> 32) & 0xffff) + (a >> 48);
        }
    }
    let mut lo = min.iter().copied().min().unwrap_or(u8::MAX);
    let mut hi = max.iter().copied().max().unwrap_or(u8::MIN);
    for &b in &bytes[whole..] {
        sum += u64::from(b);
        lo = lo.min(b);
        hi = hi.max(b);
    }
    (u128::from(sum), Some(u64::from(lo)), Some(u64::from(hi)))
}

/// Sum, min and max of little-endian integers of `N` bytes, widened to `T`.
fn ints<const N: usize, T>(
    bytes: &[u8],
    conv: impl Fn([u8; N]) -> T,
) -> (T::Sum, Option<T>, Option<T>)
where
    T: Widen,
{
    let mut sum = T::Sum::default();
    let mut min: Option<T> = None;
    let mut max: Option<T> = None;
    for c in bytes.chunks_exact(N) {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        let v = conv(a);
        sum = T::add(sum, v);
        min = Some(min.map_or(v, |m| m.min(v)));
        max = Some(max.map_or(v, |m| m.max(v)));
    }
    (sum, min, max)
}

/// Integers summed exactly in 128 bits.
trait Widen: Copy + Ord {
    type Sum: Default + Copy;
    fn add(sum: Self::Sum, v: Self) -> Self::Sum;
}

impl Widen for u64 {
    type Sum = u128;
    #[inline]
    fn add(sum: u128, v: u64) -> u128 {
        sum + u128::from(v)
    }
}

impl Widen for i64 {
    type Sum = i128;
    #[inline]
    fn add(sum: i128, v: i64) -> i128 {
        sum + i128::from(v)
    }
}

struct FloatTally {
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
    nan: u64,
}

fn floats<const N: usize>(bytes: &[u8], conv: impl Fn([u8; N]) -> f64) -> FloatTally {
    // Four lanes, branch-free: NaNs add nothing and lose every comparison.
    // The lanes are combined in a fixed order, so the sum is the same on
    // every run.
    const LANES: usize = 4;
    let mut sum = [0.0f64; LANES];
    let mut min = [f64::INFINITY; LANES];
    let mut max = [f64::NEG_INFINITY; LANES];
    let mut nan = 0u64;
    let mut step = |lane: usize, c: &[u8]| {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        let v = conv(a);
        let is_nan = v.is_nan();
        nan += u64::from(is_nan);
        sum[lane] += if is_nan { 0.0 } else { v };
        min[lane] = if v < min[lane] { v } else { min[lane] };
        max[lane] = if v > max[lane] { v } else { max[lane] };
    };
    let mut groups = bytes.chunks_exact(N * LANES);
    for g in &mut groups {
        for (lane, c) in g.chunks_exact(N).enumerate() {
            step(lane, c);
        }
    }
    for c in groups.remainder().chunks_exact(N) {
        step(0, c);
    }
    let seen = (bytes.len() / N) as u64 > nan;
    let lo = min
        .iter()
        .copied()
        .fold(f64::INFINITY, |a, b| if b < a { b } else { a });
    let hi = max
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, |a, b| if b > a { b } else { a });
    FloatTally {
        sum: (sum[0] + sum[1]) + (sum[2] + sum[3]),
        min: seen.then_some(lo),
        max: seen.then_some(hi),
        nan,
    }
}

fn complex<const N: usize>(bytes: &[u8], conv: impl Fn([u8; N]) -> f64) -> (f64, f64, u64) {
    let (mut re, mut im, mut nan) = (0.0, 0.0, 0u64);
    for pair in bytes.chunks_exact(2 * N) {
        let (mut a, mut b) = ([0u8; N], [0u8; N]);
        a.copy_from_slice(&pair[..N]);
        b.copy_from_slice(&pair[N..]);
        let (r, i) = (conv(a), conv(b));
        if r.is_nan() || i.is_nan() {
            nan += 1;
        } else {
            re += r;
            im += i;
        }
    }
    (re, im, nan)
}

/// The tensor of a payload laid out exactly as `tf.io.serialize_tensor`
/// writes a fixed-size dtype: `dtype`, `tensor_shape` (one `dim` with only a
/// `size` per dimension, empty for size 0), then `tensor_content` holding
/// every element (absent when there are none). Anything else — other
/// fields, other orders, typed values, strings, an invalid tensor — gives
/// `None`, and the general decoder (which accepts all of it, or says what is
/// wrong) runs instead. What this accepts, the general decoder decodes to
/// the same tensor; a test checks it on valid and damaged payloads.
fn canonical(payload: &[u8]) -> Option<TensorView<'_>> {
    fn varint(buf: &mut &[u8]) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = buf.split_first()?;
            *buf = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }
    fn field<'a>(buf: &mut &'a [u8], key: u8) -> Option<&'a [u8]> {
        let (&k, rest) = buf.split_first()?;
        if k != key {
            return None;
        }
        let mut rest = rest;
        let len = usize::try_from(varint(&mut rest)?).ok()?;
        let body = rest.get(..len)?;
        *buf = rest.get(len..)?;
        Some(body)
    }
    let mut p = payload;
    let (&0x08, mut rest) = p.split_first()? else {
        return None;
    };
    let code = i32::try_from(varint(&mut rest)?).ok()?;
    let dtype = DType::from_code(code).ok()?;
    dtype.size()?;
    p = rest;
    let mut shape = field(&mut p, 0x12)?;
    let mut dims = Dims::new();
    while !shape.is_empty() {
        let dim = field(&mut shape, 0x12)?;
        let size = if dim.is_empty() {
            0
        } else {
            let (&0x08, mut rest) = dim.split_first()? else {
                return None;
            };
            let size = varint(&mut rest)?;
            if !rest.is_empty() || size > i64::MAX as u64 {
                return None;
            }
            usize::try_from(size).ok()?
        };
        dims.push(size);
    }
    let content = if p.is_empty() {
        &[][..]
    } else {
        let content = field(&mut p, 0x22)?;
        if !p.is_empty() || content.is_empty() {
            return None;
        }
        content
    };
    TensorView::new(dtype, &dims, content).ok()
}

/// Bytes of consecutive records read and tallied as one piece.
const PIECE: u64 = 256 << 10;

/// Statistics of one file; compressed files are recognised by content.
/// `progress` is called with byte counts as records are tallied.
///
/// An uncompressed file with a `FILE.idx` sidecar is read through its
/// [`Index`] (a stale sidecar is detected and the file rescanned). Without
/// one, the file is cut into segments that start at checked frame
/// boundaries, walked in parallel; the walk from the start of the file is
/// authoritative, so the result is that of one sequential walk.
pub fn stats_file(path: impl AsRef<Path>, progress: &(dyn Fn(u64) + Sync)) -> Result<Stats> {
    let path = path.as_ref();
    let Some((file, len)) = open_plain_file(path)? else {
        let mut reader = Reader::open(path)?;
        return stats_reader(&mut reader, progress);
    };
    let result = if Index::sidecar_path(path).exists() {
        let index = Index::open(path)?;
        stats_indexed(&file, &index, progress)
    } else {
        let map = if len > 0 && len <= MAP_UP_TO {
            Mmap::map(&file, path).map_err(|e| Error::from(e).with_path(path))?
        } else {
            None
        };
        match map {
            Some(map) => {
                stats_segmented(Input::Mapped(&map), len, progress).map_err(|e| map.explain(e))
            }
            None => stats_segmented(Input::File(&file), len, progress),
        }
    };
    result.map_err(|e| e.with_path(path))
}

/// Statistics of an indexed file, pieces in parallel.
fn stats_indexed(file: &File, index: &Index, progress: &(dyn Fn(u64) + Sync)) -> Result<Stats> {
    // Cut the records into runs of about PIECE bytes.
    let mut pieces: Vec<(usize, usize)> = Vec::new();
    let mut start = 0usize;
    let mut bytes = 0u64;
    for (i, e) in index.iter().enumerate() {
        bytes += e.len;
        if bytes >= PIECE {
            pieces.push((start, i + 1));
            start = i + 1;
            bytes = 0;
        }
    }
    if start < index.len() {
        pieces.push((start, index.len()));
    }
    let tallies: Vec<Result<Tally>> = pieces
        .par_iter()
        .map(|&(from, to)| {
            let tally = FrameBuf::with_thread_local(|buf| tally_piece(file, index, from, to, buf));
            if let Ok(t) = &tally {
                progress(t.bytes);
            }
            tally
        })
        .collect();
    let mut stats = Stats::new();
    for tally in tallies {
        stats.absorb(tally?)?;
    }
    Ok(stats)
}

fn tally_piece(
    file: &File,
    index: &Index,
    from: usize,
    to: usize,
    buf: &mut FrameBuf,
) -> Result<Tally> {
    let (Some(first), Some(last)) = (index.get(from), index.get(to - 1)) else {
        return Ok(Tally::default());
    };
    let len = usize::try_from(last.offset + last.len - first.offset)
        .map_err(|_| Error::invalid_input("piece too large for this platform"))?;
    let bytes = buf
        .read_at(file, first.offset, len)
        .map_err(|e| Error::from(e).at_record(first.offset, from as u64))?;
    let mut tally = Tally::default();
    let mut pos = 0usize;
    for i in from..to {
        let offset = first.offset + pos as u64;
        let at = |e: Error| e.at_record(offset, i as u64);
        let rest = bytes.get(pos..).unwrap_or_default();
        let frame = framing::parse_frame(rest, FrameCheck::default())
            .map_err(at)?
            .ok_or_else(|| at(Error::invalid_input("the file ends before its index does")))?;
        tally.add_payload(frame.payload, frame.frame_len as u64);
        pos += frame.frame_len;
    }
    Ok(tally)
}

/// Files up to this size are memory-mapped rather than read: mapping a few
/// thousand pages costs less than copying them, while for large files the
/// page-table work costs more than the copy.
const MAP_UP_TO: u64 = 64 << 20;
/// Files below this size are walked by one thread.
const MIN_SEGMENT: u64 = 1 << 20;
/// What one thread found over one stretch of a file.
struct Segment {
    tally: Tally,
    walk: Walk,
}

/// Statistics of a plain file walked on several threads at once (see
/// [`segments`](crate::read::segments)): the same as one sequential walk.
fn stats_segmented(input: Input<'_>, len: u64, progress: &(dyn Fn(u64) + Sync)) -> Result<Stats> {
    let check = FrameCheck::default();
    let starts =
        segments::segment_starts(input, len, &segments::even_splits(len, MIN_SEGMENT), check);
    let ends: Vec<u64> = starts.iter().skip(1).copied().chain([len]).collect();
    let parts: Vec<Segment> = starts
        .par_iter()
        .zip(ends.par_iter())
        .map(|(&from, &to)| tally_segment(input, len, from, to, progress))
        .collect();

    let mut stats = Stats::new();
    let mut reached = 0u64;
    for (part, &start) in parts.into_iter().zip(&starts) {
        if start != reached {
            // A split landed on a false boundary (a payload holding a valid
            // frame): finish the file in order from where the walk got to.
            break;
        }
        reached = absorb_segment(&mut stats, part)?;
    }
    if reached < len {
        let part = tally_segment(input, len, reached, len, progress);
        absorb_segment(&mut stats, part)?;
    }
    Ok(stats)
}

fn absorb_segment(stats: &mut Stats, part: Segment) -> Result<u64> {
    if let Some(e) = part.walk.error {
        return Err(segments::reindex(e, stats.records));
    }
    stats.absorb(part.tally)?;
    Ok(part.walk.end)
}

/// Tallies the frames that start in `from..to`; the first bad record stops it.
fn tally_segment(
    input: Input<'_>,
    len: u64,
    from: u64,
    to: u64,
    progress: &(dyn Fn(u64) + Sync),
) -> Segment {
    let mut tally = Tally::default();
    let mut reported = 0u64;
    let walk = segments::walk(
        input,
        len,
        from,
        to,
        FrameCheck::default(),
        false,
        |frame, _, _| {
            tally.add_payload(frame.payload, frame.frame_len as u64);
            if tally.bytes - reported >= PIECE {
                progress(tally.bytes - reported);
                reported = tally.bytes;
            }
            Ok(())
        },
    );
    progress(tally.bytes - reported);
    Segment { tally, walk }
}

/// Records per chunk tallied in parallel when reading a stream.
const STREAM_CHUNK_BYTES: usize = 8 << 20;

/// Statistics of the remaining records of a reader (a stream, or a mapped
/// file), in order.
pub fn stats_reader(reader: &mut Reader, progress: &(dyn Fn(u64) + Sync)) -> Result<Stats> {
    let mut stats = Stats::new();
    let mut data: Vec<u8> = Vec::new();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut flush = |data: &mut Vec<u8>, spans: &mut Vec<(usize, usize)>| -> Result<()> {
        let tallies: Vec<Tally> = spans
            .par_chunks(64)
            .map(|chunk| {
                let mut tally = Tally::default();
                for &(start, end) in chunk {
                    let payload = data.get(start..end).unwrap_or_default();
                    tally.add_payload(payload, (payload.len() + FRAME_OVERHEAD) as u64);
                }
                progress(tally.bytes);
                tally
            })
            .collect();
        for t in tallies {
            stats.absorb(t)?;
        }
        data.clear();
        spans.clear();
        Ok(())
    };
    while let Some(record) = reader.next_record() {
        let record = record?;
        let start = data.len();
        data.extend_from_slice(&record.payload);
        spans.push((start, data.len()));
        if data.len() >= STREAM_CHUNK_BYTES {
            flush(&mut data, &mut spans)?;
        }
    }
    flush(&mut data, &mut spans)?;
    Ok(stats)
}

/// Statistics of several files together.
pub fn stats_files<P: AsRef<Path>>(paths: &[P], progress: &(dyn Fn(u64) + Sync)) -> Result<Stats> {
    let mut stats = Stats::new();
    for p in paths {
        stats.merge(&stats_file(p, progress)?)?;
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example::FeatureKind;
    use crate::tensor::Tensor;

    fn samples() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let tensors = vec![
            Tensor::from_slice(&[1.5f32, -2.0, 3.25], &[3]).unwrap(),
            Tensor::from_slice(&[7u8; 12], &[2, 3, 2]).unwrap(),
            Tensor::scalar(-5i64),
            Tensor::from_slice::<u16>(&[], &[4, 0]).unwrap(),
            Tensor::from_bools(&[true, false], &[2]).unwrap(),
            Tensor::from_slice(&[num_complex::Complex32::new(1.0, 2.0)], &[1, 1]).unwrap(),
            Tensor::from_slice(&[half::bf16::from_f32(2.5); 200], &[200]).unwrap(),
            Tensor::from_strings(&["a", "b"], &[2]).unwrap(),
        ];
        for t in &tensors {
            out.push(t.to_proto_bytes());
        }
        out
    }

    #[test]
    fn the_short_cut_agrees_with_the_decoder() {
        for payload in samples() {
            let general = TensorView::decode(&payload).unwrap();
            if general.dtype() != DType::String {
                assert_eq!(canonical(&payload).as_ref(), Some(&general));
            } else {
                assert!(canonical(&payload).is_none());
            }
            // Every single-byte change and every truncation: the short cut
            // declines or gives exactly what the decoder gives.
            for i in 0..payload.len() {
                for delta in [1u8, 0x80, 0xff, 0x07] {
                    let mut bad = payload.clone();
                    bad[i] = bad[i].wrapping_add(delta);
                    if let Some(t) = canonical(&bad) {
                        assert_eq!(Some(t), TensorView::decode(&bad).ok(), "byte {i} + {delta}");
                    }
                }
                if let Some(t) = canonical(&payload[..i]) {
                    assert_eq!(
                        Some(t),
                        TensorView::decode(&payload[..i]).ok(),
                        "cut at {i}"
                    );
                }
            }
        }
        // Typed values instead of content go to the decoder.
        let typed = [
            0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0x08, 0x01, 0x2a, 0x04, 0, 0, 0x80, 0x3f,
        ];
        assert!(canonical(&typed).is_none());
        let mut tally = Tally::default();
        assert_eq!(tally.add_payload(&typed, 0), RecordKind::Tensor);
        let mut stats = Stats::new();
        stats.absorb(tally).unwrap();
        assert_eq!(
            stats.dtypes[&DType::F32].summary,
            Summary::Float {
                sum: 1.0,
                min: Some(1.0),
                max: Some(1.0),
                nan: 0
            }
        );
    }

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
