//! The JSON form of `Example`, `SequenceExample` and raw records, as
//! `tfrec cat` prints them and `tfrec pack` reads them.
//!
//! ```text
//! {"features": {"label": {"int64_list": [1]},
//!               "score": {"float_list": [0.5, "nan", "-inf"]},
//!               "id":    {"bytes_list": ["aW1nLTc="]},
//!               "none":  {}}}
//! {"context": {"length": {"int64_list": [2]}},
//!  "feature_lists": {"tokens": [{"int64_list": [5, 6]}, {"int64_list": [7]}]}}
//! {"raw": "iVBORw0KGgo="}
//! ```
//!
//! - An `Example` is `{"features": {name: feature, ...}}`.
//! - A feature is `{"int64_list": [...]}`, `{"float_list": [...]}`,
//!   `{"bytes_list": [...]}`, or `{}` when no kind is set.
//! - Integers are JSON integers, exact over the whole `int64` range.
//! - Floats are printed in the shortest form that reads back as the same
//!   `f32` (`0.1`, `1e-7`, `-0.0`) through a reader that parses the nearest
//!   `f64` and rounds it to `f32`, as this module, Python and TensorFlow
//!   do (for a few values that is the `f64` form: `7.038531e-26` prints as
//!   `7.038530691851209e-26`); NaN and the infinities are the strings
//!   `"nan"`, `"inf"` and `"-inf"` (every NaN prints as `"nan"` and reads
//!   back as the canonical quiet NaN, `0x7fc00000`).
//! - Byte strings are standard, padded base64.
//! - A `SequenceExample` is `{"context": features, "feature_lists":
//!   {name: [feature, ...], ...}}`; a part the message does not have is
//!   left out, so that reading the JSON back gives the same bytes.
//! - Records that are neither tensors nor examples are `{"raw": base64}`.
//!
//! Writers print names in the order the payload has them; readers accept
//! keys in any order, and ignore keys they do not know at the top level
//! (such as `"file"`, `"index"` and `"offset"`). Within a feature, unknown
//! keys are errors. An `Example` whose `features` field is absent prints
//! as `{"features": {}}` and reads back with an empty `features` (two
//! bytes, `0a 00`, where the original had none): the only case in which a
//! round trip changes bytes, and one
//! [`RecordKind::detect`](crate::example::RecordKind::detect) never gives
//! (it calls the empty payload raw). [`example_from_json`] reads an object
//! without `"features"` as that featureless `Example`, but
//! [`JsonRecord::from_json`], which must tell kinds apart by their keys,
//! does not.
//!
//! The parts: `write` prints views as JSON lines, `read` builds owned
//! messages from JSON values, `record` tells a line's kind by its keys.
//! Knows nothing of files, threads or TFRecord framing: lines go to a
//! writer and come in as JSON values.

mod read;
mod record;
mod write;

pub use read::{example_from_json, raw_from_json, sequence_example_from_json};
pub use record::JsonRecord;
pub use write::{
    write_detected_json, write_example_json, write_raw_json, write_sequence_example_json,
};
