//! Reading objects: a sequential stream with read-ahead, and ranges.
//!
//! A scan runs near one stream's bandwidth by keeping several ranged GETs
//! in flight, in order, each for one chunk; the stream hands them out as
//! they complete. Random access fetches the ranges asked for, neighbours
//! coalesced into one request by the store.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::ops::Range;

use bytes::Bytes;
use object_store::ObjectStoreExt;
use tokio::task::JoinHandle;

use super::config::{block_on, spawn, store_error, store_io_error, Object};
use super::url::ObjectUrl;
use crate::error::{Error, Result};

/// Bytes per ranged GET of a sequential scan.
const CHUNK: u64 = 8 << 20;
/// The first GET's size; each next one doubles up to [`CHUNK`], so that
/// opening an object to peek at its start costs little.
const FIRST_CHUNK: u64 = 256 << 10;
/// Ranged GETs kept in flight ahead of the reader.
const AHEAD: usize = 4;

/// An object in a store, opened: its client, key and length.
#[derive(Clone)]
pub struct RemoteObject {
    object: Object,
    len: u64,
}

impl RemoteObject {
    /// Opens `url`: one HEAD request for the object's length. A missing
    /// object is an error of kind `NotFound` naming the URL.
    pub fn open(url: &ObjectUrl) -> Result<RemoteObject> {
        let object = Object::new(url)?;
        let meta = block_on(object.store.head(&object.key)).map_err(|e| store_error(e, url))?;
        Ok(RemoteObject {
            object,
            len: meta.size,
        })
    }

    /// The object's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for an empty object.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The object's URL.
    pub fn url(&self) -> &ObjectUrl {
        &self.object.url
    }

    /// The bytes in `range`, which must lie within the object.
    pub fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        let want = range.end.saturating_sub(range.start);
        let bytes = block_on(self.object.store.get_range(&self.object.key, range.clone()))
            .map_err(|e| store_error(e, &self.object.url))?;
        check_len(bytes, want, range.start).map_err(|e| self.err(e))
    }

    /// The bytes of each range, fetched with neighbouring ranges coalesced
    /// into single requests and the requests run concurrently.
    pub fn read_ranges(&self, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let got = block_on(self.object.store.get_ranges(&self.object.key, ranges))
            .map_err(|e| store_error(e, &self.object.url))?;
        ranges
            .iter()
            .zip(got)
            .map(|(r, bytes)| {
                check_len(bytes, r.end.saturating_sub(r.start), r.start).map_err(|e| self.err(e))
            })
            .collect()
    }

    /// Reads `dst.len()` bytes at `offset` (a positioned read).
    pub(crate) fn read_exact_at(&self, dst: &mut [u8], offset: u64) -> io::Result<()> {
        let range = offset..offset + dst.len() as u64;
        let bytes = block_on(self.object.store.get_range(&self.object.key, range))
            .map_err(store_io_error)?;
        let bytes = check_len(bytes, dst.len() as u64, offset)?;
        dst.copy_from_slice(&bytes);
        Ok(())
    }

    /// A sequential stream over the whole object with read-ahead.
    pub fn stream(&self) -> ObjectStream {
        ObjectStream::new(self.clone(), 0)
    }

    fn err(&self, e: io::Error) -> Error {
        Error::from(e).with_path(self.object.url.to_path_buf())
    }
}

/// The object was cut short (or replaced) while read: the store sent fewer
/// bytes than the length it gave.
fn check_len(bytes: Bytes, want: u64, at: u64) -> io::Result<Bytes> {
    if bytes.len() as u64 == want {
        return Ok(bytes);
    }
    Err(io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!(
            "the object changed while read: asked for {want} bytes at offset {at}, got {}",
            bytes.len()
        ),
    ))
}

/// A sequential [`Read`] over an object: chunks are fetched by ranged GETs,
/// several in flight, and handed out in order.
pub struct ObjectStream {
    object: RemoteObject,
    /// Where the next chunk to request starts.
    next: u64,
    chunk: u64,
    inflight: VecDeque<(u64, u64, JoinHandle<object_store::Result<Bytes>>)>,
    current: Bytes,
}

impl ObjectStream {
    fn new(object: RemoteObject, from: u64) -> ObjectStream {
        ObjectStream {
            object,
            next: from,
            chunk: FIRST_CHUNK,
            inflight: VecDeque::new(),
            current: Bytes::new(),
        }
    }

    fn request_ahead(&mut self) {
        while self.inflight.len() < AHEAD && self.next < self.object.len {
            let start = self.next;
            let end = (start + self.chunk).min(self.object.len);
            self.chunk = (self.chunk * 2).min(CHUNK);
            let store = self.object.object.store.clone();
            let key = self.object.object.key.clone();
            let task = spawn(async move { store.get_range(&key, start..end).await });
            self.inflight.push_back((start, end - start, task));
            self.next = end;
        }
    }

    /// The next chunk, or an empty one at the end.
    fn next_chunk(&mut self) -> io::Result<Bytes> {
        self.request_ahead();
        let Some((start, want, task)) = self.inflight.pop_front() else {
            return Ok(Bytes::new());
        };
        let bytes = block_on(task)
            .map_err(|e| io::Error::other(format!("object read task failed: {e}")))?
            .map_err(store_io_error)?;
        let bytes = check_len(bytes, want, start)?;
        self.request_ahead();
        Ok(bytes)
    }
}

impl Read for ObjectStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.current.is_empty() {
            self.current = self.next_chunk()?;
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

impl Drop for ObjectStream {
    fn drop(&mut self) {
        for (_, _, task) in self.inflight.drain(..) {
            task.abort();
        }
    }
}

/// Reads a whole (small) object, such as a sidecar or manifest; `Ok(None)`
/// when it does not exist.
pub(crate) fn read_small(url: &ObjectUrl) -> Result<Option<Bytes>> {
    let object = Object::new(url)?;
    let got = block_on(async {
        match object.store.get(&object.key).await {
            Ok(result) => result.bytes().await.map(Some),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    });
    got.map_err(|e| store_error(e, url))
}

