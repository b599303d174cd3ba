//! Indexing a file on this machine: its sidecar when consistent, otherwise
//! a scan of its frame headers (in a memory map when one is asked for).
//! Knows nothing of object stores or of reading records.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::read::mmap::Mmap;
use crate::read::positioned::read_exact_at;

use super::scan::{scan, scan_mapped};
use super::sidecar::{check_sidecar_len, check_uncompressed, sidecar_offsets, sidecar_or_scan};
use super::table::{Index, IndexOptions};

/// The index of `path` and, when `map` is asked for and the index had to be
/// scanned, the map the headers were scanned in.
pub(super) fn open_indexed(
    path: &Path,
    options: &IndexOptions,
    map: bool,
) -> Result<(Index, Option<Mmap>)> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Error::invalid_input(
            "not a regular file: cannot be indexed",
        ));
    }
    let len = meta.len();
    let prefix = crate::read::peek(&mut &file, Compression::DETECT_LEN)?;
    check_uncompressed(&prefix)?;
    let sidecar = || read_sidecar(path, &file, len, options);
    let scan = || {
        let mapped = if map && len > 0 {
            Mmap::map(&file, path)?
        } else {
            None
        };
        match mapped {
            Some(mapped) => {
                if mapped.len() as u64 != len {
                    return Err(Error::invalid_input("the file changed size while opened"));
                }
                let offsets =
                    scan_mapped(&mapped, options.max_record_len).map_err(|e| mapped.explain(e))?;
                Ok((offsets, Some(mapped)))
            }
            None => Ok((scan(&file, len, options.max_record_len)?, None)),
        }
    };
    sidecar_or_scan(len, options, sidecar, scan)
}

/// The sidecar's offsets if it exists and is consistent; `Err(reason)` when
/// it exists and is not.
fn read_sidecar(
    path: &Path,
    file: &File,
    file_len: u64,
    options: &IndexOptions,
) -> std::result::Result<Option<Vec<u64>>, String> {
    let sidecar = Index::sidecar_path(path);
    let Ok(mut side) = File::open(&sidecar) else {
        return Ok(None);
    };
    let side_len = side.metadata().map_err(|e| e.to_string())?.len();
    check_sidecar_len(&sidecar.display(), side_len, file_len)?;
    let mut text = Vec::with_capacity(side_len as usize);
    side.read_to_end(&mut text).map_err(|e| e.to_string())?;
    sidecar_offsets(
        &text,
        file_len,
        options.max_record_len,
        options.check,
        |dst, at| read_exact_at(file, dst, at),
    )
    .map(Some)
}
