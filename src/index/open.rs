//! [`Index::open`] and its variants: a path names a file on this machine
//! or an object in a store, indexed by the one or the other part. Knows
//! nothing of how either is read, scanned or checked.

use std::path::Path;

use crate::error::Result;

use super::table::{Index, IndexOptions};
use super::{local, remote};

impl Index {
    /// The index of `path`, from its sidecar when present and consistent,
    /// otherwise by scanning the frame headers.
    pub fn open(path: impl AsRef<Path>) -> Result<Index> {
        Index::open_with(path, &IndexOptions::default())
    }

    /// Like [`open`](Index::open), with options.
    pub fn open_with(path: impl AsRef<Path>, options: &IndexOptions) -> Result<Index> {
        let path = path.as_ref();
        open_inner(path, options).map_err(|e| e.with_path(path))
    }

    /// Scans the frame headers of `path`, ignoring any sidecar. Lengths and
    /// their CRCs are checked; payloads are not read (small records are read
    /// in large chunks, large ones skipped over).
    pub fn scan_file(path: impl AsRef<Path>) -> Result<Index> {
        Index::open_with(path, &IndexOptions::default().use_sidecar(false))
    }
}

fn open_inner(path: &Path, options: &IndexOptions) -> Result<Index> {
    if let Some(url) = crate::storage::remote(path) {
        return remote::open_indexed(&url, options).map(|(index, _)| index);
    }
    local::open_indexed(path, options, false).map(|(index, _)| index)
}
