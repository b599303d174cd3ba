//! Streamed datasets: records read in file order, kept for this rank, and
//! mixed by a seeded shuffle buffer.
//!
//! Reads records one by one: knows nothing of batches, their buffers or
//! prefetching.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::read::{ReadOptions, Reader};

use super::assemble::Item;
use super::inner::Inner;
use super::options::ShardMode;
use super::part::Part;
use super::plan::{Plan, RecordId};
use super::rng::ShuffleBuffer;

/// Reads a streamed epoch's records for this rank, in
/// [`Plan::order`](super::plan::Plan::order)'s order.
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
            .plan
            .buffer_rng(epoch)
            .map(|rng| ShuffleBuffer::new(inner.plan.cfg.shuffle_buffer, rng));
        Streamer {
            files: inner.plan.file_order(epoch),
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
                let count = self.inner.plan.count(file);
                if self.skippable(count) {
                    self.k += count;
                    continue;
                }
                let path = &self.inner.plan.paths[file];
                let skip = &self.inner.skip;
                let options = skip.reader_options(
                    ReadOptions::default().verify_data_crc(self.inner.plan.cfg.verify_data_crc),
                );
                match Reader::open_with(path, options) {
                    Ok(r) => self.reader = Some((file, skip.attach(r), 0)),
                    Err(e) => return Some(Err(e)),
                }
                continue;
            };
            let file = *file;
            let expected = self.inner.plan.count(file);
            match reader.next_record() {
                None => {
                    // The counted last record closes the reader, so the end
                    // comes early only in a file that shrank.
                    self.reader = None;
                    if expected > 0 {
                        return Some(Err(changed(&self.inner.plan, file, expected)));
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
                        return Some(Err(changed(&self.inner.plan, file, expected)));
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
                            return Some(Err(changed(&self.inner.plan, file, expected)));
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

fn changed(plan: &Plan, file: usize, expected: u64) -> Error {
    Error::invalid_input(format!(
        "the file no longer has the {expected} records it had when the dataset was built"
    ))
    .with_path(&plan.paths[file])
}
