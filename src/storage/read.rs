//! Reading objects: a sequential stream with read-ahead, and ranges.
//!
//! Knows nothing of TFRecord frames or of writing.
//!
//! A scan is one streaming GET read ahead of the reader by a task on the
//! store runtime, so it runs at the store's single-stream bandwidth while
//! the reader checks what has arrived (ranged GETs of chunks were tried
//! too, but servers that read a whole object per range request make each
//! of them cost the whole object). Random access fetches the ranges asked
//! for, neighbours coalesced into one request and several requests in
//! flight.

use std::io::{self, Read};
use std::ops::Range;

use bytes::{Buf, Bytes};
use futures::StreamExt;
use object_store::ObjectStoreExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::config::{block_on, spawn, store_error, store_io_error, Object};
use super::url::ObjectUrl;
use crate::error::{Error, Result};

/// Body chunks read ahead of the reader (the HTTP client's, tens of KiB
/// each: a few MiB in all).
const AHEAD: usize = 256;

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
        ObjectStream::new(self.clone())
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

/// A sequential [`Read`] over an object: one streaming GET, pulled by a
/// task on the store runtime into a bounded queue of 256 chunks, so that
/// the network and the reader's checking overlap. A body
/// broken midway is resumed from where it broke by a ranged GET of the
/// same version (the store client's retries).
pub struct ObjectStream {
    object: RemoteObject,
    queue: Option<mpsc::Receiver<io::Result<Bytes>>>,
    task: Option<JoinHandle<()>>,
    current: Bytes,
    /// Bytes handed out so far.
    read: u64,
}

impl ObjectStream {
    /// Opens `url` and starts reading it: one GET, whose answer gives the
    /// length too (no HEAD first: some servers read the whole object to
    /// answer one). A missing object is an error of kind `NotFound` naming
    /// the URL.
    pub fn open(url: &ObjectUrl) -> Result<ObjectStream> {
        let object = Object::new(url)?;
        let got = block_on(object.store.get(&object.key)).map_err(|e| store_error(e, url))?;
        let len = got.meta.size;
        let body = got.into_stream();
        let (tx, rx) = mpsc::channel(AHEAD);
        let task = spawn(pump(body, tx));
        Ok(ObjectStream {
            object: RemoteObject { object, len },
            queue: Some(rx),
            task: Some(task),
            current: Bytes::new(),
            read: 0,
        })
    }

    fn new(object: RemoteObject) -> ObjectStream {
        ObjectStream {
            object,
            queue: None,
            task: None,
            current: Bytes::new(),
            read: 0,
        }
    }

    fn start(&mut self) -> &mut mpsc::Receiver<io::Result<Bytes>> {
        let (tx, rx) = mpsc::channel(AHEAD);
        let store = self.object.object.store.clone();
        let key = self.object.object.key.clone();
        self.task = Some(spawn(async move {
            let body = match store.get(&key).await {
                Ok(got) => got.into_stream(),
                Err(e) => {
                    let _ = tx.send(Err(store_io_error(e))).await;
                    return;
                }
            };
            pump(body, tx).await;
        }));
        self.queue.insert(rx)
    }

    /// The next chunk, or an empty one at the end.
    fn next_chunk(&mut self) -> io::Result<Bytes> {
        let queue = match self.queue.as_mut() {
            Some(queue) => queue,
            None if self.object.len == 0 => return Ok(Bytes::new()),
            None => self.start(),
        };
        match queue.blocking_recv() {
            Some(chunk) => {
                let chunk = chunk?;
                self.read += chunk.len() as u64;
                if self.read > self.object.len {
                    return Err(changed(self.object.len, self.read));
                }
                Ok(chunk)
            }
            None if self.read != self.object.len => Err(changed(self.object.len, self.read)),
            None => Ok(Bytes::new()),
        }
    }
}

/// Moves a body into the queue as it arrives (no copying: the reader
/// shares the machine with the network task).
async fn pump(
    mut body: futures::stream::BoxStream<'static, object_store::Result<Bytes>>,
    tx: mpsc::Sender<io::Result<Bytes>>,
) {
    while let Some(chunk) = body.next().await {
        let failed = chunk.is_err();
        if tx.send(chunk.map_err(store_io_error)).await.is_err() || failed {
            return;
        }
    }
}

fn changed(len: u64, read: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("the object changed while read: {len} bytes when opened, {read} read"),
    )
}

impl Read for ObjectStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            self.current = self.next_chunk()?;
            if self.current.is_empty() {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

impl Drop for ObjectStream {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
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
