//! Records decoded without the GIL, then turned into Python values.
//!
//! Decoding happens in two steps so that the expensive one can run in
//! parallel with the GIL released: [`decode`] parses a payload into an
//! owned [`Item`] (plain Rust data), and [`Item::into_py`] builds the NumPy
//! arrays, dicts and bytes with the GIL held.
//!
//! Knows nothing of files or of how the records were picked.

use numpy::PyArray1;
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use tfrec::example::{
    feature::Kind, ExampleView, Feature, Features, RecordKind, SequenceExample, SequenceExampleView,
};
use tfrec::{Error, Tensor, TensorView};

use crate::convert::view_to_numpy;
use crate::errors::IntoPy;

/// What a reader makes of each record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// Each record as [`RecordKind::detect`] finds it.
    Detect,
    /// A tensor, or an error.
    Tensor,
    /// A `tf.train.Example`, or an error.
    Example,
    /// A `tf.train.SequenceExample`, or an error.
    Sequence,
    /// The payload bytes.
    Raw,
}

impl Want {
    /// The `kind=` argument of `tfrec.Reader`.
    pub(crate) fn parse(kind: Option<&str>) -> PyResult<Want> {
        Ok(match kind {
            None | Some("auto") => Want::Detect,
            Some("tensor") => Want::Tensor,
            Some("example") => Want::Example,
            Some("sequence") | Some("sequence_example") => Want::Sequence,
            Some("raw") => Want::Raw,
            Some(other) => {
                return Err(PyValueError::new_err(format!(
                    "kind must be None, 'tensor', 'example', 'sequence' or 'raw', not {other:?}"
                )))
            }
        })
    }
}

/// One decoded record, owning its data.
#[derive(Debug)]
pub(crate) enum Item {
    Tensor(Tensor),
    Example(Features),
    Sequence(SequenceExample),
    Raw(Vec<u8>),
}

/// Decodes one payload as `want` says. Errors are not yet placed (no path,
/// offset or index): the caller knows where the record came from.
pub(crate) fn decode(payload: &[u8], want: Want) -> tfrec::Result<Item> {
    let want = match want {
        Want::Detect => match RecordKind::detect(payload) {
            RecordKind::Tensor => Want::Tensor,
            RecordKind::Example => Want::Example,
            RecordKind::SequenceExample => Want::Sequence,
            RecordKind::Raw => Want::Raw,
        },
        other => other,
    };
    Ok(match want {
        Want::Tensor => Item::Tensor(Tensor::decode(payload)?),
        Want::Example => Item::Example(ExampleView::parse(payload)?.features().to_owned()),
        Want::Sequence => Item::Sequence(SequenceExampleView::parse(payload)?.to_owned()),
        Want::Raw | Want::Detect => Item::Raw(payload.to_vec()),
    })
}

/// A record of a chunk, decoded as far as it can be without the GIL.
///
/// Tensors and raw payloads stay in the chunk's buffer (`start..end`) and
/// are copied once, into the NumPy array or `bytes`, when handed out; a
/// tensor there has already been checked to decode.
#[derive(Debug)]
pub(crate) enum Decoded {
    Item(Item),
    Tensor(usize, usize),
    Raw(usize, usize),
}

/// Decodes the payload at `start..end` of a chunk's buffer as `want` says,
/// with a failure placed at the record.
pub(crate) fn decode_in_chunk(
    chunk: &[u8],
    (start, end): (usize, usize),
    want: Want,
    path: &std::path::Path,
    (offset, index): (u64, u64),
) -> tfrec::Result<Decoded> {
    let payload = chunk.get(start..end).unwrap_or_default();
    let resolved = match want {
        // Whatever `detect` calls a tensor decodes.
        Want::Detect => match RecordKind::detect(payload) {
            RecordKind::Tensor => return Ok(Decoded::Tensor(start, end)),
            RecordKind::Raw => return Ok(Decoded::Raw(start, end)),
            RecordKind::Example => Want::Example,
            RecordKind::SequenceExample => Want::Sequence,
        },
        Want::Raw => return Ok(Decoded::Raw(start, end)),
        Want::Tensor => {
            let checked = TensorView::decode(payload).map(|_| Decoded::Tensor(start, end));
            return checked.map_err(|e| e.with_path(path).at_record(offset, index));
        }
        other => other,
    };
    decode_at(payload, resolved, path, offset, index).map(Decoded::Item)
}

