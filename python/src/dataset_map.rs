//! Random access to the records of indexed files, for map-style datasets
//! (`tfrec.torch.MapDataset`) whose users bring their own sampler.
//!
//! Record numbers across files are the library's
//! (`tfrec::partition::RecordNumbering`); this module knows nothing of
//! samplers or torch.

use std::path::PathBuf;

use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::PyList;
use rayon::prelude::*;
use tfrec::index::{IndexOptions, IndexedFile};
use tfrec::partition::RecordNumbering;
use tfrec::Tensor;

use crate::convert::view_to_numpy;
use crate::errors::IntoPy;

/// Uncompressed files, indexed, read through memory maps: record `i` is
/// the `i`-th record of all files in the order given.
#[pyclass(module = "tfrec._tfrec", name = "_RecordIndex", frozen)]
pub(crate) struct RecordIndex {
    files: Vec<IndexedFile>,
    numbering: RecordNumbering,
}

#[pymethods]
impl RecordIndex {
    #[new]
    fn new(py: Python<'_>, paths: Vec<PathBuf>) -> PyResult<Self> {
        let files = py
            .detach(|| {
                paths
                    .iter()
                    .map(|p| IndexedFile::open_with(p, &IndexOptions::default())?.mapped())
                    .collect::<tfrec::Result<Vec<_>>>()
            })
            .py_err()?;
        let numbering =
            RecordNumbering::from_counts(files.iter().map(|f| f.len() as u64)).py_err()?;
        Ok(RecordIndex { files, numbering })
    }

    fn __len__(&self) -> usize {
        self.numbering.len() as usize
    }

    /// Records `positions` (negative ones count from the end), decoded into
    /// owned arrays, in parallel with the GIL released.
    fn get_many<'py>(&self, py: Python<'py>, positions: Vec<i64>) -> PyResult<Bound<'py, PyList>> {
        let located = positions
            .iter()
            .map(|&p| self.locate(p))
            .collect::<PyResult<Vec<_>>>()?;
        let pool = crate::pool::pool()?;
        let tensors: Vec<Tensor> = py
            .detach(|| {
                pool.install(|| {
                    located
                        .par_iter()
                        .map(|&(file, index)| match self.files.get(file) {
                            Some(f) => f.get(index),
                            None => Err(crate::errors::invalid_input(
                                "internal: a record was located past the files",
                            )),
                        })
                        .collect::<tfrec::Result<Vec<_>>>()
                })
            })
            .py_err()?;
        let out = PyList::empty(py);
        for t in &tensors {
            out.append(view_to_numpy(py, &t.view())?)?;
        }
        Ok(out)
    }
}

impl RecordIndex {
    fn locate(&self, position: i64) -> PyResult<(usize, usize)> {
        self.numbering
            .locate(position)
            .and_then(|(file, index)| Some((file, usize::try_from(index).ok()?)))
            .ok_or_else(|| {
                PyIndexError::new_err(format!(
                    "record {position} is out of range for {} records",
                    self.numbering.len()
                ))
            })
    }
}
