//! Many records by number in one call (`tfrec.Reader.get_many`, the Grain
//! data source's `__getitems__`), and one Example payload parsed on its own
//! (`tfrec.parse_example`, the Beam `ExampleCoder`).
//!
//! A batch of records picked at random, spread over several files, is read
//! and decoded on the pool with the GIL released; only building the NumPy
//! arrays needs it. Every frame's CRCs are checked, as for any read.
//!
//! Negative record numbers resolve as the library resolves them
//! (`tfrec::partition::resolve_index`); nothing here knows of Grain or
//! samplers.

use std::sync::Arc;

use pyo3::exceptions::PyIndexError;
use pyo3::prelude::*;
use pyo3::types::PyList;
use rayon::prelude::*;
use tfrec::example::ExampleView;
use tfrec::index::{FrameBuf, IndexedFile};

use crate::errors::IntoPy;
use crate::reader::RecordFile;
use crate::records::{decode_at, features_to_dict, resolve, Item, Want};

/// Payloads at least this long are parsed with the GIL released.
const DETACH_BYTES: usize = 1 << 16;

/// Below this many records a batch is read on the calling thread: handing
/// a handful of reads to the pool costs more than it saves.
const PARALLEL_MIN: usize = 8;

/// The records `picks` names, as `(file, record)` pairs: `file` indexes
/// `files`, `record` is a record number in that file (negative counts from
/// the end). Each is decoded as its file's `kind` says. Returned in the
/// order of `picks`; the first record (in that order) that fails to read or
/// decode raises its error.
#[pyfunction]
pub(crate) fn _get_many<'py>(
    py: Python<'py>,
    files: Vec<Bound<'py, RecordFile>>,
    picks: Vec<(usize, isize)>,
) -> PyResult<Bound<'py, PyList>> {
    let mut opened: Vec<Option<(Arc<IndexedFile>, Want)>> = vec![None; files.len()];
    let mut resolved = Vec::with_capacity(picks.len());
    for &(f, i) in &picks {
        let (Some(file), Some(slot)) = (files.get(f), opened.get_mut(f)) else {
            return Err(PyIndexError::new_err(format!(
                "file {f} out of range for {} files",
                files.len()
            )));
        };
        let len = match slot {
            Some((file, _)) => file.len(),
            None => {
                let file = file.get();
                let indexed = file.indexed(py)?;
                let len = indexed.len();
                *slot = Some((indexed, file.want()));
                len
            }
        };
        resolved.push((f, resolve(i, len)?));
    }
    let read = |buf: &mut FrameBuf, &(f, i): &(usize, usize)| -> tfrec::Result<Item> {
        let Some(Some((file, want))) = opened.get(f) else {
            return Err(crate::errors::invalid_input(
                "internal: a file was not opened",
            ));
        };
        let record = file.record(i, buf)?;
        decode_at(
            &record.payload,
            *want,
            file.path(),
            record.offset,
            record.index,
        )
    };
    let items: Vec<tfrec::Result<Item>> = if resolved.len() < PARALLEL_MIN {
        py.detach(|| {
            let mut buf = FrameBuf::new();
            resolved.iter().map(|pick| read(&mut buf, pick)).collect()
        })
    } else {
        let pool = crate::pool::pool()?;
        py.detach(|| {
            pool.install(|| {
                resolved
                    .par_iter()
                    .with_min_len(PARALLEL_MIN / 2)
                    .map_init(FrameBuf::new, read)
                    .collect()
            })
        })
    };
    let list = PyList::empty(py);
    for item in items {
        list.append(item.py_err()?.into_py(py)?)?;
    }
    Ok(list)
}

/// Parses a serialized `tf.train.Example` into `{name: array}`, as a
/// reader gives Examples.
#[pyfunction]
pub(crate) fn _parse_example<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let parse = || ExampleView::parse(data).map(|e| e.features().to_owned());
    let features = if data.len() < DETACH_BYTES {
        parse()
    } else {
        py.detach(parse)
    };
    Ok(features_to_dict(py, &features.py_err()?)?.into_any())
}
