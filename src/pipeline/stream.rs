//! Streamed datasets: records read in file order, kept for this rank, and
//! mixed by a seeded shuffle buffer.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::index::IndexedFile;
use crate::read::{ReadOptions, Reader};

use super::batch::RecordId;
use super::dataset::{Inner, ShardMode};
use super::part::Part;
use super::rng::Xoshiro256;

/// A fixed-size buffer that emits a uniformly chosen element for each one
/// it takes in once full, and empties in random order at the end.
pub(crate) struct ShuffleBuffer<T> {
    items: Vec<T>,
    capacity: usize,
    rng: Xoshiro256,
}

impl<T> ShuffleBuffer<T> {
    pub(crate) fn new(capacity: usize, rng: Xoshiro256) -> Self {
        ShuffleBuffer {
            items: Vec::with_capacity(capacity.min(4096)),
            capacity: capacity.max(1),
            rng,
        }
    }

    /// Takes `item`; once the buffer is full, gives back a random element.
    pub(crate) fn push(&mut self, item: T) -> Option<T> {
        if self.items.len() < self.capacity {
            self.items.push(item);
            return None;
        }
        let j = self.rng.below(self.capacity as u64) as usize;
        Some(std::mem::replace(&mut self.items[j], item))
    }

    /// A random remaining element.
    pub(crate) fn pop(&mut self) -> Option<T> {
        if self.items.is_empty() {
            return None;
        }
        let j = self.rng.below(self.items.len() as u64) as usize;
        Some(self.items.swap_remove(j))
    }
}

/// One record read from a stream.
pub(crate) struct Item {
    pub(crate) id: RecordId,
    pub(crate) offset: u64,
    pub(crate) payload: Vec<u8>,
}

/// Reads a streamed epoch's records for this rank, in
/// [`Inner::order`]'s order.
pub(crate) struct Streamer {
    inner: Arc<Inner>,
    /// The rank's part: which records of the stream it keeps.
    part: Part,
    files: Vec<usize>,
    next_file: usize,
    /// The file being read, its reader, and how many records it has given.
    reader: Option<(usize, Reader, u64)>,
    /// Stream position of the next record read.
    k: u64,
    buffer: Option<ShuffleBuffer<Item>>,
    draining: bool,
    spare: Vec<Vec<u8>>,
}

impl Streamer {
    pub(crate) fn new(inner: Arc<Inner>, part: Part, epoch: u64) -> Streamer {
        let buffer = inner
            .buffer_rng(epoch)
            .map(|rng| ShuffleBuffer::new(inner.cfg.shuffle_buffer, rng));
        Streamer {
            files: inner.file_order(epoch),
            inner,
            part,
            next_file: 0,
            reader: None,
            k: 0,
            buffer,
            draining: false,
            spare: Vec::new(),
        }
    }

    /// Gives a payload buffer back for reuse.
    pub(crate) fn recycle(&mut self, payload: Vec<u8>) {
        if self.spare.len() < 1024 {
            self.spare.push(payload);
        }
    }

    pub(crate) fn next_item(&mut self) -> Option<Result<Item>> {
        loop {
            if self.draining {
                return self.buffer.as_mut().and_then(ShuffleBuffer::pop).map(Ok);
            }
            match self.next_in_shard() {
                Some(Ok(item)) => match &mut self.buffer {
                    None => return Some(Ok(item)),
                    Some(buffer) => {
                        if let Some(out) = buffer.push(item) {
                            return Some(Ok(out));
                        }
                    }
                },
                Some(Err(e)) => return Some(Err(e)),
                None if self.buffer.is_some() => self.draining = true,
                None => return None,
            }
        }
    }

