//! Opening the files named on the command line (`-` is stdin).

use std::io;

use tfrec::{ReadOptions, Reader, Result};

/// Opens a TFRecord input: a path, or `-` for stdin. Compression is detected.
pub(crate) fn open(name: &str, options: ReadOptions) -> Result<Reader> {
    if name == "-" {
        Reader::from_read_with(io::stdin(), options)
            .map(|r| r.with_path("-"))
            .map_err(|e| e.with_path("-"))
    } else {
        Reader::open_with(name, options)
    }
}
