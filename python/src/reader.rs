//! Reading TFRecord files: iteration in decoded chunks, random access
//! through the record index.
//!
//! Iteration reads a chunk of records (CRCs checked) and decodes it on the
//! pool with the GIL released, then hands the records out one by one; only
//! building the NumPy arrays needs the GIL. Random access uses the
//! library's [`IndexedFile`] (a consistent `.idx` sidecar, or one scan of
//! the frame headers), built on first use.
//!
//! Holds no framing, CRC or parsing of its own: records come from the
//! library's readers and index.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use rayon::prelude::*;
use tfrec::index::{FrameBuf, IndexedFile};
use tfrec::{Compression, Error, ReadOptions, Reader};

use crate::errors::{invalid_input, to_pyerr, IntoPy};
use crate::records::{decode_at, decode_in_chunk, resolve, Decoded, Want};

/// Records read per chunk, at most.
const CHUNK_RECORDS: usize = 1024;
/// Payload bytes read per chunk, at most (a single larger record still
/// makes a chunk of its own).
const CHUNK_BYTES: usize = 8 << 20;

/// A TFRecord file opened for reading (the compiled half of
/// `tfrec.Reader`).
#[pyclass(module = "tfrec._tfrec", frozen)]
pub(crate) struct RecordFile {
    path: PathBuf,
    want: Want,
    compression: Compression,
    indexed: Mutex<Option<Arc<IndexedFile>>>,
    count: Mutex<Option<usize>>,
}

#[pymethods]
impl RecordFile {
    #[new]
    #[pyo3(signature = (path, kind = None))]
    fn new(py: Python<'_>, path: PathBuf, kind: Option<&str>) -> PyResult<Self> {
        let want = Want::parse(kind)?;
        let compression = py
            .detach(|| Reader::open_with(&path, read_options()).map(|r| r.compression()))
            .py_err()?;
        Ok(RecordFile {
            path,
            want,
            compression,
            indexed: Mutex::new(None),
            count: Mutex::new(None),
        })
    }

    /// The file's path.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// `"none"`, `"gzip"` or `"zlib"`, detected from the file's content.
    #[getter]
    fn compression(&self) -> &'static str {
        self.compression.name()
    }

    /// The number of records. Compressed files are decompressed once to
    /// count them.
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        if self.compression == Compression::None {
            return Ok(self.indexed(py)?.len());
        }
        if let Some(n) = *lock(&self.count) {
            return Ok(n);
        }
        let path = &self.path;
        let n = py
            .detach(|| Reader::open_with(path, read_options()).and_then(|mut r| r.count()))
            .py_err()?;
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        *lock(&self.count) = Some(n);
        Ok(n)
    }

    /// Record `i` (negative counts from the end), decoded.
    fn get<'py>(&self, py: Python<'py>, i: isize) -> PyResult<Bound<'py, PyAny>> {
        let (file, i) = self.locate(py, i)?;
        let want = self.want;
        let item = py
            .detach(|| {
                let mut buf = FrameBuf::new();
                let record = file.record(i, &mut buf)?;
                decode_at(
                    &record.payload,
                    want,
                    file.path(),
                    record.offset,
                    record.index,
                )
            })
            .py_err()?;
        item.into_py(py)
    }

    /// Record `i`'s payload bytes (CRCs checked).
    fn raw<'py>(&self, py: Python<'py>, i: isize) -> PyResult<Bound<'py, PyBytes>> {
        let (file, i) = self.locate(py, i)?;
        let payload = py
            .detach(|| {
                let mut buf = FrameBuf::new();
                file.record(i, &mut buf).map(|r| r.payload.into_owned())
            })
            .py_err()?;
        Ok(PyBytes::new(py, &payload))
    }

    /// A fresh iterator over the records, decoded as the reader's `kind`.
    #[pyo3(signature = (raw = false))]
    fn iter(&self, py: Python<'_>, raw: bool) -> PyResult<RecordIter> {
        let want = if raw { Want::Raw } else { self.want };
        RecordIter::open(py, self.path.clone(), want)
    }
}

impl RecordFile {
    /// What the file's records are decoded as.
    pub(crate) fn want(&self) -> Want {
        self.want
    }

    /// The file with its record index, built on first use.
    pub(crate) fn indexed(&self, py: Python<'_>) -> PyResult<Arc<IndexedFile>> {
        if let Some(file) = lock(&self.indexed).as_ref() {
            return Ok(Arc::clone(file));
        }
        if self.compression != Compression::None {
            return Err(to_pyerr(
                invalid_input(format!(
                    "{} file: random access needs an uncompressed file; iterate over it instead",
                    self.compression
                ))
                .with_path(&self.path),
            ));
        }
        // Built without the lock held: a second thread asking meanwhile
        // builds its own, and one of the two is kept.
        let path = &self.path;
        let file = py.detach(|| IndexedFile::open(path)).py_err()?;
        let file = Arc::new(file);
        let mut slot = lock(&self.indexed);
        Ok(Arc::clone(slot.get_or_insert(file)))
    }

