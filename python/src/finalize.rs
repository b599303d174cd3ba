//! Moving the shards that separate tasks staged into one job's final
//! names (`tfrec::write::sharded::finalize`), for distributed writers.
//!
//! Knows nothing of Ray or Spark, nor of how the tasks wrote their shards.

use std::path::PathBuf;

use pyo3::prelude::*;

use crate::errors::IntoPy;
use crate::writer::parse_compression;

/// Renames the shards listed by the staged manifests `parts` (in order) to
/// `{stem}-{i:05}-of-{n:05}` in `out_dir`, writes the manifest and returns
/// it as JSON text.
#[pyfunction]
#[pyo3(signature = (out_dir, stem, parts, compression = None, sync = true))]
pub(crate) fn _finalize_shards(
    py: Python<'_>,
    out_dir: PathBuf,
    stem: &str,
    parts: Vec<PathBuf>,
    compression: Option<&str>,
    sync: bool,
) -> PyResult<String> {
    let compression = parse_compression(compression)?;
    let manifest = py
        .detach(|| tfrec::write::sharded::finalize(&out_dir, stem, &parts, compression, sync))
        .py_err()?;
    Ok(manifest.to_json())
}

/// Refuses a shard stem that is not a plain, non-hidden file name
/// (`tfrec::write::sharded::check_stem`), for writers that stage files
/// under the stem before any shard is written.
#[pyfunction]
pub(crate) fn _check_stem(stem: &str) -> PyResult<()> {
    tfrec::write::sharded::check_stem(stem).py_err()
}
