//! The library's splitting and numbering of records (`tfrec::partition`)
//! for the package's distributed readers (`tfrec.ray` read tasks,
//! `tfrec.spark` partitions) and random-access sources (`tfrec.grain`).
//!
//! Translation only: Python numbers and offset arrays in, the library's
//! pieces, ranges and record places out. No arithmetic here that the
//! library lacks; nothing here opens a file.

use numpy::PyReadonlyArray1;
use pyo3::exceptions::{PyIndexError, PyOverflowError, PyValueError};
use pyo3::prelude::*;
use tfrec::partition::{self, FileLayout, RecordNumbering};

use crate::errors::IntoPy;

/// A file as a read plan gives it: its frame offsets then its length
/// (`file_offsets`), or the byte size of a file read as a stream.
#[derive(FromPyObject)]
pub(crate) enum LayoutArg<'py> {
    Frames(PyReadonlyArray1<'py, u64>),
    Stream(u64),
}

/// Runs `f` over the files as the library's layouts.
fn with_layouts<T>(files: &[LayoutArg<'_>], f: impl FnOnce(&[FileLayout<'_>]) -> T) -> PyResult<T> {
    let layouts = files
        .iter()
        .map(|file| match file {
            LayoutArg::Frames(offsets) => offsets
                .as_slice()
                .map(FileLayout::Frames)
                .map_err(|e| PyValueError::new_err(format!("frame offsets: {e}"))),
            LayoutArg::Stream(len) => Ok(FileLayout::Stream { len: *len }),
        })
        .collect::<PyResult<Vec<_>>>()?;
    Ok(f(&layouts))
}

/// The bytes of all files (`tfrec::partition::total_bytes`).
#[pyfunction]
pub(crate) fn _read_bytes(files: Vec<LayoutArg<'_>>) -> PyResult<u64> {
    with_layouts(&files, partition::total_bytes)
}

/// Pieces to make when not told (`tfrec::partition::default_parts`).
#[pyfunction]
pub(crate) fn _default_parts(cpus: u64, total_bytes: u64, block_bytes: u64) -> u64 {
    partition::default_parts(cpus, total_bytes, block_bytes)
}

/// `(file, start byte, end byte, first record, rows)`.
type PieceTuple = (usize, u64, u64, u64, Option<u64>);

/// The files' records split into about `parts` pieces
/// (`tfrec::partition::split_files`), each `(file, start byte, end byte,
/// first record, rows)`; a file read as a stream is `(file, 0, 0, 0, None)`.
#[pyfunction]
pub(crate) fn _split_reads(
    files: Vec<LayoutArg<'_>>,
    parts: u64,
    block_bytes: u64,
) -> PyResult<Vec<PieceTuple>> {
    let pieces = with_layouts(&files, |layouts| {
        partition::split_files(layouts, parts, block_bytes)
    })?;
    Ok(pieces
        .into_iter()
        .map(|p| match p.span {
            Some(s) => (p.file, s.start, s.end, s.first, Some(s.rows)),
            None => (p.file, 0, 0, 0, None),
        })
        .collect())
}

/// `items` consecutive items in at most `groups` groups, each `(start,
/// end)` (`tfrec::partition::contiguous_groups`).
#[pyfunction]
pub(crate) fn _contiguous_groups(items: usize, groups: usize) -> Vec<(usize, usize)> {
    partition::contiguous_groups(items, groups)
        .into_iter()
        .map(|r| (r.start, r.end))
        .collect()
}

/// A file's records as `(start, end)` ranges of about `partition_bytes`
/// bytes (`tfrec::partition::record_ranges`).
#[pyfunction]
pub(crate) fn _record_ranges(
    records: u64,
    file_bytes: u64,
    partition_bytes: u64,
) -> Vec<(u64, u64)> {
    partition::record_ranges(records, file_bytes, partition_bytes)
        .into_iter()
        .map(|r| (r.start, r.end))
        .collect()
}

/// Records of several files numbered one after another
/// (`tfrec::partition::RecordNumbering`).
#[pyclass(module = "tfrec._tfrec", name = "_RecordNumbering", frozen)]
pub(crate) struct PyRecordNumbering {
    inner: RecordNumbering,
}

#[pymethods]
impl PyRecordNumbering {
    #[new]
    fn new(counts: Vec<u64>) -> PyResult<Self> {
        let inner = RecordNumbering::from_counts(counts).py_err()?;
        Ok(PyRecordNumbering { inner })
    }

    fn __len__(&self) -> PyResult<usize> {
        usize::try_from(self.inner.len())
            .map_err(|_| PyOverflowError::new_err("more records than an index can hold"))
    }

    /// `(file, record in that file)` of record `i` (negative counts from
    /// the end); `IndexError` when out of range.
    fn locate(&self, i: i64) -> PyResult<(usize, u64)> {
        self.inner.locate(i).ok_or_else(|| self.out_of_range(i))
    }

    /// [`locate`](Self::locate) of each of `indices`, in order.
    fn locate_many(&self, indices: Vec<i64>) -> PyResult<Vec<(usize, u64)>> {
        indices.into_iter().map(|i| self.locate(i)).collect()
    }
}

impl PyRecordNumbering {
    fn out_of_range(&self, i: i64) -> PyErr {
        let n = self.inner.len();
        // A negative index is named as it counts from the start.
        let shown = if i < 0 {
            i128::from(i) + i128::from(n)
        } else {
            i128::from(i)
        };
        PyIndexError::new_err(format!(
            "record index {shown} out of range for a source of {n} records"
        ))
    }
}
