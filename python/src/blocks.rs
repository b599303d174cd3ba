//! Whole blocks of records as columns, for distributed readers.
//!
//! A distributed read (`tfrec.ray`) splits files into ranges of records;
//! each of its tasks calls [`read_block`] once: the range is read, every
//! CRC checked and every record decoded on the pool with the GIL released,
//! and the records come back as columns (NumPy arrays), ready to become an
//! Arrow table. On the write side, `_finalize_shards` (finalize.rs) numbers
//! the shards the tasks wrote into one set with one manifest.
//!
//! It reads and decodes the ranges it is given and nothing else: how files
//! are split into ranges is the library's (`tfrec::partition`, through
//! partition.rs), and Arrow tables are built in Python.

use std::path::{Path, PathBuf};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use rayon::prelude::*;
use tfrec::example::{ParseSpec, ParsedBatch, RecordKind};
use tfrec::framing::{parse_frame, FrameCheck};
use tfrec::index::Index;
use tfrec::read::{CorruptionPolicy, Skipped, SliceReader};
use tfrec::{DType, Error, ReadOptions, Reader, Tensor, TensorView};

use crate::convert::view_to_numpy;
use crate::errors::{invalid_input, IntoPy};
use crate::spec::{parse_spec, SpecEntry};

/// The payloads of a block, one after another, with where each came from.
#[derive(Default)]
struct Payloads {
    data: Vec<u8>,
    /// `(start, end)` of each payload in `data`.
    spans: Vec<(usize, usize)>,
    /// `(frame offset, record index)` of each payload in its file.
    places: Vec<(u64, u64)>,
    skipped: Vec<Skip>,
}

impl Payloads {
    fn push(&mut self, payload: &[u8], offset: u64, index: u64) {
        let start = self.data.len();
        self.data.extend_from_slice(payload);
        self.spans.push((start, self.data.len()));
        self.places.push((offset, index));
    }

    fn slices(&self) -> Vec<&[u8]> {
        self.spans
            .iter()
            .map(|&(s, e)| self.data.get(s..e).unwrap_or_default())
            .collect()
    }
}

/// A damaged stretch skipped under `on_corrupt="skip"`.
struct Skip {
    offset: u64,
    index: Option<u64>,
    kind: &'static str,
    message: String,
}

impl Skip {
    fn of(e: &Error, offset: u64) -> Skip {
        Skip {
            offset: e.offset().unwrap_or(offset),
            index: e.record_index(),
            kind: e.kind().name(),
            message: e.to_string(),
        }
    }
}

/// The frames in bytes `start..end` of an uncompressed file, the first
/// of them record `first_index`, read at once and walked in order.
fn read_range(
    path: &Path,
    (start, end, first_index): Range,
    skip: bool,
) -> tfrec::Result<Payloads> {
    let file = std::fs::File::open(path)?;
    let len = usize::try_from(end.saturating_sub(start))
        .map_err(|_| invalid_input("a block larger than memory"))?;
    let mut bytes = vec![0u8; len];
    read_exact_at(&file, &mut bytes, start)?;
    let place = move |e: Error| {
        let offset = start + e.offset().unwrap_or(0);
        let index = first_index + e.record_index().unwrap_or(0);
        e.relocate(offset, index)
    };
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut reader = SliceReader::new(&bytes);
    if skip {
        let sink = log.clone();
        reader = reader
            .corruption(CorruptionPolicy::Skip)
            .on_skip(move |s: &Skipped| {
                if let Ok(mut v) = sink.lock() {
                    let e = place(
                        Error::new(s.reason().clone())
                            .at_record(s.offset, s.error.record_index().unwrap_or(0)),
                    );
                    v.push(Skip::of(&e, start + s.offset));
                }
            });
    }
    let mut out = Payloads::default();
    for record in reader {
        let r = record.map_err(place)?;
        out.push(&r.payload, start + r.offset, first_index + r.index);
    }
    if let Ok(mut v) = log.lock() {
        out.skipped.append(&mut v);
    }
    Ok(out)
}

#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_exact_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}

