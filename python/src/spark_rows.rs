//! Examples read into columns: the read path of the Spark data source.
//!
//! A range of records is read (both CRCs checked) and the named features
//! of every Example are gathered into flat columns in one call with the
//! GIL released: for each column, whether each record has the feature, the
//! list offsets, and the values (int64, float32, or bytes with their own
//! offsets), ready to become Arrow arrays without a Python loop per record.
//!
//! Knows nothing of Spark or of Arrow types: Python turns the columns into
//! Arrow arrays.

use std::path::PathBuf;
use std::sync::Mutex;

use numpy::PyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use tfrec::example::{ExampleView, FeatureKind, FeatureView};
use tfrec::index::{FrameBuf, IndexedFile};
use tfrec::{Compression, Error, ErrorKind, ReadOptions, Reader};

use crate::errors::IntoPy;

/// The values a column gathers.
enum Values {
    Int64(Vec<i64>),
    Float(Vec<f32>),
    /// Every value's end in `data`, after a leading 0.
    Bytes {
        ends: Vec<i64>,
        data: Vec<u8>,
    },
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::Int64(v) => v.len(),
            Values::Float(v) => v.len(),
            Values::Bytes { ends, .. } => ends.len().saturating_sub(1),
        }
    }
}

struct Column {
    name: String,
    kind: FeatureKind,
    present: Vec<bool>,
    /// Each record's list end in the values, after a leading 0.
    offsets: Vec<i64>,
    values: Values,
}

impl Column {
    fn new(name: String, kind: FeatureKind) -> Column {
        let values = match kind {
            FeatureKind::Int64 => Values::Int64(Vec::new()),
            FeatureKind::Float => Values::Float(Vec::new()),
            _ => Values::Bytes {
                ends: vec![0],
                data: Vec::new(),
            },
        };
        Column {
            name,
            kind,
            present: Vec::new(),
            offsets: vec![0],
            values,
        }
    }

    /// Adds one record's feature. A feature with no list set is present
    /// with no values, as `tf.io.parse_example` reads it; a list of another
    /// kind is an error.
    fn push(&mut self, feature: Option<FeatureView<'_>>) -> Result<(), Error> {
        if let Some(f) = &feature {
            match (f.kind(), &mut self.values) {
                (FeatureKind::None, _) => {}
                (FeatureKind::Int64, Values::Int64(v)) => {
                    v.extend(f.int64_list().into_iter().flatten())
                }
                (FeatureKind::Float, Values::Float(v)) => {
                    v.extend(f.float_list().into_iter().flatten())
                }
                (FeatureKind::Bytes, Values::Bytes { ends, data }) => {
                    for b in f.bytes_list().into_iter().flatten() {
                        data.extend_from_slice(b);
                        ends.push(data.len() as i64);
                    }
                }
                (found, _) => {
                    return Err(Error::new(ErrorKind::InvalidExample {
                        reason: format!(
                            "feature {:?} is a {found}, the column reads a {}",
                            self.name, self.kind
                        ),
                    }))
                }
            }
        }
        self.present.push(feature.is_some());
        self.offsets.push(self.values.len() as i64);
        Ok(())
    }

    fn into_py(self, py: Python<'_>) -> PyResult<Bound<'_, PyTuple>> {
        let present = PyArray1::from_vec(py, self.present).into_any();
        let offsets = PyArray1::from_vec(py, self.offsets).into_any();
        let (values, ends) = match self.values {
            Values::Int64(v) => (
                PyArray1::from_vec(py, v).into_any(),
                py.None().into_bound(py),
            ),
            Values::Float(v) => (
                PyArray1::from_vec(py, v).into_any(),
                py.None().into_bound(py),
            ),
            Values::Bytes { ends, data } => (
                PyArray1::from_vec(py, data).into_any(),
                PyArray1::from_vec(py, ends).into_any(),
            ),
        };
        PyTuple::new(py, [present, offsets, values, ends])
    }
}

/// Where the records come from: random access for uncompressed files, a
/// stream read forward for compressed ones.
enum Source {
    Indexed(IndexedFile),
    Stream {
        reader: Option<Box<Reader>>,
        next: u64,
    },
}

/// Reads ranges of a file's Examples into columns (the compiled half of
/// `tfrec.spark`'s reader).
#[pyclass(module = "tfrec._tfrec", frozen)]
pub(crate) struct ExampleColumns {
    path: PathBuf,
    columns: Vec<(String, FeatureKind)>,
    /// Locked for a whole read: a stream moves forward as it is read.
    source: Mutex<Source>,
}

#[pymethods]
impl ExampleColumns {
    /// `columns` are `(name, kind)` pairs, kind 0 bytes_list, 1 float_list,
    /// 2 int64_list.
    #[new]
    fn new(py: Python<'_>, path: PathBuf, columns: Vec<(String, u8)>) -> PyResult<Self> {
        let columns = columns
            .into_iter()
            .map(|(name, kind)| match kind {
                0 => Ok((name, FeatureKind::Bytes)),
                1 => Ok((name, FeatureKind::Float)),
                2 => Ok((name, FeatureKind::Int64)),
                other => Err(PyValueError::new_err(format!(
                    "unknown feature kind {other}"
                ))),
            })
            .collect::<PyResult<Vec<_>>>()?;
        let source = py
            .detach(|| -> tfrec::Result<Source> {
                let reader = Reader::open_with(&path, read_options())?;
                if reader.compression() == Compression::None {
                    Ok(Source::Indexed(IndexedFile::open(&path)?))
                } else {
                    Ok(Source::Stream {
                        reader: Some(Box::new(reader)),
                        next: 0,
                    })
                }
            })
            .py_err()?;
        Ok(ExampleColumns {
            path,
            columns,
            source: Mutex::new(source),
        })
    }

