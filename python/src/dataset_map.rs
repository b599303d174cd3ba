//! Random access to the records of indexed files, for map-style datasets
//! (`tfrec.torch.MapDataset`) whose users bring their own sampler.

use std::path::PathBuf;

use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::PyList;
use rayon::prelude::*;
use tfrec::index::{IndexOptions, IndexedFile};
use tfrec::Tensor;

use crate::convert::view_to_numpy;
use crate::errors::IntoPy;

/// Uncompressed files, indexed, read through memory maps: record `i` is
/// the `i`-th record of all files in the order given.
#[pyclass(module = "tfrec._tfrec", name = "_RecordIndex", frozen)]
pub(crate) struct RecordIndex {
    files: Vec<IndexedFile>,
    /// Position of each file's first record; one more for the total.
    starts: Vec<u64>,
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
        let mut starts = Vec::with_capacity(files.len() + 1);
        let mut total = 0u64;
        starts.push(0);
        for f in &files {
            total += f.len() as u64;
            starts.push(total);
        }
        Ok(RecordIndex { files, starts })
    }

    fn __len__(&self) -> usize {
        self.total() as usize
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
                        .map(|&(file, index)| self.files[file].get(index))
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
    fn total(&self) -> u64 {
        self.starts.last().copied().unwrap_or(0)
    }

    fn locate(&self, position: i64) -> PyResult<(usize, usize)> {
        let total = self.total();
        let p = if position < 0 {
            total.checked_sub(position.unsigned_abs())
        } else {
            Some(position as u64).filter(|&p| p < total)
        };
        let Some(p) = p else {
            return Err(PyIndexError::new_err(format!(
                "record {position} is out of range for {total} records"
            )));
        };
        let file = self.starts.partition_point(|&s| s <= p).saturating_sub(1);
        Ok((file, (p - self.starts[file]) as usize))
    }
}
