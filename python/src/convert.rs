//! Tensors to NumPy arrays.
//!
//! Every array handed to Python owns its memory: allocated by NumPy and
//! filled with a copy (so it is aligned for its dtype, which torch
//! needs), never a view into a mapped file that could be unmapped or
//! truncated under it.
//!
//! Knows nothing of files, batches or datasets.

use numpy::{Element as NpElement, PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tfrec::{bf16, f16, Complex32, Complex64, DType, Element, TensorView};

use crate::errors::IntoPy;

/// A decoded tensor as an owned `numpy.ndarray` of its dtype and shape.
///
/// bfloat16 comes out as `ml_dtypes.bfloat16`, strings as an object array
/// of `bytes`.
pub(crate) fn view_to_numpy<'py>(
    py: Python<'py>,
    view: &TensorView<'_>,
) -> PyResult<Bound<'py, PyAny>> {
    let shape = view.shape();
    match view.dtype() {
        DType::F16 => typed::<f16>(py, view),
        DType::BF16 => typed::<bf16>(py, view),
        DType::F32 => typed::<f32>(py, view),
        DType::F64 => typed::<f64>(py, view),
        DType::I8 => typed::<i8>(py, view),
        DType::I16 => typed::<i16>(py, view),
        DType::I32 => typed::<i32>(py, view),
        DType::I64 => typed::<i64>(py, view),
        DType::U8 => typed::<u8>(py, view),
        DType::U16 => typed::<u16>(py, view),
        DType::U32 => typed::<u32>(py, view),
        DType::U64 => typed::<u64>(py, view),
        DType::Complex64 => typed::<Complex32>(py, view),
        DType::Complex128 => typed::<Complex64>(py, view),
        DType::Bool => {
            let values = view.to_bools().py_err()?;
            reshape(PyArray1::from_slice(py, &values), shape)
        }
        DType::String => {
            let strings = view.strings().into_iter().flatten();
            let objects: Vec<Py<PyAny>> = strings
                .map(|s| PyBytes::new(py, s).into_any().unbind())
                .collect();
            reshape(PyArray1::from_vec(py, objects), shape)
        }
        other => Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "no NumPy form for dtype {other}"
        ))),
    }
}

fn typed<'py, T: Element + NpElement>(
    py: Python<'py>,
    view: &TensorView<'_>,
) -> PyResult<Bound<'py, PyAny>> {
    // Borrowed when the bytes are aligned; NumPy allocates the array and
    // copies once, which leaves no owner object behind the array.
    let values = view.values::<T>().py_err()?;
    reshape(PyArray1::from_slice(py, &values), view.shape())
}

fn reshape<'py, T: NpElement>(
    flat: Bound<'py, PyArray1<T>>,
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    if shape.len() == 1 {
        return Ok(flat.into_any());
    }
    Ok(flat.reshape(shape)?.into_any())
}
