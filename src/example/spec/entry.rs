//! One feature of a spec ([`Entry`]): its name, dtype, shape and default,
//! checked when the spec is built, with the sizes the batch parser needs.
//!
//! Knows dtypes, shapes and defaults; knows nothing of `Example` bytes, of
//! the batch's buffers, files, threads or TFRecord framing.

use super::default::DefaultValue;
use crate::dtype::DType;
use crate::error::Error;
use crate::example::feature_kind::FeatureKind;
use crate::tensor::{num_elements, Dims};

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
    pub(super) key: u64,
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
    pub(super) default_bytes: Vec<u8>,
    pub(super) default_string_bytes: usize,
}

impl Entry {
    /// Whether the values go into one stacked buffer of fixed-size slots.
    pub(crate) fn is_stacked(&self) -> bool {
        self.kind != EntryKind::VarLen && self.dtype != DType::String
    }

    /// Whether values of varying size are gathered in a second pass.
    pub(super) fn is_gathered(&self) -> bool {
        self.kind == EntryKind::VarLen || self.dtype == DType::String
    }

    pub(super) fn list_kind(&self) -> FeatureKind {
        match self.dtype {
            DType::F32 => FeatureKind::Float,
            DType::I64 => FeatureKind::Int64,
            _ => FeatureKind::Bytes,
        }
    }

    pub(super) fn fail(&self, what: impl std::fmt::Display) -> Error {
        Error::invalid_example(format!("feature {:?}: {what}", self.name))
    }

    /// The error for a feature of another kind than the spec's dtype.
    pub(super) fn wrong_kind(&self, found: FeatureKind) -> Error {
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

/// The entry for a feature added to a spec holding `existing`, or why the
/// feature cannot be one.
pub(super) fn make_entry(
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
        key: name_key(name.as_bytes()),
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

/// A name's first 8 bytes (zero-padded) as a word, to compare names
/// without a call to `memcmp`.
pub(super) fn name_key(name: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let n = name.len().min(8);
    if let (Some(dst), Some(src)) = (word.get_mut(..n), name.get(..n)) {
        dst.copy_from_slice(src);
    }
    u64::from_le_bytes(word)
}