/// `(first byte, end byte, index of the first record)` of a block.
type Range = (u64, u64, u64);

/// Every record of a file, streamed (compressed files have no index).
fn read_stream(path: &Path, skip: bool) -> tfrec::Result<Payloads> {
    let policy = if skip {
        CorruptionPolicy::Skip
    } else {
        CorruptionPolicy::Strict
    };
    let options = ReadOptions::default().mmap(false).corruption(policy);
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = log.clone();
    let mut reader = Reader::open_with(path, options)?.on_skip(move |s| {
        if let Ok(mut v) = sink.lock() {
            v.push(Skip::of(&s.error, s.offset));
        }
    });
    let mut out = Payloads::default();
    while let Some(record) = reader.next_record() {
        let r = record?;
        out.push(&r.payload, r.offset, r.index);
    }
    drop(reader);
    if let Ok(mut v) = log.lock() {
        out.skipped.append(&mut v);
    }
    Ok(out)
}

/// What a block's records are decoded as.
enum Decode {
    Tensor,
    Raw,
    Examples(ParseSpec),
}

/// A block decoded without the GIL.
enum Columns {
    /// Tensors of one dtype and shape, stacked `[n, *shape]`.
    Stacked(Tensor),
    /// Tensors of differing shapes, by their spans in the payloads.
    Ragged,
    Raw,
    Examples(ParsedBatch),
}

fn decode(payloads: &Payloads, how: &Decode, path: &Path) -> tfrec::Result<Columns> {
    let slices = payloads.slices();
    let place = |i: usize, e: Error| {
        let (offset, index) = payloads.places.get(i).copied().unwrap_or_default();
        e.with_path(path).at_record(offset, index)
    };
    match how {
        Decode::Raw => Ok(Columns::Raw),
        Decode::Examples(spec) => spec
            .parse_batch(&slices)
            .map(Columns::Examples)
            .map_err(|e| {
                // The batch error names a position in the batch; the record's
                // own parse names the file's offset instead.
                match slices.iter().position(|p| spec.parse(p).is_err()) {
                    Some(i) => place(i, e),
                    None => e.with_path(path),
                }
            }),
        Decode::Tensor => {
            let views: Vec<TensorView<'_>> = slices
                .par_iter()
                .enumerate()
                .map(|(i, p)| TensorView::decode(p).map_err(|e| place(i, e)))
                .collect::<tfrec::Result<_>>()?;
            let Some(first) = views.first() else {
                return Ok(Columns::Ragged);
            };
            let (dtype, shape) = (first.dtype(), first.shape());
            if let Some(i) = views.iter().position(|v| v.dtype() != dtype) {
                return Err(place(
                    i,
                    invalid_input(format!(
                        "a {} tensor among {dtype} tensors: a column holds one dtype",
                        views.get(i).map_or(dtype, TensorView::dtype)
                    )),
                ));
            }
            let same = views.iter().all(|v| v.shape() == shape);
            if !same || dtype == DType::String || dtype == DType::Bool {
                return Ok(Columns::Ragged);
            }
            let size: usize = views.iter().map(|v| v.bytes().map_or(0, <[u8]>::len)).sum();
            let mut bytes = Vec::with_capacity(size);
            for v in &views {
                bytes.extend_from_slice(v.bytes().unwrap_or_default());
            }
            let mut stacked = vec![views.len()];
            stacked.extend_from_slice(shape);
            Tensor::from_bytes(dtype, &stacked, bytes).map(Columns::Stacked)
        }
    }
}

