//! Batches to NumPy arrays without copying them.
//!
//! A batch's buffer comes from the dataset's pool and goes back to it when
//! the batch is dropped. Each array over it keeps a [`BatchBuffer`] as its
//! base object: the batch lives exactly as long as the last array (or view
//! of one) over it, and only then does its buffer return to the pool to be
//! filled again. Arrays are never views into a mapped file.
//!
//! The pool's buffers are aligned for every element type (`Vec<u8>` from
//! the allocator, 16-byte aligned; parsed columns are kept in 8-byte
//! words); should one not be, the array is copied instead, as are bool and
//! string values, which NumPy stores differently.
//!
//! Knows nothing of files, ordering or parsing: it only hands finished
//! batches to NumPy.

use numpy::ndarray::{ArrayView, IxDyn};
use numpy::{Element as NpElement, PyArray, PyArray1, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tfrec::example::Column;
use tfrec::pipeline::{Batch, ExampleBatch};
use tfrec::{bf16, f16, Complex32, Complex64, DType, Element};

use crate::convert::view_to_numpy;

/// What keeps a batch's buffer alive while arrays over it exist.
enum Held {
    Tensor(Batch),
    Example(ExampleBatch),
}

/// The owner of a batch's buffer, set as the base object of the arrays
/// over it.
#[pyclass(module = "tfrec._tfrec", name = "_BatchBuffer", frozen)]
pub(crate) struct BatchBuffer {
    held: Held,
}

#[pymethods]
impl BatchBuffer {
    /// Records in the batch.
    fn __len__(&self) -> usize {
        match &self.held {
            Held::Tensor(b) => b.len(),
            Held::Example(b) => b.len(),
        }
    }
}

/// A stacked batch as an array `[B, ...]` over its buffer.
pub(crate) fn batch_to_numpy(py: Python<'_>, batch: Batch) -> PyResult<Bound<'_, PyAny>> {
    let (Some(dtype), Some(shape)) = (batch.dtype(), batch.shape().map(<[usize]>::to_vec)) else {
        return Err(pyo3::exceptions::PyTypeError::new_err(
            "internal: a ragged batch has no single array",
        ));
    };
    if batch.bytes().is_none() || !zero_copy_dtype(dtype) {
        let view = batch.view().ok_or_else(|| {
            pyo3::exceptions::PyRuntimeError::new_err("internal: a stacked batch has no view")
        })?;
        return view_to_numpy(py, &view);
    }
    let owner = Bound::new(
        py,
        BatchBuffer {
            held: Held::Tensor(batch),
        },
    )?;
    let bytes = match &owner.get().held {
        Held::Tensor(b) => b.bytes().unwrap_or_default(),
        Held::Example(_) => &[],
    };
    over(py, &owner, dtype, bytes, &shape)
}

/// A batch of parsed examples as a dict of feature name to array: dense
/// columns as `[B, ...shape]` arrays, variable-length ones as
/// `ragged(values, row_splits)`.
pub(crate) fn example_batch_to_dict<'py>(
    py: Python<'py>,
    batch: ExampleBatch,
    ragged: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let owner = Bound::new(
        py,
        BatchBuffer {
            held: Held::Example(batch),
        },
    )?;
    let out = PyDict::new(py);
    let Held::Example(batch) = &owner.get().held else {
        return Ok(out.into_any());
    };
    for column in batch.parsed().columns() {
        let values = column_values(py, &owner, &column)?;
        let value = if column.is_ragged() {
            let splits = PyArray1::from_slice(py, column.row_splits().unwrap_or_default());
            ragged.call1((values, splits))?
        } else {
            values
        };
        out.set_item(column.name(), value)?;
    }
    Ok(out.into_any())
}

/// A column's values: `[B, ...shape]` for a dense column, every value one
/// after another for a variable-length one. Over the batch buffer when
/// NumPy takes the bytes as they are; strings (as `bytes` objects) and
/// bools are copied.
fn column_values<'py>(
    py: Python<'py>,
    owner: &Bound<'py, BatchBuffer>,
    column: &Column<'_>,
) -> PyResult<Bound<'py, PyAny>> {
    let dtype = column.dtype();
    let bytes = column.bytes();
    if !column.is_ragged() {
        return match bytes {
            Some(bytes) if zero_copy_dtype(dtype) => over(py, owner, dtype, bytes, column.shape()),
            _ => {
                let view = column.view().ok_or_else(|| {
                    pyo3::exceptions::PyRuntimeError::new_err(
                        "internal: a dense column has no view",
                    )
                })?;
                view_to_numpy(py, &view)
            }
        };
    }
    if let Some(strings) = column.strings() {
        let objects: Vec<Py<PyAny>> = strings
            .iter()
            .map(|s| pyo3::types::PyBytes::new(py, s).into_any().unbind())
            .collect();
        return Ok(PyArray1::from_vec(py, objects).into_any());
    }
    let bytes = bytes.unwrap_or_default();
    let size = dtype.size().unwrap_or(1).max(1);
    over(py, owner, dtype, bytes, &[bytes.len() / size])
}

