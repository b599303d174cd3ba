//! How a command ends and what it says besides its records: the
//! [`Failure`] it returns, warnings on stderr, and the one summary line of
//! a sharded write (`convert`, `pack --out-dir`).
//!
//! Knows nothing of flags or of any one command, and holds no logic the
//! library lacks: it only words what the library reports.

use std::io::{self, Write};
use std::path::Path;

use tfrec::write::sharded::Manifest;

/// How a command ended when it did not simply succeed.
pub(crate) enum Failure {
    /// Problems were already reported on stderr.
    Reported,
    /// One error to report.
    Error(String),
    /// The reader of stdout went away (`tfrec cat | head`): stop quietly.
    BrokenPipe,
}

impl From<tfrec::Error> for Failure {
    fn from(e: tfrec::Error) -> Self {
        match e.io_error() {
            Some(io) if is_broken_pipe(io) => Failure::BrokenPipe,
            _ => Failure::Error(e.to_string()),
        }
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        if is_broken_pipe(&e) {
            Failure::BrokenPipe
        } else {
            Failure::Error(e.to_string())
        }
    }
}

impl From<String> for Failure {
    fn from(msg: String) -> Self {
        Failure::Error(msg)
    }
}

/// Prints one line on stderr; a closed stderr is not worth a panic.
pub(crate) fn warn(msg: &dyn std::fmt::Display) {
    let _ = writeln!(io::stderr(), "{msg}");
}

/// True for the error a closed pipe gives (`tfrec cat | head`).
fn is_broken_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// One line on stdout: where the manifest is, and what the job wrote.
pub(crate) fn report(out_dir: &Path, manifest: &Manifest) -> Result<(), Failure> {
    let path = out_dir.join(Manifest::file_name(&manifest.stem));
    writeln!(
        io::stdout().lock(),
        "{}\t{} shards\t{} records\t{} bytes",
        path.display(),
        manifest.shards.len(),
        manifest.records(),
        manifest.bytes()
    )?;
    Ok(())
}
