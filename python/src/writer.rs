//! Writing TFRecord files: one atomic file, or atomic shards.
//!
//! Python turns each value into what this module takes: array bytes with a
//! dtype code and shape, a list of `bytes` for strings, a list of
//! `(name, kind, values)` for an Example. Encoding into the record buffer
//! copies the array once with the GIL held; framing, CRCs, compression and
//! I/O run with it released.
//!
//! Knows nothing of shard naming, framing or compression: the library's
//! writers do those.

use std::path::PathBuf;

use numpy::{PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tfrec::example::{Example, Feature, Features};
use tfrec::write::sharded::{ShardOptions, ShardedWriter, Sharding};
use tfrec::{AtomicFile, Compression, Writer};

use crate::errors::{invalid_input, to_pyerr, IntoPy};
use crate::tensor::{array_view, strings_view, ENCODE_DETACH_BYTES};

/// Feature kinds as Python passes them.
const BYTES: u8 = 0;
const FLOAT: u8 = 1;
const INT64: u8 = 2;
const NO_KIND: u8 = 3;

pub(crate) fn parse_compression(compression: Option<&str>) -> PyResult<Compression> {
    match compression {
        None | Some("") | Some("none") => Ok(Compression::None),
        Some(name) => name
            .to_ascii_lowercase()
            .parse::<Compression>()
            .map_err(|_| {
                PyValueError::new_err(format!(
                    "compression must be None, 'gzip' or 'zlib', not {name:?}"
                ))
            }),
    }
}

/// An Example from `(name, kind, values)` triples: kind 0 a list of
/// `bytes`, 1 a float32 array, 2 an int64 array, 3 a feature with no list
/// set (values ignored).
fn build_example(features: Vec<(String, u8, Bound<'_, PyAny>)>) -> PyResult<Example> {
    let mut map = std::collections::BTreeMap::new();
    for (name, kind, values) in features {
        let feature = match kind {
            BYTES => Feature::bytes_list(values.extract::<Vec<Vec<u8>>>()?),
            FLOAT => {
                let array: PyReadonlyArray1<'_, f32> = values.extract()?;
                Feature::float_list(array.as_slice()?.iter().copied())
            }
            INT64 => {
                let array: PyReadonlyArray1<'_, i64> = values.extract()?;
                Feature::int64_list(array.as_slice()?.iter().copied())
            }
            NO_KIND => Feature::default(),
            other => {
                return Err(PyValueError::new_err(format!(
                    "unknown feature kind {other}"
                )))
            }
        };
        map.insert(name, feature);
    }
    Ok(Example {
        features: Some(Features { feature: map }),
    })
}

/// Serializes a `tf.train.Example` from `(name, kind, values)` triples.
#[pyfunction]
pub(crate) fn _serialize_example<'py>(
    py: Python<'py>,
    features: Vec<(String, u8, Bound<'py, PyAny>)>,
) -> PyResult<Bound<'py, PyBytes>> {
    let example = build_example(features)?;
    Ok(PyBytes::new(py, &tfrec::example::encode(&example)))
}

/// Encodes the payload of a record holding an array into `scratch`, a
/// buffer reused across records: a fresh allocation per record would cost
/// more (in page faults) than the copy itself. Large arrays are copied with
/// the GIL released (see [`ENCODE_DETACH_BYTES`]).
fn encode_array(
    py: Python<'_>,
    scratch: &mut Vec<u8>,
    dtype: i32,
    shape: &[usize],
    data: &PyReadonlyArray1<'_, u8>,
) -> PyResult<()> {
    if !data.is_c_contiguous() {
        return Err(PyTypeError::new_err("array data must be contiguous"));
    }
    let bytes = data.as_slice()?;
    let view = array_view(dtype, shape, bytes)?;
    scratch.clear();
    if bytes.len() >= ENCODE_DETACH_BYTES {
        py.detach(|| view.encode(scratch));
    } else {
        view.encode(scratch);
    }
    Ok(())
}

fn closed() -> PyErr {
    to_pyerr(invalid_input("the writer is closed"))
}

/// Where a [`RecordWriter`]'s records go.
enum Target {
    /// One atomic file.
    File(Writer<AtomicFile>),
    /// Atomic shards with sidecars and a manifest.
    Shards(ShardedWriter),
}

/// The compiled half of `tfrec.Writer` (one atomic file) and
/// `tfrec.ShardedWriter` (atomic shards, sidecars, manifest): one set of
/// write methods over either target.
#[pyclass(module = "tfrec._tfrec")]
pub(crate) struct RecordWriter {
    /// The final path of a single file; `None` for shards.
    path: Option<PathBuf>,
    target: Option<Target>,
    scratch: Vec<u8>,
    records: u64,
    bytes: u64,
}

impl RecordWriter {
    fn new(path: Option<PathBuf>, target: Target) -> Self {
        RecordWriter {
            path,
            target: Some(target),
            scratch: Vec::new(),
            records: 0,
            bytes: 0,
        }
    }

    fn scratch_record(&mut self, py: Python<'_>) -> PyResult<()> {
        let scratch = std::mem::take(&mut self.scratch);
        let result = self.record(py, &scratch);
        self.scratch = scratch;
        result
    }

    fn record(&mut self, py: Python<'_>, payload: &[u8]) -> PyResult<()> {
        match self.target.as_mut().ok_or_else(closed)? {
            Target::File(writer) => {
                let result = py.detach(|| writer.write_record(payload));
                self.records = writer.records_written();
                self.bytes = writer.bytes_written();
                result.py_err()
            }
            Target::Shards(writer) => {
                let pool = crate::pool::pool()?;
                let result = py.detach(|| pool.install(|| writer.write_record(payload)));
                self.records = writer.records_written();
                result.py_err()
            }
        }
    }
}

#[pymethods]
impl RecordWriter {
    /// A writer of one file at `path`, which appears only on `close`.
    #[staticmethod]
    #[pyo3(signature = (path, compression = None, sync = true))]
    fn file(
        py: Python<'_>,
        path: PathBuf,
        compression: Option<&str>,
        sync: bool,
    ) -> PyResult<Self> {
        let compression = parse_compression(compression)?;
        let mut writer = py
            .detach(|| Writer::create_with(&path, compression))
            .py_err()?;
        writer.set_sync(sync);
        Ok(RecordWriter::new(Some(path), Target::File(writer)))
    }

    /// A writer of shards `{stem}-{i:05}-of-{n:05}` in `out_dir`.
    #[staticmethod]
    #[pyo3(signature = (out_dir, stem, shards = None, records_per_shard = None, bytes_per_shard = None, compression = None, sync = true, index = true))]
    #[allow(clippy::too_many_arguments)]
    fn shards(
        py: Python<'_>,
        out_dir: PathBuf,
        stem: &str,
        shards: Option<u64>,
        records_per_shard: Option<u64>,
        bytes_per_shard: Option<u64>,
        compression: Option<&str>,
        sync: bool,
        index: bool,
    ) -> PyResult<Self> {
        let sharding = match (shards, records_per_shard, bytes_per_shard) {
            (Some(n), None, None) => Sharding::Shards(n),
            (None, Some(n), None) => Sharding::RecordsPerShard(n),
            (None, None, Some(n)) => Sharding::BytesPerShard(n),
            (None, None, None) => Sharding::Shards(1),
            _ => {
                return Err(PyValueError::new_err(
                    "give at most one of shards, records_per_shard and bytes_per_shard",
                ))
            }
        };
        let options = ShardOptions::new(sharding)
            .compression(parse_compression(compression)?)
            .sync(sync)
            .index(index);
        let pool = crate::pool::pool()?;
        let writer = py
            .detach(|| pool.install(|| ShardedWriter::create(&out_dir, stem, options)))
            .py_err()?;
        Ok(RecordWriter::new(None, Target::Shards(writer)))
    }

    /// Writes an array given as dtype code, shape and raw bytes.
    fn write_array(
        &mut self,
        py: Python<'_>,
        dtype: i32,
        shape: Vec<usize>,
        data: PyReadonlyArray1<'_, u8>,
    ) -> PyResult<()> {
        encode_array(py, &mut self.scratch, dtype, &shape, &data)?;
        drop(data);
        self.scratch_record(py)
    }

    /// Writes a string tensor given as shape and row-major `bytes` values.
    fn write_strings(
        &mut self,
        py: Python<'_>,
        shape: Vec<usize>,
        values: Vec<Vec<u8>>,
    ) -> PyResult<()> {
        let payload = strings_view(&shape, &values)?.to_proto_bytes();
        self.record(py, &payload)
    }

    /// Writes an Example from `(name, kind, values)` triples.
    fn write_example(
        &mut self,
        py: Python<'_>,
        features: Vec<(String, u8, Bound<'_, PyAny>)>,
    ) -> PyResult<()> {
        let payload = tfrec::example::encode(&build_example(features)?);
        self.record(py, &payload)
    }

    /// Writes one opaque record.
    fn write_raw(&mut self, py: Python<'_>, payload: &[u8]) -> PyResult<()> {
        self.record(py, payload)
    }

    /// Finishes the output: a file is flushed, fsynced (unless `sync=False`)
    /// and renamed into place; shards likewise, then the manifest is written
    /// and returned as JSON text. Closing twice does nothing.
    fn close(&mut self, py: Python<'_>) -> PyResult<Option<String>> {
        match self.target.take() {
            None => Ok(None),
            Some(Target::File(writer)) => {
                py.detach(|| writer.finish()).py_err()?;
                Ok(None)
            }
            Some(Target::Shards(writer)) => {
                let pool = crate::pool::pool()?;
                let manifest = py.detach(|| pool.install(|| writer.finish())).py_err()?;
                Ok(Some(manifest.to_json()))
            }
        }
    }

    /// Drops the output: temporary files are removed, nothing appears.
    fn abort(&mut self, py: Python<'_>) {
        if let Some(target) = self.target.take() {
            py.detach(|| drop(target));
        }
    }

    /// Whether the writer still accepts records.
    #[getter]
    fn closed(&self) -> bool {
        self.target.is_none()
    }

    /// The final path of a single file (`None` for shards).
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.path.clone()
    }

    /// Records written so far.
    #[getter]
    fn records_written(&self) -> u64 {
        self.records
    }

    /// Bytes of records written so far to a single file, framing included,
    /// before compression.
    #[getter]
    fn bytes_written(&self) -> u64 {
        self.bytes
    }
}