    /// The next record of the stream that belongs to this rank.
    fn next_in_shard(&mut self) -> Option<Result<Item>> {
        loop {
            let Some((file, reader, seen)) = &mut self.reader else {
                let &file = self.files.get(self.next_file)?;
                self.next_file += 1;
                let count = self.inner.count(file);
                if self.skippable(count) {
                    self.k += count;
                    continue;
                }
                let path = &self.inner.paths[file];
                let skip = &self.inner.skip;
                let options = skip.reader_options(
                    ReadOptions::default().verify_data_crc(self.inner.cfg.verify_data_crc),
                );
                match Reader::open_with(path, options) {
                    Ok(r) => self.reader = Some((file, skip.attach(r), 0)),
                    Err(e) => return Some(Err(e)),
                }
                continue;
            };
            let file = *file;
            let expected = self.inner.count(file);
            match reader.next_record() {
                None => {
                    // The counted last record closes the reader, so the end
                    // comes early only in a file that shrank.
                    self.reader = None;
                    if expected > 0 {
                        return Some(Err(changed(&self.inner, file, expected)));
                    }
                    continue;
                }
                Some(Err(e)) => return Some(Err(e)),
                Some(Ok(record)) => {
                    // Skipped damage keeps its place among the indices but
                    // is not among the counted records.
                    let (index, offset) = (record.index, record.offset);
                    let nth = *seen;
                    *seen += 1;
                    if nth >= expected {
                        return Some(Err(changed(&self.inner, file, expected)));
                    }
                    let k = self.k;
                    self.k += 1;
                    let keep = self.part.contains(k);
                    let mut payload = Vec::new();
                    if keep {
                        payload = self.spare.pop().unwrap_or_default();
                        payload.clear();
                        payload.extend_from_slice(&record.payload);
                    }
                    if nth + 1 == expected {
                        // Records past the counted ones would shift every
                        // later position: stop at the count and check.
                        let more = reader.next_record().is_some();
                        self.reader = None;
                        if more {
                            return Some(Err(changed(&self.inner, file, expected)));
                        }
                    }
                    if keep {
                        return Some(Ok(Item {
                            id: RecordId { file, index },
                            offset,
                            payload,
                        }));
                    }
                }
            }
        }
    }

    /// True when a whole file of `count` records at the current stream
    /// position lies outside the part: before a strided part's start, or
    /// outside a contiguous part.
    fn skippable(&self, count: u64) -> bool {
        if self.part.mode != ShardMode::Contiguous {
            return self.k + count <= self.part.start;
        }
        let first = self.part.position(0);
        let end = first + self.part.len();
        self.k + count <= first || self.k >= end
    }
}

fn changed(inner: &Inner, file: usize, expected: u64) -> Error {
    Error::invalid_input(format!(
        "the file no longer has the {expected} records it had when the dataset was built"
    ))
    .with_path(&inner.paths[file])
}

/// The payloads of a batch of an indexed dataset when some of its files are
/// objects in a store: each file's records fetched together (neighbours
/// coalesced, requests concurrent) instead of one request per record on
/// each pool thread. `None` when every file is local.
pub(crate) fn fetch_remote(
    files: &[IndexedFile],
    ids: &[RecordId],
    offsets: &[u64],
) -> Option<Result<Vec<Item>>> {
    if !ids
        .iter()
        .any(|id| files.get(id.file).is_some_and(IndexedFile::is_remote))
    {
        return None;
    }
    let fetch = || -> Result<Vec<Item>> {
        let mut payloads: Vec<Option<Vec<u8>>> = vec![None; ids.len()];
        for (f, file) in files.iter().enumerate() {
            let slots: Vec<usize> = (0..ids.len()).filter(|&s| ids[s].file == f).collect();
            if slots.is_empty() {
                continue;
            }
            let indices: Vec<usize> = slots.iter().map(|&s| ids[s].index as usize).collect();
            let fetched = match file.fetch_payloads(&indices) {
                Some(fetched) => fetched?,
                None => {
                    let mut out = Vec::with_capacity(indices.len());
                    let mut buf = crate::index::FrameBuf::new();
                    for &i in &indices {
                        out.push(file.record(i, &mut buf)?.payload.into_owned());
                    }
                    out
                }
            };
            for (slot, payload) in slots.into_iter().zip(fetched) {
                payloads[slot] = Some(payload);
            }
        }
        ids.iter()
            .zip(offsets)
            .zip(payloads)
            .map(|((&id, &offset), payload)| {
                let payload = payload.ok_or_else(|| {
                    Error::invalid_input("internal: a record of the batch was not fetched")
                })?;
                Ok(Item {
                    id,
                    offset,
                    payload,
                })
            })
            .collect()
    };
    Some(fetch())
}