impl Decoded {
    /// The Python value, reading tensors and raw payloads from `chunk`.
    pub(crate) fn into_py<'py>(self, py: Python<'py>, chunk: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        match self {
            Decoded::Item(item) => item.into_py(py),
            Decoded::Tensor(start, end) => {
                let payload = chunk.get(start..end).unwrap_or_default();
                view_to_numpy(py, &TensorView::decode(payload).py_err()?)
            }
            Decoded::Raw(start, end) => {
                Ok(PyBytes::new(py, chunk.get(start..end).unwrap_or_default()).into_any())
            }
        }
    }
}

/// [`decode`], with a failure placed at the record.
pub(crate) fn decode_at(
    payload: &[u8],
    want: Want,
    path: &std::path::Path,
    offset: u64,
    index: u64,
) -> tfrec::Result<Item> {
    decode(payload, want).map_err(|e: Error| e.with_path(path).at_record(offset, index))
}

impl Item {
    /// The Python value: an array, a dict, or bytes.
    pub(crate) fn into_py(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        match self {
            Item::Tensor(t) => view_to_numpy(py, &t.view()),
            Item::Example(features) => features_to_dict(py, &features).map(Bound::into_any),
            Item::Sequence(seq) => sequence_to_dict(py, &seq).map(Bound::into_any),
            Item::Raw(bytes) => Ok(PyBytes::new(py, &bytes).into_any()),
        }
    }
}

/// A feature's values as an array: int64, float32, or an object array of
/// bytes. A feature with no list set is an empty float32 array, as
/// TensorFlow's own JSON form shows it (`{}`) and parses it (no values).
pub(crate) fn feature_to_numpy<'py>(py: Python<'py>, feature: &Feature) -> Bound<'py, PyAny> {
    match &feature.kind {
        Some(Kind::Int64List(list)) => PyArray1::from_slice(py, &list.value).into_any(),
        Some(Kind::FloatList(list)) => PyArray1::from_slice(py, &list.value).into_any(),
        Some(Kind::BytesList(list)) => {
            let objects: Vec<Py<PyAny>> = list
                .value
                .iter()
                .map(|b| PyBytes::new(py, b).into_any().unbind())
                .collect();
            PyArray1::from_vec(py, objects).into_any()
        }
        None => PyArray1::<f32>::zeros(py, [0], false).into_any(),
    }
}

pub(crate) fn features_to_dict<'py>(
    py: Python<'py>,
    features: &Features,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (name, feature) in &features.feature {
        dict.set_item(name, feature_to_numpy(py, feature))?;
    }
    Ok(dict)
}

fn sequence_to_dict<'py>(py: Python<'py>, seq: &SequenceExample) -> PyResult<Bound<'py, PyDict>> {
    let context = match &seq.context {
        Some(features) => features_to_dict(py, features)?,
        None => PyDict::new(py),
    };
    let lists = PyDict::new(py);
    if let Some(feature_lists) = &seq.feature_lists {
        for (name, list) in &feature_lists.feature_list {
            let steps = PyList::empty(py);
            for feature in &list.feature {
                steps.append(feature_to_numpy(py, feature))?;
            }
            lists.set_item(name, steps)?;
        }
    }
    let dict = PyDict::new(py);
    dict.set_item("context", context)?;
    dict.set_item("feature_lists", lists)?;
    Ok(dict)
}

/// Record `i` of a file of `len` records, negative `i` counting from the end
/// (`tfrec::partition::resolve_index`).
pub(crate) fn resolve(i: isize, len: usize) -> PyResult<usize> {
    tfrec::partition::resolve_index(i as i64, len as u64)
        .and_then(|i| usize::try_from(i).ok())
        .ok_or_else(|| {
            PyIndexError::new_err(format!(
                "record index {i} out of range for a file of {len} records"
            ))
        })
}
