//! `serialize_tensor` and `parse_tensor`.
//!
//! Python normalizes whatever it is given (NumPy arrays of any layout and
//! byte order, torch tensors, scalars, objects with `__array__` or
//! `__dlpack__`) into a C-contiguous little-endian array and hands over its
//! bytes as a flat `uint8` view with the TensorFlow dtype code and the
//! shape; strings arrive as a list of `bytes`. This module only encodes
//! through the library's `TensorView`, and decodes.
//!
//! Knows nothing of files or Examples. The dtype codes are the library's
//! (`_dtype_codes` hands Python the table).

use std::borrow::Cow;

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tfrec::{DType, Tensor, TensorView};

use crate::convert::view_to_numpy;
use crate::errors::IntoPy;

/// Payloads at least this long are decoded with the GIL released.
const DETACH_BYTES: usize = 1 << 16;

/// Arrays at least this large are encoded with the GIL released. Their
/// memory is read without the GIL as NumPy's own copies read it: the
/// readonly borrow keeps the array alive and unresizable meanwhile.
pub(crate) const ENCODE_DETACH_BYTES: usize = 1 << 20;

/// `view` serialized into a new `bytes`, copying without the GIL when large.
fn serialized<'py>(py: Python<'py>, view: &TensorView<'_>) -> PyResult<Bound<'py, PyBytes>> {
    let large = view.bytes().map_or(0, <[u8]>::len) >= ENCODE_DETACH_BYTES
        || view.num_elements() >= ENCODE_DETACH_BYTES / 8;
    if !large {
        return Ok(PyBytes::new(py, &view.to_proto_bytes()));
    }
    let encoded = py.detach(|| view.to_proto_bytes());
    // The new object is not visible to any other code until it is returned.
    PyBytes::new_with(py, encoded.len(), |buf| {
        py.detach(|| buf.copy_from_slice(&encoded));
        Ok(())
    })
}

/// A view over `data`, the raw little-endian bytes of a C-contiguous array.
pub(crate) fn array_view<'a>(
    dtype: i32,
    shape: &[usize],
    data: &'a [u8],
) -> PyResult<TensorView<'a>> {
    let dtype = DType::from_code(dtype).py_err()?;
    TensorView::new(dtype, shape, Cow::Borrowed(data)).py_err()
}

/// A string tensor over `values`, in row-major order.
pub(crate) fn strings_view<'a>(shape: &[usize], values: &'a [Vec<u8>]) -> PyResult<TensorView<'a>> {
    let strings = values.iter().map(|v| Cow::Borrowed(v.as_slice())).collect();
    TensorView::from_strings(shape, strings).py_err()
}

/// Serializes an array given as TensorFlow dtype code, shape and raw bytes.
#[pyfunction]
pub(crate) fn _serialize_array<'py>(
    py: Python<'py>,
    dtype: i32,
    shape: Vec<usize>,
    data: PyReadonlyArray1<'py, u8>,
) -> PyResult<Bound<'py, PyBytes>> {
    let view = array_view(dtype, &shape, data.as_slice()?)?;
    serialized(py, &view)
}

/// Serializes a string tensor given as shape and row-major `bytes` values.
#[pyfunction]
pub(crate) fn _serialize_strings<'py>(
    py: Python<'py>,
    shape: Vec<usize>,
    values: Vec<Vec<u8>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let view = strings_view(&shape, &values)?;
    serialized(py, &view)
}

/// Parses a serialized `TensorProto` into an array of its dtype and shape.
#[pyfunction]
pub(crate) fn _parse_tensor<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    if data.len() < DETACH_BYTES {
        let view = TensorView::decode(data).py_err()?;
        return view_to_numpy(py, &view);
    }
    let tensor = py.detach(|| Tensor::decode(data)).py_err()?;
    view_to_numpy(py, &tensor.view())
}

/// `(name, TensorFlow DataType code)` of every dtype the library handles,
/// names as `tf.DType.name` gives them (`"float32"`, `"bfloat16"`,
/// `"string"`, ...): the package's one table of dtype codes.
#[pyfunction]
pub(crate) fn _dtype_codes() -> Vec<(&'static str, i32)> {
    DType::ALL.iter().map(|d| (d.name(), d.code())).collect()
}
