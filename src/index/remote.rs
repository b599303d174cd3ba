//! Indexing objects in a store.
//!
//! The sidecar `KEY.idx` next to the object is used when consistent (its
//! sampled headers are checked with small ranged reads); otherwise the
//! object is scanned once as a stream with read-ahead, which costs one
//! sequential read of it instead of a request per record.

use std::io::{self, Read};

use super::SidecarCheck;
use super::{
    check_headers, check_layout, walk_headers, FrameBuf, Index, IndexOptions, IndexSource,
};
use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::framing::{FRAME_OVERHEAD, HEADER_LEN};
use crate::storage::{read_small, ObjectUrl, RemoteObject};

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
    let compression = Compression::detect(&prefix);
    if compression != Compression::None {
        return Err(Error::invalid_input(format!(
            "{compression} file: compressed files have no random access and cannot be indexed"
        )));
    }
    let mut source = IndexSource::Scanned;
    if options.use_sidecar {
        match read_sidecar(url, &object, options) {
            Ok(Some(offsets)) => {
                let index = Index {
                    offsets,
                    file_len: len,
                    source: IndexSource::Sidecar,
                };
                return Ok((index, object));
            }
            Ok(None) => {}
            Err(reason) => source = IndexSource::SidecarRejected { reason },
        }
    }
    let offsets = scan(&object, options.max_record_len)?;
    let index = Index {
        offsets,
        file_len: len,
        source,
    };
    Ok((index, object))
}

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
    let most = (file_len / FRAME_OVERHEAD as u64 + 1).saturating_mul(42);
    if text.len() as u64 > most {
        return Err(format!(
            "{sidecar} is {} bytes, too long for a {file_len}-byte file",
            text.len()
        ));
    }
    let entries = Index::parse_sidecar(&text).map_err(|e| e.kind().to_string())?;
    check_layout(&entries, file_len, options.max_record_len)?;
    // Each sampled header is a request: fewer of them than for a file.
    let check = match options.check {
        SidecarCheck::Sample(k) => SidecarCheck::Sample(k.min(REMOTE_SAMPLE)),
        all => all,
    };
    check_headers(
        |dst, at| object.read_exact_at(dst, at),
        file_len,
        &entries,
        check,
    )?;
    Ok(Some(entries.iter().map(|e| e.offset).collect()))
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

impl FrameBuf {
    /// Reads `len` bytes at `offset` of `object` into the buffer.
    pub(crate) fn read_remote(
        &mut self,
        object: &RemoteObject,
        offset: u64,
        len: usize,
    ) -> io::Result<&[u8]> {
        if self.buf.len() < len {
            let size = len.max(self.buf.len() * 2).max(64 << 10);
            self.buf = vec![0u8; size];
        }
        let dst = &mut self.buf[..len];
        object.read_exact_at(dst, offset)?;
        Ok(dst)
    }
}

impl super::IndexedFile {
    /// Whether records are read from an object in a store.
    pub(crate) fn is_remote(&self) -> bool {
        matches!(self.access, super::Access::Remote(_))
    }

    /// The checked payloads of records `indices` of an object, fetched
    /// together: neighbouring frames are coalesced into one ranged GET and
    /// the GETs run concurrently. `None` for files (read record by record).
    pub(crate) fn fetch_payloads(&self, indices: &[usize]) -> Option<Result<Vec<Vec<u8>>>> {
        let super::Access::Remote(object) = &self.access else {
            return None;
        };
        let fetch = || -> Result<Vec<Vec<u8>>> {
            let mut ranges = Vec::with_capacity(indices.len());
            for &i in indices {
                let (entry, len) = self.locate(i)?;
                ranges.push(entry.offset..entry.offset + len as u64);
            }
            let frames = object.read_ranges(&ranges)?;
            indices
                .iter()
                .zip(&frames)
                .map(|(&i, frame)| self.checked_payload(i, frame).map(<[u8]>::to_vec))
                .collect()
        };
        Some(fetch().map_err(|e| e.with_path(&self.path)))
    }
}
