//! Copying the records of existing files into shards, byte for byte:
//! re-sharding, compressing, decompressing and shuffling.
//!
//! Knows nothing of how shards are named, planned or committed (the writer
//! does that).

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rayon::prelude::*;

use crate::crc::masked_crc32c;
use crate::error::{Error, ErrorKind, Result};
use crate::framing::{FrameCheck, FOOTER_LEN, FRAME_OVERHEAD, HEADER_LEN};
use crate::read::{Reader, SliceReader};
use crate::write::Writer;

use super::writer::ShardedWriter;

/// Records are handed to the writer in batches of about this many bytes...
const BATCH_BYTES: usize = 64 << 20;
/// ...or this many records, whichever comes first.
const BATCH_RECORDS: usize = 1 << 16;

/// Where a record to be shuffled lives until every input has been read.
enum Place<'a> {
    Mapped(&'a [u8]),
    Spooled(usize),
}

impl ShardedWriter {
    /// Copies the remaining records of `reader` (any compression) in order,
    /// each payload byte for byte; every CRC is checked as it is read.
    /// Returns the number of records copied. `progress` is called with the
    /// bytes of frames copied (decompressed bytes for compressed input).
    ///
    /// ```
    /// use tfrec::write::sharded::{ShardOptions, ShardedWriter, Sharding};
    /// use tfrec::{Compression, Reader, Writer};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let input = dir.path().join("in.tfrecord");
    /// let mut w = Writer::create_with(&input, Compression::Gzip)?;
    /// for i in 0..10u8 {
    ///     w.write_record(&[i; 3])?;
    /// }
    /// w.finish()?;
    ///
    /// let options = ShardOptions::new(Sharding::Shards(2)).sync(false);
    /// let mut out = ShardedWriter::create(dir.path().join("out"), "data", options)?;
    /// assert_eq!(out.copy_from(&mut Reader::open(&input)?, &|_| {})?, 10);
    /// let manifest = out.finish()?;
    /// assert_eq!(manifest.shards[1].records, 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn copy_from(
        &mut self,
        reader: &mut Reader,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<u64> {
        let mut batch: Vec<Cow<'_, [u8]>> = Vec::new();
        let mut bytes = 0usize;
        let mut copied = 0u64;
        for record in reader.records() {
            let record = record?;
            bytes += record.payload.len() + FRAME_OVERHEAD;
            batch.push(record.payload);
            if bytes >= BATCH_BYTES || batch.len() >= BATCH_RECORDS {
                self.write_batch(&batch)?;
                copied += batch.len() as u64;
                progress(bytes as u64);
                batch.clear();
                bytes = 0;
            }
        }
        self.write_batch(&batch)?;
        copied += batch.len() as u64;
        progress(bytes as u64);
        Ok(copied)
    }

