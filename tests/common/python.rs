//! Finding a Python that can import what a test needs, and running the
//! helper scripts in `tests/` with it. Knows nothing of what the scripts
//! do.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::process::stdout_ok;

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What a group of tests needs of Python, and the variables that say where
/// it is and whether it must be there.
pub struct Needs {
    /// Names the group in messages ("TensorFlow").
    pub what: &'static str,
    /// The variable naming the Python (`TFREC_PYTHON`).
    pub python_var: &'static str,
    /// The Python when that variable is unset, relative to the root.
    pub default: &'static str,
    /// Python code that fails without what is needed.
    pub check: &'static str,
    /// The variable that, set to 1, fails the tests instead of skipping.
    pub require_var: &'static str,
    /// Names what is missing in the skip message ("TensorFlow").
    pub missing: &'static str,
}

/// The Python that has what `needs` asks for, or `None` (after saying so)
/// when absent and not required.
pub fn find_python(needs: &Needs) -> Option<PathBuf> {
    let candidate = std::env::var_os(needs.python_var)
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(needs.default));
    let works = Command::new(&candidate)
        .args(["-c", needs.check])
        .env("TF_CPP_MIN_LOG_LEVEL", "3")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if works {
        return Some(candidate);
    }
    if std::env::var_os(needs.require_var).is_some_and(|v| v == "1") {
        panic!(
            "{} is required ({}=1) but {} cannot import it",
            needs.what,
            needs.require_var,
            candidate.display()
        );
    }
    eprintln!(
        "skipping {} interop test: no {} at {}",
        needs.what,
        needs.missing,
        candidate.display()
    );
    None
}

/// `py tests/SCRIPT`, with TensorFlow's C++ logging quiet.
pub fn helper_command(py: &Path, script: &str) -> Command {
    let mut cmd = Command::new(py);
    cmd.arg(root().join("tests").join(script))
        .env("TF_CPP_MIN_LOG_LEVEL", "3");
    cmd
}

/// Runs `tests/SCRIPT ARGS` with extra environment variables; it must
/// succeed. Returns its standard output.
pub fn run_helper(py: &Path, script: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    stdout_ok(
        helper_command(py, script)
            .args(args)
            .envs(env.iter().copied()),
    )
}
