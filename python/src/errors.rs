//! One mapping from the library's errors to the package's exceptions.
//!
//! The exception classes are defined in Python (`tfrec._errors`) so that
//! they carry attributes and pickle; this module picks the class for each
//! [`ErrorKind`] in one exhaustive match and fills in `path`, `offset`,
//! `index` and `kind`.
//!
//! Knows nothing of files or records beyond what an error carries.

use std::io;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tfrec::{Error, ErrorKind};

/// The name of the `tfrec._errors` class an error is raised as.
fn class_name(err: &Error) -> &'static str {
    match err.kind() {
        ErrorKind::Io => match err.io_error().map(io::Error::kind) {
            Some(io::ErrorKind::NotFound) => "TFRecordNotFoundError",
            Some(io::ErrorKind::PermissionDenied) => "TFRecordPermissionError",
            Some(io::ErrorKind::TimedOut) => "TFRecordTimeoutError",
            Some(io::ErrorKind::UnexpectedEof) => "DataLossError",
            _ => "TFRecordIOError",
        },
        ErrorKind::TruncatedRecord { .. }
        | ErrorKind::CorruptLength { .. }
        | ErrorKind::CorruptData { .. }
        | ErrorKind::RecordTooLarge { .. } => "DataLossError",
        ErrorKind::TooManySkipped { .. } => "TooManySkippedError",
        ErrorKind::InvalidTensor { .. } => "InvalidTensorError",
        ErrorKind::UnsupportedDType { .. } => "UnsupportedDTypeError",
        ErrorKind::InvalidExample { .. } => "InvalidExampleError",
        ErrorKind::InvalidInput { .. } => "InvalidInputError",
        // ErrorKind is non-exhaustive: a kind added to the library later is
        // still a tfrec.Error until it is given its own class here.
        _ => "Error",
    }
}

/// A library error of kind `InvalidInput` (raised as
/// `tfrec.InvalidInputError`), for misuse the binding detects itself.
pub(crate) fn invalid_input(reason: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidInput {
        reason: reason.into(),
    })
}

/// Converts a library error into the matching `tfrec` exception.
pub(crate) fn to_pyerr(err: Error) -> PyErr {
    Python::attach(|py| match build(py, &err) {
        Ok(e) => e,
        // Building the exception failed (the module could not be imported
        // during interpreter shutdown, say): still raise something sensible.
        Err(_) => PyRuntimeError::new_err(err.to_string()),
    })
}

fn build(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let module = py.import("tfrec._errors")?;
    let class = module.getattr(class_name(err))?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("path", err.path().map(|p| p.to_string_lossy().into_owned()))?;
    kwargs.set_item("offset", err.offset())?;
    kwargs.set_item("index", err.record_index())?;
    kwargs.set_item("kind", err.kind().name())?;
    if matches!(err.kind(), ErrorKind::Io) {
        if let Some(errno) = err.io_error().and_then(io::Error::raw_os_error) {
            kwargs.set_item("errno", errno)?;
        }
    }
    let exc = class.call((err.to_string(),), Some(&kwargs))?;
    Ok(PyErr::from_value(exc))
}

/// `?` on library results inside `#[pyfunction]`s and `#[pymethods]`.
pub(crate) trait IntoPy<T> {
    /// The result with a library error turned into a Python exception.
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for tfrec::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_pyerr)
    }
}