    /// Copies every record of the file at `path` (any compression) in
    /// order, each payload byte for byte, and returns how many there were.
    /// `progress` is called with bytes of the file as they are consumed.
    ///
    /// Uncompressed regular files take the fast way: memory-mapped, their
    /// CRCs checked in parallel and reused for the copies instead of being
    /// computed again. Other files are streamed as by
    /// [`copy_from`](Self::copy_from).
    pub fn copy_file(
        &mut self,
        path: impl AsRef<Path>,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<u64> {
        let path = path.as_ref();
        let reader = Reader::open(path)?;
        if let Some(bytes) = reader.mapped_bytes() {
            return self
                .copy_frames(bytes, progress)
                .map_err(|e| e.with_path(path));
        }
        drop(reader);
        // Streamed: progress counts the (compressed) bytes read off the file.
        let file = File::open(path).map_err(|e| Error::from(e).with_path(path))?;
        let consumed = Arc::new(AtomicU64::new(0));
        let counting = Counting {
            inner: file,
            consumed: Arc::clone(&consumed),
        };
        let mut reader = Reader::from_read(counting)
            .map_err(|e| e.with_path(path))?
            .with_path(path);
        let reported = AtomicU64::new(0);
        let tick = |_: u64| {
            let now = consumed.load(Ordering::Relaxed);
            let before = reported.swap(now, Ordering::Relaxed);
            progress(now.saturating_sub(before));
        };
        self.copy_from(&mut reader, &tick)
    }

    /// [`copy_file`](Self::copy_file) for the bytes of an uncompressed file.
    fn copy_frames(&mut self, bytes: &[u8], progress: &(dyn Fn(u64) + Sync)) -> Result<u64> {
        let check = FrameCheck {
            data_crc: false,
            ..FrameCheck::default()
        };
        let mut frames = SliceReader::with_check(bytes, check);
        let mut index = 0u64;
        loop {
            // Lengths (and their CRCs) are checked here; payloads below, in
            // parallel.
            let mut payloads: Vec<&[u8]> = Vec::new();
            let mut offsets: Vec<u64> = Vec::new();
            let mut batch = 0usize;
            for record in frames.by_ref() {
                let record = record?;
                let Cow::Borrowed(payload) = record.payload else {
                    return Err(Error::invalid_input("a slice reader copied a payload"));
                };
                batch += payload.len() + FRAME_OVERHEAD;
                payloads.push(payload);
                offsets.push(record.offset);
                if batch >= BATCH_BYTES || payloads.len() >= BATCH_RECORDS {
                    break;
                }
            }
            if payloads.is_empty() {
                return Ok(index);
            }
            let checked: Vec<std::result::Result<u32, (u32, u32)>> = payloads
                .par_iter()
                .zip(offsets.par_iter())
                .with_min_len(16)
                .map(|(p, &offset)| {
                    let computed = masked_crc32c(p);
                    let at = offset as usize + HEADER_LEN + p.len();
                    let stored = bytes
                        .get(at..at + FOOTER_LEN)
                        .and_then(|f| f.first_chunk::<FOOTER_LEN>())
                        .map_or(!computed, |f| u32::from_le_bytes(*f));
                    if stored == computed {
                        Ok(computed)
                    } else {
                        Err((stored, computed))
                    }
                })
                .collect();
            let mut crcs = Vec::with_capacity(checked.len());
            for (i, c) in checked.into_iter().enumerate() {
                match c {
                    Ok(crc) => crcs.push(crc),
                    Err((stored, computed)) => {
                        return Err(Error::new(ErrorKind::CorruptData { stored, computed })
                            .at_record(offsets[i], index + i as u64))
                    }
                }
            }
            self.write_payloads(&payloads, Some(&crcs))?;
            index += payloads.len() as u64;
            progress(batch as u64);
        }
    }

    /// Copies the remaining records of all `readers`, each payload byte for
    /// byte, in an order shuffled by `seed`, and returns how many there were.
    ///
    /// Every record is read (and its CRC checked) before the first is
    /// written. Records of memory-mapped inputs are not copied in memory;
    /// those of compressed or streamed inputs are first spooled, decompressed,
    /// to a hidden temporary file in the output directory
    /// (`.{stem}.spool.{random}.tmp`, removed when done, or by
    /// [`cleanup`](super::cleanup) after a crash).
    ///
    /// The order is a Fisher–Yates shuffle driven by SplitMix64 seeded with
    /// `seed`: the same inputs and seed give the same output. `progress` is
    /// called with the bytes of frames written.
    pub fn copy_shuffled(
        &mut self,
        readers: &mut [Reader],
        seed: u64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<u64> {
        let mut places: Vec<Place<'_>> = Vec::new();
        let mut spool: Option<(tempfile::NamedTempFile, Writer<_>)> = None;
        let mut spooled = 0usize;
        for reader in readers.iter_mut() {
            for record in reader.records() {
                let record = record?;
                match record.payload {
                    Cow::Borrowed(payload) => places.push(Place::Mapped(payload)),
                    Cow::Owned(payload) => {
                        if spool.is_none() {
                            spool = Some(self.open_spool()?);
                        }
                        if let Some((file, writer)) = &mut spool {
                            writer
                                .write_record(&payload)
                                .map_err(|e| e.with_path(file.path()))?;
                        }
                        places.push(Place::Spooled(spooled));
                        spooled += 1;
                    }
                }
            }
        }
        // Keep the spool file until every record has been written.
        let mut spool_reader = None;
        let mut _spool_file = None;
        if let Some((file, writer)) = spool {
            let sink = writer.finish().map_err(|e| e.with_path(file.path()))?;
            sink.into_inner()
                .map_err(|e| Error::from(e.into_error()).with_path(file.path()))?;
            spool_reader = Some(Reader::open(file.path())?);
            _spool_file = Some(file);
        }
        let mut from_spool: Vec<&[u8]> = Vec::with_capacity(spooled);
        if let Some(reader) = spool_reader.as_mut() {
            let path = reader.path().map(|p| p.to_path_buf());
            let bytes = reader.mapped_bytes().unwrap_or_default();
            for record in crate::read::SliceReader::new(bytes) {
                let record = record.map_err(|e| match &path {
                    Some(p) => e.with_path(p),
                    None => e,
                })?;
                if let Cow::Borrowed(payload) = record.payload {
                    from_spool.push(payload);
                }
            }
        }
        if from_spool.len() != spooled {
            return Err(Error::invalid_input(
                "spooled records could not be read back in full",
            ));
        }
        let mut order: Vec<&[u8]> = places
            .into_iter()
            .map(|p| match p {
                Place::Mapped(payload) => payload,
                Place::Spooled(i) => from_spool[i],
            })
            .collect();
        shuffle(&mut order, seed);
        let mut start = 0;
        while start < order.len() {
            let mut end = start;
            let mut bytes = 0usize;
            while end < order.len() && bytes < BATCH_BYTES && end - start < BATCH_RECORDS {
                bytes += order[end].len() + FRAME_OVERHEAD;
                end += 1;
            }
            self.write_batch(&order[start..end])?;
            progress(bytes as u64);
            start = end;
        }
        Ok(order.len() as u64)
    }

    #[allow(clippy::type_complexity)]
    fn open_spool(
        &self,
    ) -> Result<(
        tempfile::NamedTempFile,
        Writer<crate::write::WriteSink<BufWriter<std::fs::File>>>,
    )> {
        let file = tempfile::Builder::new()
            .prefix(&format!(".{}.spool.", self.stem))
            .suffix(".tmp")
            .tempfile_in(&self.dir)
            .map_err(|e| Error::from(e).with_path(&self.dir))?;
        let handle = file
            .reopen()
            .map_err(|e| Error::from(e).with_path(file.path()))?;
        let writer = Writer::new(BufWriter::with_capacity(1 << 20, handle));
        Ok((file, writer))
    }
}

/// A reader that counts the bytes read through it.
struct Counting<R> {
    inner: R,
    consumed: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Fisher–Yates with SplitMix64; the order depends only on `seed` and the
/// number of items.
pub(crate) fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        // Lemire's multiply-shift with rejection: uniform in 0..=i.
        let bound = i as u64 + 1;
        let threshold = bound.wrapping_neg() % bound;
        let j = loop {
            let m = u128::from(next()) * u128::from(bound);
            if (m as u64) >= threshold {
                break (m >> 64) as usize;
            }
        };
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_is_a_seeded_permutation() {
        let mut a: Vec<u32> = (0..1000).collect();
        let mut b = a.clone();
        shuffle(&mut a, 7);
        shuffle(&mut b, 7);
        assert_eq!(a, b);
        let mut c: Vec<u32> = (0..1000).collect();
        shuffle(&mut c, 8);
        assert_ne!(a, c);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        // Not the identity, and every position can move.
        assert_ne!(a, sorted);
        let mut one = [5];
        shuffle(&mut one, 1);
        assert_eq!(one, [5]);
    }
}
