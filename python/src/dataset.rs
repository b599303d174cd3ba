//! The training pipeline: the library's [`Dataset`] behind `tfrec.Dataset`.
//!
//! Python (`tfrec.dataset`) normalizes arguments, resolves rank and world,
//! pickles and reports skipped records; this module builds the library's
//! dataset, iterates it with the GIL released, and hands each batch to
//! NumPy without copying it (see [`crate::dataset_arrays`]).
//!
//! Holds no ordering, shuffling, sharding or batching of its own: the
//! library's dataset does all of it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use tfrec::example::ParseSpec;
use tfrec::pipeline::{Batches, Dataset, ExampleBatches, IterState, ShardMode};
use tfrec::read::{CorruptionPolicy, Skipped};

use crate::dataset_arrays::{batch_to_numpy, example_batch_to_dict};
use crate::errors::IntoPy;
use crate::spec::{parse_spec, SpecEntry};

/// A skipped record, kept until Python reports it on its own thread.
struct SkipReport {
    path: Option<String>,
    offset: u64,
    len: u64,
    index: Option<u64>,
    kind: &'static str,
    message: String,
}

type SkipLog = Arc<Mutex<Vec<SkipReport>>>;

/// The compiled half of `tfrec.Dataset`: the library's dataset and, for
/// `spec=`, its parse spec.
#[pyclass(module = "tfrec._tfrec", name = "_Dataset", frozen)]
pub(crate) struct PyDataset {
    ds: Dataset,
    spec: Option<ParseSpec>,
    skips: SkipLog,
}

#[pymethods]
impl PyDataset {
    #[new]
    #[pyo3(signature = (files, patterns, batch_size, seed, rank, world, drop_last, prefetch, threads, spec, skip, max_skipped))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        files: Vec<PathBuf>,
        patterns: Vec<String>,
        batch_size: usize,
        seed: Option<u64>,
        rank: usize,
        world: usize,
        drop_last: bool,
        prefetch: usize,
        threads: Option<usize>,
        spec: Option<Vec<SpecEntry<'_>>>,
        skip: bool,
        max_skipped: Option<u64>,
    ) -> PyResult<Self> {
        let spec = spec.map(parse_spec).transpose()?;
        let threads = threads.unwrap_or_else(crate::pool::default_threads);
        let skips: SkipLog = Arc::default();
        // Strided parts: a state saved on one number of ranks resumes on
        // any other (see `IterState`).
        let mut builder = Dataset::builder()
            .files(files)
            .batch(batch_size)
            .shard(rank, world)
            .shard_mode(ShardMode::Strided)
            .drop_last(drop_last)
            .prefetch(prefetch)
            .threads(threads);
        for pattern in patterns {
            builder = builder.glob(pattern);
        }
        if let Some(seed) = seed {
            builder = builder.shuffle(seed);
        }
        if skip {
            let log = skips.clone();
            builder = builder
                .corruption(CorruptionPolicy::Skip)
                .on_skip(move |s: &Skipped| {
                    if let Ok(mut log) = log.lock() {
                        log.push(report(s));
                    }
                });
            if let Some(limit) = max_skipped {
                builder = builder.max_skipped(limit);
            }
        }
        // Building indexes every file: no GIL meanwhile.
        let ds = py.detach(|| builder.build()).py_err()?;
        Ok(PyDataset { ds, spec, skips })
    }

    /// Batches this rank receives per epoch.
    fn __len__(&self) -> usize {
        self.ds.batches_per_epoch() as usize
    }

    /// Records this rank visits per epoch.
    #[getter]
    fn num_records(&self) -> u64 {
        self.ds.len()
    }

    /// Threads decoding records.
    #[getter]
    fn threads(&self) -> usize {
        self.ds.threads()
    }

    /// Records in all files.
    #[getter]
    fn total_records(&self) -> u64 {
        self.ds.total_records()
    }

    /// The files, in the order record ids refer to them.
    #[getter]
    fn paths(&self) -> Vec<String> {
        self.ds
            .paths()
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect()
    }

    /// This rank's records of `epoch` as `(file, index)` pairs, in order.
    fn order(&self, epoch: u64) -> Vec<(usize, u64)> {
        self.ds
            .order(epoch)
            .into_iter()
            .map(|id| (id.file, id.index))
            .collect()
    }

    /// `state` (the JSON of an `IterState`) as this dataset resumes it, and
    /// the records of this rank's part of that epoch (see
    /// `Dataset::resume_state`).
    fn resume_state(&self, state: &str) -> PyResult<(String, u64)> {
        let state = IterState::from_json(state).py_err()?;
        let resumed = self.ds.resume_state(state).py_err()?;
        let len = self.ds.part_len(resumed).py_err()?;
        Ok((resumed.to_json(), len))
    }

    /// The batches from `state` (the JSON of an `IterState`) to the end of
    /// that epoch; with `parts` > 1 only batches `part`, `part + parts`, ...
    /// of them. `ragged`
    /// is the type VarLen columns are built as; `report` is called with the
    /// list of skipped records (see `take_skips`) before the batch after
    /// them is returned.
    #[pyo3(signature = (state, ragged, part = 0, parts = 1, report = None))]
    fn iterate(
        &self,
        py: Python<'_>,
        state: &str,
        ragged: Py<PyAny>,
        part: usize,
        parts: usize,
        report: Option<Py<PyAny>>,
    ) -> PyResult<PyBatches> {
        let state = IterState::from_json(state).py_err()?;
        let iter = py
            .detach(|| match &self.spec {
                Some(spec) => self
                    .ds
                    .example_batches_split(spec, state, part, parts)
                    .map(Iter::Examples),
                None => self.ds.batches_split(state, part, parts).map(Iter::Tensors),
            })
            .py_err()?;
        Ok(PyBatches {
            iter: Mutex::new(Some(iter)),
            ragged,
            report,
            skips: self.skips.clone(),
            closed_at: Mutex::new(None),
        })
    }

    /// The records skipped since the last call, as dicts with `path`,
    /// `offset`, `len`, `index`, `kind` and `message`.
    fn take_skips<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        take_skips(py, &self.skips)
    }
}