/// Reads the frames of `range` (`(first byte, end byte, first record's
/// index)`, from [`file_offsets`]) of `path`, or the whole file streamed
/// when `range` is `None`, with every CRC checked, and decodes them as `kind`
/// (`"tensor"`, `"example"` with `spec`, or `"raw"`) with the GIL released.
///
/// Returns `(columns, rows, skipped)`. `columns` maps `column` to a stacked
/// array `[rows, *shape]` (tensors of one shape), a list of arrays
/// (tensors of differing shapes or strings) or the payloads as strings
/// (raw); for examples it maps each feature to its array `[rows, *shape]`
/// (strings: all of its values as strings), or to `(values, row_splits)`
/// for a variable-length feature. Strings are `("binary", data, offsets)`,
/// Arrow's layout of a binary array, so that no `bytes` object is made per
/// value. `skipped` lists
/// the damage skipped under `skip` as dicts (`offset`, `index`, `kind`,
/// `message`).
#[pyfunction]
#[pyo3(signature = (path, range, kind, column, spec, skip))]
pub(crate) fn read_block<'py>(
    py: Python<'py>,
    path: PathBuf,
    range: Option<Range>,
    kind: &str,
    column: &str,
    spec: Option<Vec<SpecEntry<'py>>>,
    skip: bool,
) -> PyResult<(Bound<'py, PyDict>, usize, Bound<'py, PyList>)> {
    let how = match (kind, spec) {
        ("example", Some(entries)) => Decode::Examples(parse_spec(entries)?),
        ("tensor", None) => Decode::Tensor,
        ("raw", None) => Decode::Raw,
        (other, _) => {
            return Err(PyValueError::new_err(format!(
                "kind {other:?}: expected 'tensor' or 'raw' without a spec, 'example' with one"
            )))
        }
    };
    let pool = crate::pool::pool()?;
    let (payloads, columns) = py
        .detach(|| {
            pool.install(|| {
                let payloads = match range {
                    Some(range) => read_range(&path, range, skip),
                    None => read_stream(&path, skip),
                }
                .map_err(|e| e.with_path(&path))?;
                let columns = decode(&payloads, &how, &path)?;
                Ok((payloads, columns))
            })
        })
        .py_err()?;
    let rows = payloads.spans.len();
    let out = PyDict::new(py);
    let slices = payloads.slices();
    match columns {
        Columns::Stacked(t) => out.set_item(column, view_to_numpy(py, &t.view())?)?,
        Columns::Ragged => {
            let list = PyList::empty(py);
            for p in &slices {
                list.append(view_to_numpy(py, &TensorView::decode(p).py_err()?)?)?;
            }
            out.set_item(column, list)?;
        }
        Columns::Raw => {
            // The payloads are one after another in `data` already.
            let first = payloads.spans.first().map_or(0, |s| s.0);
            let mut offsets: Vec<i64> = vec![0];
            offsets.extend(payloads.spans.iter().map(|&(_, e)| (e - first) as i64));
            let end = payloads.spans.last().map_or(first, |s| s.1);
            let data = payloads.data.get(first..end).unwrap_or_default();
            out.set_item(column, binary(py, data, &offsets)?)?;
        }
        Columns::Examples(batch) => {
            for col in batch.columns() {
                let value = if col.is_ragged() {
                    let values = match col.strings() {
                        Some(strings) => strings_to_py(py, &strings)?,
                        None => {
                            let bytes = col.bytes().unwrap_or_default();
                            let count = bytes.len() / col.dtype().size().unwrap_or(1).max(1);
                            let view = TensorView::new(col.dtype(), &[count], bytes).py_err()?;
                            view_to_numpy(py, &view)?
                        }
                    };
                    let splits =
                        numpy::PyArray1::from_slice(py, col.row_splits().unwrap_or_default());
                    (values, splits).into_pyobject(py)?.into_any()
                } else if let Some(strings) = col.strings() {
                    strings_to_py(py, &strings)?
                } else {
                    let view = col.view().ok_or_else(|| {
                        pyo3::exceptions::PyRuntimeError::new_err(
                            "internal: a dense column has no view",
                        )
                    })?;
                    view_to_numpy(py, &view)?
                };
                out.set_item(col.name(), value)?;
            }
        }
    }
    let skipped = PyList::empty(py);
    for s in payloads.skipped {
        let d = PyDict::new(py);
        d.set_item("path", path.to_string_lossy())?;
        d.set_item("offset", s.offset)?;
        d.set_item("index", s.index)?;
        d.set_item("kind", s.kind)?;
        d.set_item("message", s.message)?;
        skipped.append(d)?;
    }
    Ok((out, rows, skipped))
}

