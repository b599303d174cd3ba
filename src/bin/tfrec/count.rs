//! `tfrec count`.
//!
//! Holds no logic the library lacks: the reader counts the frames.

use std::io::{self, Write};

use crate::inputs;
use crate::output::{warn, Failure};

/// Count records by walking the frame headers (length CRCs checked,
/// payloads skipped). Prints `FILE<TAB>N` per file, then `total<TAB>N`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// TFRecord files (uncompressed, GZIP or ZLIB); `-` for stdin.
    #[arg(required = true)]
    pub(crate) files: Vec<String>,
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut total = 0u64;
    let mut failed = false;
    for name in &args.files {
        let counted = inputs::open(name, inputs::options()).and_then(|mut r| r.count());
        match counted {
            Ok(n) => {
                total += n;
                writeln!(out, "{name}\t{n}")?;
            }
            Err(e) => {
                failed = true;
                out.flush()?;
                warn(&e);
            }
        }
    }
    writeln!(out, "total\t{total}")?;
    if failed {
        Err(Failure::Reported)
    } else {
        Ok(())
    }
}
