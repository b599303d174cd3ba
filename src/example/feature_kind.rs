//! [`FeatureKind`]: which list a `tf.train.Feature` holds, shared by the
//! views, the spec parser, JSON and statistics.
//!
//! Knows the `kind` oneof of `Feature` and its field numbers; knows nothing
//! of parsing, files, threads or TFRecord framing.

use std::fmt;

use crate::proto::messages::feature::Kind;
use crate::proto::messages::Feature;

/// Which list a feature holds: the `kind` oneof of `tf.train.Feature`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeatureKind {
    /// No kind is set (`tf.train.Feature()`); the feature has no values.
    None,
    /// `bytes_list`: byte strings.
    Bytes,
    /// `float_list`: 32-bit floats.
    Float,
    /// `int64_list`: 64-bit signed integers.
    Int64,
}

impl FeatureKind {
    /// The oneof field's name: `bytes_list`, `float_list` or `int64_list`,
    /// or `none` when no kind is set.
    ///
    /// ```
    /// use tfrec::example::FeatureKind;
    /// assert_eq!(FeatureKind::Int64.name(), "int64_list");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            FeatureKind::None => "none",
            FeatureKind::Bytes => "bytes_list",
            FeatureKind::Float => "float_list",
            FeatureKind::Int64 => "int64_list",
        }
    }

    /// The kind of a prost [`Feature`].
    pub fn of(feature: &Feature) -> FeatureKind {
        match feature.kind {
            None => FeatureKind::None,
            Some(Kind::BytesList(_)) => FeatureKind::Bytes,
            Some(Kind::FloatList(_)) => FeatureKind::Float,
            Some(Kind::Int64List(_)) => FeatureKind::Int64,
        }
    }

    /// The kind whose list is field `number` of a `Feature` message.
    pub(crate) fn from_field(number: u32) -> Option<FeatureKind> {
        match number {
            1 => Some(FeatureKind::Bytes),
            2 => Some(FeatureKind::Float),
            3 => Some(FeatureKind::Int64),
            _ => None,
        }
    }

    /// The field number of the kind's list in a `Feature` message (0 for
    /// no kind).
    pub(crate) fn field(self) -> u32 {
        match self {
            FeatureKind::None => 0,
            FeatureKind::Bytes => 1,
            FeatureKind::Float => 2,
            FeatureKind::Int64 => 3,
        }
    }
}

impl fmt::Display for FeatureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
