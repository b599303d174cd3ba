//! Indexing objects in a store.
//!
//! The sidecar `KEY.idx` next to the object is used when consistent (its
//! sampled headers are checked with small ranged reads); otherwise the
//! object is scanned once as a stream with read-ahead, which costs one
//! sequential read of it instead of a request per record. Knows nothing of
//! local files, memory maps or reading records.

use std::io::{self, Read};

use crate::compression::Compression;
use crate::error::Result;
use crate::framing::HEADER_LEN;
use crate::storage::{read_small, ObjectUrl, RemoteObject};

use super::scan::walk_headers;
use super::sidecar::{check_sidecar_len, check_uncompressed, sidecar_offsets, sidecar_or_scan};
use super::table::{Index, IndexOptions, SidecarCheck};

/// Headers checked against a sidecar (one small GET each).
const REMOTE_SAMPLE: usize = 32;

/// The index of the object at `url`, and the object opened.
pub(super) fn open_indexed(
    url: &ObjectUrl,
    options: &IndexOptions,
) -> Result<(Index, RemoteObject)> {
    let object = RemoteObject::open(url)?;
    let len = object.len();
    let prefix = object.read_range(0..len.min(Compression::DETECT_LEN as u64))?;
    check_uncompressed(&prefix)?;
    let sidecar = || read_sidecar(url, &object, options);
    let scan = || Ok((scan(&object, options.max_record_len)?, None::<()>));
    let (index, _) = sidecar_or_scan(len, options, sidecar, scan)?;
    Ok((index, object))
}

/// The sidecar's offsets if it exists and is consistent; `Err(reason)` when
/// it exists and is not.
fn read_sidecar(
    url: &ObjectUrl,
    object: &RemoteObject,
    options: &IndexOptions,
) -> std::result::Result<Option<Vec<u64>>, String> {
    let sidecar = url.with_suffix(".idx");
    let file_len = object.len();
    let text = match read_small(&sidecar) {
        Ok(Some(text)) => text,
        Ok(None) => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    check_sidecar_len(&sidecar, text.len() as u64, file_len)?;
    // Each sampled header is a request: fewer of them than for a file.
    let check = match options.check {
        SidecarCheck::Sample(k) => SidecarCheck::Sample(k.min(REMOTE_SAMPLE)),
        all => all,
    };
    sidecar_offsets(&text, file_len, options.max_record_len, check, |dst, at| {
        object.read_exact_at(dst, at)
    })
    .map(Some)
}

/// Walks the frame headers in one sequential read of the object.
fn scan(object: &RemoteObject, max_record_len: u64) -> Result<Vec<u64>> {
    let mut stream = object.stream();
    let mut at = 0u64;
    let mut skip = vec![0u8; 64 << 10];
    walk_headers(object.len(), max_record_len, |pos, _| {
        while at < pos {
            let n = (pos - at).min(skip.len() as u64) as usize;
            stream.read_exact(&mut skip[..n])?;
            at += n as u64;
        }
        let mut header = [0u8; HEADER_LEN];
        match stream.read_exact(&mut header) {
            Ok(()) => {
                at += HEADER_LEN as u64;
                Ok(Some(header))
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
            Err(e) => Err(e),
        }
    })
}
