//! Statistics over the records of TFRecord files: record and byte counts,
//! per dtype the tensors, elements, sum, minimum and maximum, and a
//! histogram of shapes; for files that hold other records too, the records
//! of each kind and, per feature name of `Example`s and `SequenceExample`s,
//! its kind, how many records carry it and how many values it has.
//!
//! Each record's kind is told by
//! [`RecordKind::detect`](crate::example::RecordKind::detect): a record that is
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
//! Uncompressed files are read through their [`Index`](crate::index::Index): consecutive records
//! are grouped into pieces of about 256 KiB, each piece read with one
//! positioned read and its records checked (both CRCs), decoded and tallied
//! in parallel on rayon's pool. Compressed files and other streams are read
//! in order and tallied in parallel in chunks.
//!
//! This file holds no code; it names the parts, each of which knows
//! nothing of the others' concerns: `summary` (one dtype's sums), `features` and `sizes`
//! (what non-tensor records and payload sizes add), `tally` (the
//! per-record work), `totals` ([`Stats`] itself), `walk` (files, streams
//! and threads) and `report` (JSON and text).
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

mod features;
mod report;
mod sizes;
mod summary;
mod tally;
mod totals;
mod walk;

pub use features::{FeatureKinds, FeatureListStats, FeatureStats, KindCounts};
pub use report::shape_key;
pub use sizes::SizeStats;
pub use summary::{DTypeStats, Summary};
pub use totals::Stats;
pub use walk::{stats_file, stats_files, stats_reader};
