//! `tfrec._tfrec`: the compiled half of the `tfrec` Python package.
//!
//! A translation layer only: Python values in, calls into the `tfrec`
//! library, Python values and exceptions out. Reading, CRCs, parsing,
//! ordering, splitting files into pieces and threads all live in the
//! library. Every call that reads,
//! writes or decodes more than a record runs with the GIL released, on a
//! per-process thread pool ([`pool`]) that is created lazily and again in a
//! forked child.

mod blocks;
mod convert;
mod dataset;
mod dataset_arrays;
mod dataset_map;
mod errors;
mod finalize;
mod many;
mod partition;
mod pool;
mod reader;
mod records;
mod spark_rows;
mod spec;
mod tensor;
mod writer;

#[allow(unused_imports)]
pub(crate) use convert::view_to_numpy;

use pyo3::prelude::*;

/// The extension module.
#[pymodule(gil_used = false)]
fn _tfrec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(pool::num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(tensor::_serialize_array, m)?)?;
    m.add_function(wrap_pyfunction!(tensor::_serialize_strings, m)?)?;
    m.add_function(wrap_pyfunction!(tensor::_parse_tensor, m)?)?;
    m.add_function(wrap_pyfunction!(tensor::_dtype_codes, m)?)?;
    m.add_function(wrap_pyfunction!(writer::_serialize_example, m)?)?;
    m.add_function(wrap_pyfunction!(many::_parse_example, m)?)?;
    m.add_function(wrap_pyfunction!(many::_get_many, m)?)?;
    m.add_function(wrap_pyfunction!(blocks::read_block, m)?)?;
    m.add_function(wrap_pyfunction!(blocks::detect_kind, m)?)?;
    m.add_function(wrap_pyfunction!(blocks::file_offsets, m)?)?;
    m.add_function(wrap_pyfunction!(blocks::_frame_payload, m)?)?;
    m.add_class::<reader::RecordFile>()?;
    m.add_class::<reader::RecordIter>()?;
    m.add_class::<writer::RecordWriter>()?;
    m.add_class::<dataset::PyDataset>()?;
    m.add_class::<dataset::PyBatches>()?;
    m.add_class::<dataset_arrays::BatchBuffer>()?;
    m.add_class::<dataset_map::RecordIndex>()?;
    m.add_class::<spark_rows::ExampleColumns>()?;
    m.add_function(wrap_pyfunction!(finalize::_finalize_shards, m)?)?;
    m.add_function(wrap_pyfunction!(finalize::_check_stem, m)?)?;
    m.add_function(wrap_pyfunction!(partition::_read_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(partition::_default_parts, m)?)?;
    m.add_function(wrap_pyfunction!(partition::_split_reads, m)?)?;
    m.add_function(wrap_pyfunction!(partition::_contiguous_groups, m)?)?;
    m.add_function(wrap_pyfunction!(partition::_record_ranges, m)?)?;
    m.add_class::<partition::PyRecordNumbering>()?;
    Ok(())
}
