//! Parse specs from Python: the entries `tfrec.spec` normalizes
//! `FixedLen`/`VarLen` into, turned into the library's [`ParseSpec`].
//!
//! Knows nothing of files or records.

use std::str::FromStr;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use tfrec::example::{DefaultValue, ParseSpec};
use tfrec::DType;

use crate::errors::IntoPy;

/// One feature as `tfrec.spec` hands it over: name, kind (`"fixed"` or
/// `"var_len"`), dtype name (`"int64"`, `"float32"`, `"string"`), shape,
/// and the default's values flattened in C order (fixed features only).
pub(crate) type SpecEntry<'py> = (
    String,
    String,
    String,
    Vec<usize>,
    Option<Bound<'py, PyAny>>,
);

/// The library's spec for the entries; its own checks (a default of the
/// wrong length, a duplicate name, no features) raise `InvalidInputError`.
pub(crate) fn parse_spec(entries: Vec<SpecEntry<'_>>) -> PyResult<ParseSpec> {
    let mut spec = ParseSpec::new();
    for (name, kind, dtype, shape, default) in entries {
        let dtype = DType::from_str(&dtype).map_err(|_| {
            PyValueError::new_err(format!("feature {name:?}: unknown dtype {dtype:?}"))
        })?;
        spec = match kind.as_str() {
            "fixed" => {
                let default = default
                    .map(|d| default_value(&name, dtype, &d))
                    .transpose()?;
                spec.fixed(name, dtype, &shape, default)
            }
            "var_len" => spec.var_len(name, dtype),
            other => {
                return Err(PyValueError::new_err(format!(
                    "feature {name:?}: unknown kind {other:?}"
                )))
            }
        };
    }
    spec.check().py_err()?;
    Ok(spec)
}

fn default_value(name: &str, dtype: DType, values: &Bound<'_, PyAny>) -> PyResult<DefaultValue> {
    let wrong = |e: PyErr| {
        PyValueError::new_err(format!(
            "feature {name:?}: default does not hold {dtype} values: {e}"
        ))
    };
    Ok(match dtype {
        DType::I64 => DefaultValue::I64(values.extract::<Vec<i64>>().map_err(wrong)?),
        DType::F32 => DefaultValue::F32(values.extract::<Vec<f32>>().map_err(wrong)?),
        DType::String => DefaultValue::String(values.extract::<Vec<Vec<u8>>>().map_err(wrong)?),
        other => {
            return Err(PyValueError::new_err(format!(
                "feature {name:?}: dtype {other} is not int64, float32 or string"
            )))
        }
    })
}
