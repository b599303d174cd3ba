//! The Python with TensorFlow, and `tests/tf_helper.py` run with it. Knows
//! nothing of what the tests compare.
//!
//! The Python comes from `TFREC_PYTHON`, or `.venv/bin/python` (made by
//! `.ci/setup-venv.sh`). Without TensorFlow the tests that need it are
//! skipped with a message, unless `TFREC_REQUIRE_TF=1` (set by `.ci/test`),
//! when they fail instead.

use std::path::{Path, PathBuf};

pub use super::python::root;
use super::python::{find_python, run_helper, Needs};

/// The Python with TensorFlow, or `None` (after saying so) when absent and
/// not required.
pub fn python() -> Option<PathBuf> {
    find_python(&Needs {
        what: "TensorFlow",
        python_var: "TFREC_PYTHON",
        default: ".venv/bin/python",
        check: "import tensorflow",
        require_var: "TFREC_REQUIRE_TF",
        missing: "TensorFlow",
    })
}

/// Runs `tf_helper.py ARGS...` and returns its standard output.
pub fn tf_helper(py: &Path, args: &[&str]) -> String {
    tf_helper_with_env(py, args, &[])
}

/// Runs `tf_helper.py ARGS...` with extra environment variables and
/// returns its standard output.
pub fn tf_helper_with_env(py: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    run_helper(py, "tf_helper.py", args, env)
}
