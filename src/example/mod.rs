//! `tf.train.Example` and `tf.train.SequenceExample` records.
//!
//! Most TFRecord files hold `Example`s: maps from feature names to lists of
//! byte strings, floats or 64-bit integers. This module reads and writes
//! them in two ways:
//!
//! - **Views** ([`ExampleView`], [`SequenceExampleView`]) parse a payload in
//!   place: values are read from the record's bytes when asked, byte
//!   strings are borrowed, floats are a borrowed slice when aligned.
//! - **Owned messages** ([`Example`], [`SequenceExample`], the prost types
//!   of [`crate::proto::messages`]) with builder helpers, and [`encode`],
//!   which serializes them byte for byte as TensorFlow does with
//!   deterministic serialization.
//!
//! [`RecordKind::detect`] tells tensors, examples and other records apart,
//! and [`json`] is the JSON form `tfrec cat` prints and `tfrec pack` reads.
//!
//! This file only gathers the parts and re-exports their public items; the
//! parts import one another directly, never through it. Nothing here knows
//! of files, threads or TFRecord framing: payloads come in as byte slices
//! (the readers and writers live in [`crate::read`] and [`crate::write`]).
//!
//! ```
//! use tfrec::example::{Example, ExampleView, RecordKind};
//! use tfrec::{Reader, Writer};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("train.tfrecord");
//! let mut writer = Writer::create(&path)?;
//! for i in 0..3 {
//!     let ex = Example::default()
//!         .int64("label", [i % 2])
//!         .float("pixels", [0.0, 0.5, 1.0])
//!         .bytes("id", [format!("img-{i}")]);
//!     writer.write_example(&ex)?;
//! }
//! writer.finish()?;
//!
//! let mut reader = Reader::open(&path)?;
//! let mut labels = Vec::new();
//! for record in reader.records() {
//!     let record = record?;
//!     assert_eq!(RecordKind::detect(&record.payload), RecordKind::Example);
//!     let ex = ExampleView::parse(&record.payload)?; // borrows the mapped bytes
//!     labels.extend(ex.get("label").and_then(|f| f.int64_list()).into_iter().flatten());
//! }
//! assert_eq!(labels, [0, 1, 0]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod detect;
mod feature_kind;
mod file_kind;
pub mod json;
mod owned;
mod spec;
#[cfg(test)]
mod testing;
mod view;
mod wire;

pub use detect::RecordKind;
pub use feature_kind::FeatureKind;
pub(crate) use file_kind::misfit_error;
pub use file_kind::{check, fits, KindVote};
pub use owned::{encode, encode_with, Deterministic, MapOrder};
pub use spec::{Column, DefaultValue, ParseSpec, Parsed, ParsedBatch, SparseTensor, Strings};
pub use view::{
    BytesValues, ExampleView, FeatureListIter, FeatureListView, FeatureListsIter, FeatureListsView,
    FeatureView, FeaturesIter, FeaturesView, FloatValues, Int64Values, SequenceExampleView,
};

pub use crate::proto::messages::feature;
pub use crate::proto::messages::{
    BytesList, Example, Feature, FeatureList, FeatureLists, Features, FloatList, Int64List,
    SequenceExample,
};
