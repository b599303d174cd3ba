//! Opening the files named on the command line (`-` is stdin, object URLs
//! may hold globs), with the read options every command shares.
//!
//! Knows nothing of any one command, and holds no logic the library lacks:
//! it picks among the library's readers and options.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use tfrec::read::CorruptionPolicy;
use tfrec::{ReadOptions, Reader, Result};

use crate::output::warn;

static NO_MMAP: AtomicBool = AtomicBool::new(false);

/// Makes every command read plain files without memory-mapping them
/// (`--no-mmap`).
pub(crate) fn set_no_mmap(yes: bool) {
    NO_MMAP.store(yes, Ordering::Relaxed);
}

/// Whether files may be memory-mapped.
pub(crate) fn mmap() -> bool {
    !NO_MMAP.load(Ordering::Relaxed)
}

/// The read options every command starts from.
pub(crate) fn options() -> ReadOptions {
    ReadOptions::default().mmap(mmap())
}

/// The read options with the damage policy of `--skip-corrupt
/// [--max-skipped N]`: skip and resync, or stop at the first damage.
pub(crate) fn options_skipping(skip_corrupt: bool, max_skipped: Option<u64>) -> ReadOptions {
    let options = options();
    if !skip_corrupt {
        return options;
    }
    let options = options.corruption(CorruptionPolicy::Skip);
    match max_skipped {
        Some(limit) => options.max_skipped(limit),
        None => options,
    }
}

/// Reports each stretch the reader skips on stderr, one line each.
pub(crate) fn report_skips(reader: Reader) -> Reader {
    reader.on_skip(|skipped| warn(&format!("tfrec: {skipped}")))
}

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

/// Fails with the error naming `name` when there is no such file or
/// object (a HEAD request for objects).
pub(crate) fn check_exists(name: &str) -> Result<()> {
    if let Some(url) = tfrec::storage::ObjectUrl::parse(name) {
        return tfrec::storage::RemoteObject::open(&url).map(|_| ());
    }
    std::fs::metadata(name)
        .map(|_| ())
        .map_err(|e| tfrec::Error::from(e).with_path(name))
}

/// `names` with each object URL holding glob characters (`s3://b/train-*`)
/// replaced by the objects it matches, in key order; a pattern matching
/// nothing is an error.
pub(crate) fn expand_object_globs(names: Vec<String>) -> Result<Vec<String>> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        match tfrec::storage::ObjectUrl::parse(&name) {
            Some(url) if url.key().contains(['*', '?', '[']) => {
                let found = tfrec::storage::glob(&url)?;
                if found.is_empty() {
                    return Err(tfrec::Error::from(io::Error::new(
                        io::ErrorKind::NotFound,
                        "the pattern matches no object",
                    ))
                    .with_path(&name));
                }
                out.extend(found.iter().map(ToString::to_string));
            }
            _ => out.push(name),
        }
    }
    Ok(out)
}
