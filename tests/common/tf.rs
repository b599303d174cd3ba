//! Finding the Python with TensorFlow and running `tests/tf_helper.py`
//! with it. Knows nothing of what the tests compare.
//!
//! The Python comes from `TFREC_PYTHON`, or `.venv/bin/python` (made by
//! `.ci/setup-venv.sh`). Without TensorFlow the tests that need it are
//! skipped with a message, unless `TFREC_REQUIRE_TF=1` (set by `.ci/test`),
//! when they fail instead.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Python with TensorFlow, or `None` (after saying so) when absent and
/// not required.
pub fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("TFREC_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".venv/bin/python"));
    let works = Command::new(&candidate)
        .args(["-c", "import tensorflow"])
        .env("TF_CPP_MIN_LOG_LEVEL", "3")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if works {
        return Some(candidate);
    }
    if std::env::var_os("TFREC_REQUIRE_TF").is_some_and(|v| v == "1") {
        panic!(
            "TensorFlow is required (TFREC_REQUIRE_TF=1) but {} cannot import it",
            candidate.display()
        );
    }
    eprintln!(
        "skipping TensorFlow interop test: no TensorFlow at {}",
        candidate.display()
    );
    None
}

/// Runs `tf_helper.py ARGS...` and returns its standard output.
pub fn tf_helper(py: &Path, args: &[&str]) -> String {
    tf_helper_with_env(py, args, &[])
}

/// Runs `tf_helper.py ARGS...` with extra environment variables and
/// returns its standard output.
pub fn tf_helper_with_env(py: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new(py)
        .arg(root().join("tests/tf_helper.py"))
        .args(args)
        .env("TF_CPP_MIN_LOG_LEVEL", "3")
        .envs(env.iter().copied())
        .output()
        .expect("run tf_helper.py");
    assert!(
        out.status.success(),
        "tf_helper {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}
