//! `tfrec index`.
//!
//! Holds no logic the library lacks: `tfrec::index::Index` scans the file
//! and writes the sidecar.

use std::io::{self, Write};

use tfrec::index::Index;

use crate::output::{warn, Failure};

/// Write `FILE.idx` beside each file: one line per record, its frame's byte
/// offset and length (including the 16 framing bytes), as the Python
/// `tfrecord` package and NVIDIA DALI read them. The file's headers are
/// scanned afresh; the sidecar appears atomically. Prints
/// `SIDECAR<TAB>N records` per file.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Uncompressed TFRecord files (compressed files have no random access).
    #[arg(required = true)]
    pub(crate) files: Vec<String>,
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let mut out = io::stdout().lock();
    let mut failed = false;
    for name in &args.files {
        let written = if name == "-" {
            Err(tfrec::Error::new(tfrec::ErrorKind::InvalidInput {
                reason: "stdin cannot be indexed".into(),
            })
            .with_path("-"))
        } else {
            Index::scan_file(name).and_then(|index| {
                let sidecar = index.write_sidecar(name)?;
                Ok((sidecar, index.len()))
            })
        };
        match written {
            Ok((sidecar, n)) => writeln!(out, "{}\t{n} records", sidecar.display())?,
            Err(e) => {
                failed = true;
                out.flush()?;
                warn(&e);
            }
        }
    }
    if failed {
        Err(Failure::Reported)
    } else {
        Ok(())
    }
}