/// `(compression, offsets)` of a file: for an uncompressed file the byte
/// offset of every record's frame and then the file's length (from a
/// consistent `.idx` sidecar, else a scan of the frame headers, both CRCs
/// of each header checked); `None` for a compressed file, which is read as
/// a stream.
#[pyfunction]
pub(crate) fn file_offsets<'py>(
    py: Python<'py>,
    path: PathBuf,
) -> PyResult<(&'static str, Option<Bound<'py, numpy::PyArray1<u64>>>)> {
    let found = py
        .detach(|| -> tfrec::Result<_> {
            let options = ReadOptions::default().mmap(false);
            let compression = Reader::open_with(&path, options)?.compression();
            if compression != tfrec::Compression::None {
                return Ok((compression, None));
            }
            let index = Index::open(&path)?;
            let mut offsets: Vec<u64> = index.iter().map(|e| e.offset).collect();
            offsets.push(index.file_len());
            Ok((compression, Some(offsets)))
        })
        .py_err()?;
    let (compression, offsets) = found;
    Ok((
        compression.name(),
        offsets.map(|o| numpy::PyArray1::from_vec(py, o)),
    ))
}

/// The payload of the frame at bytes `start..end` of an uncompressed file
/// (two consecutive [`file_offsets`]), for telling what the records hold.
/// The header is parsed by the library's framing, its length CRC checked;
/// the payload's CRC is not (a read checks it).
#[pyfunction]
pub(crate) fn _frame_payload<'py>(
    py: Python<'py>,
    path: PathBuf,
    start: u64,
    end: u64,
) -> PyResult<Bound<'py, PyBytes>> {
    let payload = py
        .detach(|| -> tfrec::Result<Vec<u8>> {
            let file = std::fs::File::open(&path)?;
            let len = usize::try_from(end.saturating_sub(start))
                .map_err(|_| invalid_input("a frame larger than memory"))?;
            let mut frame = vec![0u8; len];
            read_exact_at(&file, &mut frame, start)?;
            let check = FrameCheck {
                data_crc: false,
                max_record_len: u64::MAX,
            };
            match parse_frame(&frame, check).map_err(|e| e.at_record(start, 0))? {
                Some(f) => Ok(f.payload.to_vec()),
                None => Err(invalid_input(format!("no frame at byte {start}"))),
            }
        })
        .map_err(|e| e.with_path(&path))
        .py_err()?;
    Ok(PyBytes::new(py, &payload))
}

/// Strings as Arrow lays out a binary array: `("binary", data, offsets)`,
/// string `k` being `data[offsets[k]..offsets[k + 1]]` (`offsets` int64).
fn binary<'py>(py: Python<'py>, data: &[u8], offsets: &[i64]) -> PyResult<Bound<'py, PyAny>> {
    let data = PyBytes::new(py, data);
    let offsets = numpy::PyArray1::from_slice(py, offsets);
    let items: [Bound<'py, PyAny>; 3] = [
        pyo3::types::PyString::new(py, "binary").into_any(),
        data.into_any(),
        offsets.into_any(),
    ];
    pyo3::types::PyTuple::new(py, items).map(Bound::into_any)
}

fn strings_to_py<'py>(
    py: Python<'py>,
    strings: &tfrec::example::Strings<'_>,
) -> PyResult<Bound<'py, PyAny>> {
    let offsets: Vec<i64> = strings.offsets().iter().map(|&o| o as i64).collect();
    let end = strings.offsets().last().copied().unwrap_or(0);
    binary(py, strings.data().get(..end).unwrap_or_default(), &offsets)
}

/// What a payload holds, as the reader's `kind` auto-detection sees it:
/// `"tensor"`, `"example"`, `"sequence"` or `"raw"`.
#[pyfunction]
pub(crate) fn detect_kind(payload: &[u8]) -> &'static str {
    match RecordKind::detect(payload) {
        RecordKind::Tensor => "tensor",
        RecordKind::Example => "example",
        RecordKind::SequenceExample => "sequence",
        RecordKind::Raw => "raw",
    }
}