    /// Records in the file, when known without reading it (uncompressed).
    #[getter]
    fn num_records(&self) -> Option<usize> {
        match &*lock(&self.source) {
            Source::Indexed(file) => Some(file.len()),
            Source::Stream { .. } => None,
        }
    }

    /// Records `start..end` (to the end of the file when `end` is None or
    /// past it) as `(rows, [(present, offsets, values, value_ends), ...])`,
    /// one tuple per column: `present` bool, `offsets` int64 (rows + 1),
    /// `values` int64, float32 or uint8 (the bytes of all strings), and
    /// `value_ends` int64 for bytes columns (None otherwise).
    #[pyo3(signature = (start, end = None))]
    fn read<'py>(
        &self,
        py: Python<'py>,
        start: u64,
        end: Option<u64>,
    ) -> PyResult<(usize, Vec<Bound<'py, PyTuple>>)> {
        let mut columns: Vec<Column> = self
            .columns
            .iter()
            .map(|(name, kind)| Column::new(name.clone(), *kind))
            .collect();
        let end = end.unwrap_or(u64::MAX);
        let path = &self.path;
        // Locked with the GIL released, so that a thread waiting for the
        // lock never holds the GIL the reading thread needs to return.
        let source = &self.source;
        let rows = py
            .detach(|| read_range(path, &mut lock(source), start, end, &mut columns))
            .py_err()?;
        let columns = columns
            .into_iter()
            .map(|c| c.into_py(py))
            .collect::<PyResult<Vec<_>>>()?;
        Ok((rows, columns))
    }
}

fn gather(
    columns: &mut [Column],
    payload: &[u8],
    path: &std::path::Path,
    offset: u64,
    index: u64,
) -> tfrec::Result<()> {
    let place = |e: Error| e.with_path(path).at_record(offset, index);
    let example = ExampleView::parse(payload).map_err(place)?;
    for column in columns.iter_mut() {
        column.push(example.get(&column.name)).map_err(place)?;
    }
    Ok(())
}

fn read_range(
    path: &std::path::Path,
    source: &mut Source,
    start: u64,
    end: u64,
    columns: &mut [Column],
) -> tfrec::Result<usize> {
    let mut rows = 0;
    match source {
        Source::Indexed(file) => {
            let len = file.len() as u64;
            let mut buf = FrameBuf::new();
            for i in start.min(len)..end.min(len) {
                let record = file.record(i as usize, &mut buf)?;
                gather(columns, &record.payload, path, record.offset, record.index)?;
                rows += 1;
            }
        }
        Source::Stream { reader, next } => {
            if *next > start || reader.is_none() {
                *reader = Some(Box::new(Reader::open_with(path, read_options())?));
                *next = 0;
            }
            let Some(r) = reader.as_mut() else {
                return Ok(0);
            };
            while *next < end {
                let Some(record) = r.next_record() else { break };
                let record = record?;
                *next = record.index + 1;
                if record.index >= start {
                    gather(columns, &record.payload, path, record.offset, record.index)?;
                    rows += 1;
                }
            }
        }
    }
    Ok(rows)
}

/// Plain reads, never a map: a file cut short meanwhile gives an error
/// rather than a SIGBUS.
fn read_options() -> ReadOptions {
    ReadOptions::default().mmap(false)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The source stays usable after a failed read: a stream is reopened
    // when a later read starts before where it stopped.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