/// Dtypes whose batch bytes NumPy takes as they are.
fn zero_copy_dtype(dtype: DType) -> bool {
    cfg!(target_endian = "little") && !matches!(dtype, DType::Bool | DType::String)
}

/// An array of `shape` over `bytes`, which `owner` keeps alive.
fn over<'py>(
    py: Python<'py>,
    owner: &Bound<'py, BatchBuffer>,
    dtype: DType,
    bytes: &[u8],
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    match dtype {
        DType::F16 => typed::<f16>(py, owner, bytes, shape),
        DType::BF16 => typed::<bf16>(py, owner, bytes, shape),
        DType::F32 => typed::<f32>(py, owner, bytes, shape),
        DType::F64 => typed::<f64>(py, owner, bytes, shape),
        DType::I8 => typed::<i8>(py, owner, bytes, shape),
        DType::I16 => typed::<i16>(py, owner, bytes, shape),
        DType::I32 => typed::<i32>(py, owner, bytes, shape),
        DType::I64 => typed::<i64>(py, owner, bytes, shape),
        DType::U8 => typed::<u8>(py, owner, bytes, shape),
        DType::U16 => typed::<u16>(py, owner, bytes, shape),
        DType::U32 => typed::<u32>(py, owner, bytes, shape),
        DType::U64 => typed::<u64>(py, owner, bytes, shape),
        DType::Complex64 => typed::<Complex32>(py, owner, bytes, shape),
        DType::Complex128 => typed::<Complex64>(py, owner, bytes, shape),
        other => Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "internal: dtype {other} is not handed over without a copy"
        ))),
    }
}

fn typed<'py, T: Element + NpElement>(
    py: Python<'py>,
    owner: &Bound<'py, BatchBuffer>,
    bytes: &[u8],
    shape: &[usize],
) -> PyResult<Bound<'py, PyAny>> {
    let Ok(values) = bytemuck::try_cast_slice::<u8, T>(bytes) else {
        // Misaligned (or a length that is no multiple of the element size):
        // an owned, aligned copy rather than an array torch cannot use.
        let values: Vec<T> = bytemuck::pod_collect_to_vec(bytes);
        let flat = PyArray1::from_vec(py, values);
        return Ok(flat.reshape(shape)?.into_any());
    };
    let view = ArrayView::from_shape(IxDyn(shape), values)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("batch shape: {e}")))?;
    // SAFETY: `owner` holds the batch that `values` lies in and becomes the
    // array's base object, so the buffer outlives the array; the batch is
    // frozen inside `owner` (nothing resizes, refills or frees the buffer
    // until the last array over it is gone and `owner` is dropped, which
    // returns the buffer to the pool). NumPy may write into the array: the
    // library never reads those bytes again before it takes the buffer
    // back by value and overwrites it.
    let array = unsafe { PyArray::<T, IxDyn>::borrow_from_array(&view, owner.clone().into_any()) };
    Ok(array.into_any())
}
