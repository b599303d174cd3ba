//! [`DefaultValue`]: the values a fixed feature takes in a record that
//! lacks it, and their conversion to the feature's dtype.
//!
//! Knows dtypes and values; knows nothing of specs, parsing, `Example`
//! bytes, files, threads or TFRecord framing.

use crate::dtype::DType;

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
    pub(super) fn convert(&self, dtype: DType) -> Option<DefaultValue> {
        match (self, dtype) {
            (DefaultValue::I64(v), DType::F32) => {
                Some(DefaultValue::F32(v.iter().map(|&x| x as f32).collect()))
            }
            (d, dtype) if d.dtype() == dtype => Some(d.clone()),
            _ => None,
        }
    }

    /// Little-endian element bytes of numeric values.
    pub(super) fn le_bytes(&self) -> Vec<u8> {
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