fn take_skips<'py>(py: Python<'py>, skips: &SkipLog) -> PyResult<Bound<'py, PyList>> {
    let taken = match skips.lock() {
        Ok(mut log) => std::mem::take(&mut *log),
        Err(_) => Vec::new(),
    };
    let out = PyList::empty(py);
    for s in taken {
        let d = PyDict::new(py);
        d.set_item("path", s.path)?;
        d.set_item("offset", s.offset)?;
        d.set_item("len", s.len)?;
        d.set_item("index", s.index)?;
        d.set_item("kind", s.kind)?;
        d.set_item("message", s.message)?;
        out.append(d)?;
    }
    Ok(out)
}

fn report(s: &Skipped) -> SkipReport {
    SkipReport {
        path: s.path().map(|p| p.to_string_lossy().into_owned()),
        offset: s.offset,
        len: s.len,
        index: s.error.record_index(),
        kind: s.reason().name(),
        message: s.to_string(),
    }
}

enum Iter {
    Tensors(Batches),
    Examples(ExampleBatches),
}

impl Iter {
    fn state(&self) -> IterState {
        match self {
            Iter::Tensors(b) => b.state(),
            Iter::Examples(b) => b.state(),
        }
    }
}

/// One pass over an epoch's batches; see `PyDataset::iterate`.
#[pyclass(module = "tfrec._tfrec", name = "_Batches", frozen)]
pub(crate) struct PyBatches {
    /// `None` once closed.
    iter: Mutex<Option<Iter>>,
    ragged: Py<PyAny>,
    report: Option<Py<PyAny>>,
    skips: SkipLog,
    /// The state when closed.
    closed_at: Mutex<Option<IterState>>,
}

#[pymethods]
impl PyBatches {
    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// The next batch: an array `[B, ...]`, or a dict of feature arrays.
    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        // Ctrl-C between batches.
        py.check_signals()?;
        let next = py.detach(|| -> PyResult<Option<tfrec::Result<Next>>> {
            let mut guard = self.iter.lock().map_err(|_| poisoned())?;
            let Some(iter) = guard.as_mut() else {
                return Ok(None);
            };
            Ok(match iter {
                Iter::Tensors(b) => b.next().map(|r| r.map(Next::Tensor)),
                Iter::Examples(b) => b.next().map(|r| r.map(Next::Example)),
            })
        })?;
        let Some(next) = next else {
            return Ok(None);
        };
        if let Some(report) = &self.report {
            let pending = self.skips.lock().map(|l| !l.is_empty()).unwrap_or(false);
            if pending {
                report.call1(py, (take_skips(py, &self.skips)?,))?;
            }
        }
        let next = next.py_err()?;
        match next {
            Next::Tensor(b) => batch_to_numpy(py, b).map(Some),
            Next::Example(b) => example_batch_to_dict(py, b, self.ragged.bind(py)).map(Some),
        }
    }

    /// The state to resume from, as JSON: the batch after the last one
    /// returned (the next epoch's start after the last batch).
    fn state(&self) -> PyResult<String> {
        let guard = self.iter.lock().map_err(|_| poisoned())?;
        let state = match guard.as_ref() {
            Some(iter) => iter.state(),
            None => self
                .closed_at
                .lock()
                .ok()
                .and_then(|s| *s)
                .ok_or_else(|| PyRuntimeError::new_err("the iteration is closed"))?,
        };
        Ok(state.to_json())
    }

    /// Stops the prefetching now rather than when the object is collected;
    /// `state()` still gives where it stopped. (`yield from` calls it too.)
    fn close(&self, py: Python<'_>) {
        let iter = self.iter.lock().ok().and_then(|mut g| g.take());
        if let (Some(iter), Ok(mut at)) = (&iter, self.closed_at.lock()) {
            *at = Some(iter.state());
        }
        // Joining the prefetch thread waits for the batch being made.
        py.detach(move || drop(iter));
    }
}

enum Next {
    Tensor(tfrec::pipeline::Batch),
    Example(tfrec::pipeline::ExampleBatch),
}

fn poisoned() -> PyErr {
    PyRuntimeError::new_err("a previous call on this iterator panicked")
}