    fn locate(&self, py: Python<'_>, i: isize) -> PyResult<(Arc<IndexedFile>, usize)> {
        let file = self.indexed(py)?;
        let i = resolve(i, file.len())?;
        Ok((file, i))
    }
}

/// Files are read with plain reads, never mapped: a file truncated by
/// another process while it is read then gives an error, not a SIGBUS that
/// would kill the interpreter.
fn read_options() -> ReadOptions {
    ReadOptions::default().mmap(false)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The slots hold plain values that are always consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// An iterator over a file's records.
#[pyclass(module = "tfrec._tfrec")]
pub(crate) struct RecordIter {
    path: PathBuf,
    want: Want,
    state: Mutex<IterState>,
}

struct IterState {
    /// `None` once the file is exhausted or an error was raised.
    reader: Option<Reader>,
    /// The payloads of the current chunk, which `ready` refers to.
    chunk: Vec<u8>,
    ready: VecDeque<Decoded>,
    /// Raised after the records decoded before it are handed out.
    error: Option<Error>,
}

impl RecordIter {
    fn open(py: Python<'_>, path: PathBuf, want: Want) -> PyResult<RecordIter> {
        let reader = py
            .detach(|| Reader::open_with(&path, read_options()))
            .py_err()?;
        Ok(RecordIter {
            path,
            want,
            state: Mutex::new(IterState {
                reader: Some(reader),
                chunk: Vec::new(),
                ready: VecDeque::new(),
                error: None,
            }),
        })
    }
}

#[pymethods]
impl RecordIter {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(item) = state.ready.pop_front() {
                return item.into_py(py, &state.chunk).map(Some);
            }
            if let Some(err) = state.error.take() {
                state.reader = None;
                return Err(to_pyerr(err));
            }
            let Some(reader) = state.reader.as_mut() else {
                return Ok(None);
            };
            let pool = crate::pool::pool()?;
            let (want, path) = (self.want, &self.path);
            let mut chunk = std::mem::take(&mut state.chunk);
            let (items, error, done) =
                py.detach(|| pool.install(|| read_chunk(reader, &mut chunk, want, path)));
            state.chunk = chunk;
            state.ready.extend(items);
            state.error = error;
            if done {
                state.reader = None;
            }
        }
    }
}

/// Reads up to a chunk of records and decodes them in parallel. Returns the
/// records decoded before the first failure, the failure, and whether the
/// file ended.
fn read_chunk(
    reader: &mut Reader,
    arena: &mut Vec<u8>,
    want: Want,
    path: &std::path::Path,
) -> (Vec<Decoded>, Option<Error>, bool) {
    // The buffer is reused from chunk to chunk, so its pages stay mapped,
    // unless one huge record grew it.
    if arena.capacity() > 2 * CHUNK_BYTES {
        *arena = Vec::new();
    }
    arena.clear();
    // (start, end, offset, index) of each payload in the arena.
    let mut spans: Vec<(usize, usize, u64, u64)> = Vec::new();
    let mut read_error = None;
    let mut done = false;
    while spans.len() < CHUNK_RECORDS && arena.len() < CHUNK_BYTES {
        match reader.next_record() {
            None => {
                done = true;
                break;
            }
            Some(Err(e)) => {
                read_error = Some(e);
                break;
            }
            Some(Ok(record)) => {
                let start = arena.len();
                arena.extend_from_slice(&record.payload);
                spans.push((start, arena.len(), record.offset, record.index));
            }
        }
    }
    let arena: &[u8] = arena;
    let decode = |&(start, end, offset, index): &(usize, usize, u64, u64)| {
        decode_in_chunk(arena, (start, end), want, path, (offset, index))
    };
    let decoded: Vec<tfrec::Result<Decoded>> = if want == Want::Raw || spans.len() < 64 {
        spans.iter().map(decode).collect()
    } else {
        spans.par_iter().with_min_len(64).map(decode).collect()
    };
    let mut items = Vec::with_capacity(decoded.len());
    for result in decoded {
        match result {
            Ok(item) => items.push(item),
            // A record that does not decode comes before any read failure
            // further on.
            Err(e) => return (items, Some(e), true),
        }
    }
    let failed = read_error.is_some();
    (items, read_error, done || failed)
}
