//! [`IndexedFile`]: any record of an uncompressed file (or object) by
//! number, with positioned reads, from a memory map, or by ranged GETs,
//! each frame checked again. Knows nothing of how an index is scanned or
//! of the sidecar's text.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::framing::{self, FrameCheck};
use crate::read::mmap::Mmap;
use crate::read::positioned::read_exact_at;
use crate::read::Record;
use crate::storage::RemoteObject;
use crate::tensor::Tensor;

use super::buf::FrameBuf;
use super::table::{Entry, Index, IndexOptions};
use super::{local, remote};

enum Access {
    Positioned(File),
    Mapped(Mmap),
    /// An object in a store, read by ranged GETs.
    Remote(RemoteObject),
}

/// An uncompressed TFRecord file with its [`Index`]: any record by number.
///
/// Records are read with positioned reads into a caller's [`FrameBuf`], so
/// one `IndexedFile` serves many threads at once. Every read checks the
/// frame: both CRCs, and that its length is the one the index gives.
///
/// ```
/// use tfrec::index::{FrameBuf, IndexedFile};
/// use tfrec::{Tensor, Writer};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.tfrecord");
/// let mut w = Writer::create(&path)?;
/// for i in 0..100u16 {
///     w.write_tensor(&Tensor::from_slice(&[i, i + 1], &[2])?)?;
/// }
/// w.finish()?;
///
/// let file = IndexedFile::open(&path)?;
/// assert_eq!(file.len(), 100);
/// assert_eq!(file.get(42)?.to_vec::<u16>()?, [42, 43]);
///
/// let mut buf = FrameBuf::new();                 // reused across reads
/// let record = file.record(7, &mut buf)?;
/// assert_eq!(record.index, 7);
/// assert_eq!(record.decode()?.to_vec::<u16>()?, [7, 8]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct IndexedFile {
    path: PathBuf,
    access: Access,
    index: Index,
    check: FrameCheck,
}

impl IndexedFile {
    /// Opens `path` and its index ([`Index::open`]: sidecar or scan).
    pub fn open(path: impl AsRef<Path>) -> Result<IndexedFile> {
        IndexedFile::open_with(path, &IndexOptions::default())
    }

    /// Opens `path` with index options.
    pub fn open_with(path: impl AsRef<Path>, options: &IndexOptions) -> Result<IndexedFile> {
        let path = path.as_ref();
        if let Some(url) = crate::storage::remote(path) {
            let (index, object) =
                remote::open_indexed(&url, options).map_err(|e| e.with_path(path))?;
            return Ok(IndexedFile {
                path: path.to_path_buf(),
                access: Access::Remote(object),
                index,
                check: FrameCheck::default(),
            });
        }
        let index = Index::open_with(path, options)?;
        IndexedFile::with_index(path, index)
    }

    /// Opens `path` with index options, read through a memory map (see
    /// [`mapped`](IndexedFile::mapped)); without a usable sidecar the frame
    /// headers are scanned in the map, which copies nothing.
    pub(crate) fn open_mapped(
        path: impl AsRef<Path>,
        options: &IndexOptions,
    ) -> Result<IndexedFile> {
        let path = path.as_ref();
        if crate::storage::is_remote(path) {
            return IndexedFile::open_with(path, options);
        }
        let (index, map) =
            local::open_indexed(path, options, true).map_err(|e| e.with_path(path))?;
        let mut file = IndexedFile::with_index(path, index)?;
        match map {
            Some(map) => {
                file.access = Access::Mapped(map);
                Ok(file)
            }
            None => file.mapped(),
        }
    }

    /// Opens `path` with an index obtained elsewhere. The index must match
    /// the file's current length.
    pub fn with_index(path: impl AsRef<Path>, index: Index) -> Result<IndexedFile> {
        let path = path.as_ref();
        let (access, len) = match crate::storage::remote(path) {
            Some(url) => {
                let object = RemoteObject::open(&url)?;
                let len = object.len();
                (Access::Remote(object), len)
            }
            None => {
                let file = File::open(path).map_err(|e| Error::from(e).with_path(path))?;
                let len = file
                    .metadata()
                    .map_err(|e| Error::from(e).with_path(path))?
                    .len();
                (Access::Positioned(file), len)
            }
        };
        if len != index.file_len() {
            return Err(Error::invalid_input(format!(
                "the index describes {} bytes, the file has {len}",
                index.file_len()
            ))
            .with_path(path));
        }
        Ok(IndexedFile {
            path: path.to_path_buf(),
            access,
            index,
            check: FrameCheck::default(),
        })
    }

    /// Reads through a memory map instead of positioned reads. A file cut
    /// short while mapped makes the records past the cut truncated-record
    /// errors, as with [`Reader::open`](crate::Reader::open); where maps
    /// cannot be guarded, positioned reads are kept.
    pub fn mapped(mut self) -> Result<IndexedFile> {
        let Access::Positioned(file) = &self.access else {
            return Ok(self);
        };
        if self.index.file_len() == 0 {
            return Ok(self);
        }
        let map = Mmap::map(file, &self.path).map_err(|e| Error::from(e).with_path(&self.path))?;
        let Some(map) = map else {
            // No guarded map here: positioned reads serve the same records.
            return Ok(self);
        };
        if map.len() as u64 != self.index.file_len() {
            return Err(
                Error::invalid_input("the file changed size since it was indexed")
                    .with_path(&self.path),
            );
        }
        self.access = Access::Mapped(map);
        Ok(self)
    }

    /// Whether to check each payload's CRC (default: yes; the length CRC
    /// and the frame length are always checked).
    pub fn verify_data_crc(mut self, yes: bool) -> IndexedFile {
        self.check.data_crc = yes;
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The index.
    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when the file holds no records.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Record `i`, its payload in `buf` (or borrowed from the map), both
    /// CRCs checked.
    pub fn record<'a>(&'a self, i: usize, buf: &'a mut FrameBuf) -> Result<Record<'a>> {
        self.record_inner(i, buf)
            .map_err(|e| e.with_path(&self.path))
    }

    fn record_inner<'a>(&'a self, i: usize, buf: &'a mut FrameBuf) -> Result<Record<'a>> {
        let (entry, len) = self.locate(i)?;
        let bytes: &[u8] = match &self.access {
            Access::Positioned(file) => buf
                .read_at(file, entry.offset, len)
                .map_err(|e| Error::from(e).at_record(entry.offset, i as u64))?,
            Access::Remote(object) => buf
                .read_remote(object, entry.offset, len)
                .map_err(|e| Error::from(e).at_record(entry.offset, i as u64))?,
            Access::Mapped(map) => {
                let record = self
                    .in_map(map, i, entry, len)
                    .and_then(|bytes| self.check_frame(i, entry, len, bytes));
                return self.guarded(i, entry, record);
            }
        };
        self.check_frame(i, entry, len, bytes)
    }

    /// `result` of reading record `i`, found in the map, unless the map's
    /// pages under the frame went away (the file was cut short while
    /// mapped): then the error that says so.
    fn guarded<T>(&self, i: usize, entry: Entry, result: Result<T>) -> Result<T> {
        let Access::Mapped(map) = &self.access else {
            return result;
        };
        match result {
            Ok(value) => {
                let end = entry.offset.saturating_add(entry.len);
                if map.lost(usize::try_from(end).unwrap_or(usize::MAX)) {
                    if let Some(cut) = map.vanished(entry.offset, i as u64) {
                        return Err(cut);
                    }
                }
                Ok(value)
            }
            Err(e) => Err(map.explain(e)),
        }
    }

    /// Whether records are read through a memory map.
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self.access, Access::Mapped(_))
    }

    /// Record `i`'s payload borrowed from the map, both CRCs checked;
    /// `None` when the file is read with positioned reads. Errors carry the
    /// path and the record's position.
    pub(crate) fn mapped_payload(&self, i: usize) -> Option<Result<&[u8]>> {
        let Access::Mapped(map) = &self.access else {
            return None;
        };
        let payload = self.locate(i).and_then(|(entry, len)| {
            let bytes = self.in_map(map, i, entry, len)?;
            let record = self.check_frame(i, entry, len, bytes);
            match self.guarded(i, entry, record)?.payload {
                std::borrow::Cow::Borrowed(payload) => Ok(payload),
                std::borrow::Cow::Owned(_) => {
                    Err(Error::invalid_input("internal: a mapped record was copied"))
                }
            }
        });
        Some(payload.map_err(|e| e.with_path(&self.path)))
    }

    /// Reads `dst.len()` bytes at `offset` (a run of whole frames, read at
    /// once), from the map or with one positioned read. Errors carry the
    /// path.
    pub(crate) fn read_at(&self, offset: u64, dst: &mut [u8]) -> Result<()> {
        let read = match &self.access {
            Access::Positioned(file) => read_exact_at(file, dst, offset).map_err(Error::from),
            Access::Remote(object) => object.read_exact_at(dst, offset).map_err(Error::from),
            Access::Mapped(map) => usize::try_from(offset)
                .ok()
                .and_then(|start| map.get(start..start.checked_add(dst.len())?))
                .map(|bytes| dst.copy_from_slice(bytes))
                .ok_or_else(|| Error::invalid_input("the mapped file is shorter than its index")),
        };
        read.map_err(|e| e.with_path(&self.path))
    }

    /// Checks record `i`'s frame, read by the caller into `frame`, and
    /// returns its payload. Errors carry the path and the record's position.
    pub(crate) fn checked_payload<'a>(&self, i: usize, frame: &'a [u8]) -> Result<&'a [u8]> {
        let payload = self.locate(i).and_then(|(entry, len)| {
            // A frame copied from the map may hold its zeros.
            let record = self.check_frame(i, entry, len, frame);
            match self.guarded(i, entry, record)?.payload {
                std::borrow::Cow::Borrowed(payload) => Ok(payload),
                std::borrow::Cow::Owned(_) => Err(Error::invalid_input(
                    "internal: a frame read into a buffer was copied",
                )),
            }
        });
        payload.map_err(|e| e.with_path(&self.path))
    }

    /// Record `i`'s index entry and frame length.
    fn locate(&self, i: usize) -> Result<(Entry, usize)> {
        let Some(entry) = self.index.get(i) else {
            return Err(Error::invalid_input(format!(
                "record {i} does not exist: the file has {} records",
                self.index.len()
            )));
        };
        // The index was checked against the file's length, so the frame is
        // within it and its length fits in memory that a read can fill.
        let len = usize::try_from(entry.len).map_err(|_| {
            Error::invalid_input("frame too large for this platform")
                .at_record(entry.offset, i as u64)
        })?;
        Ok((entry, len))
    }

    fn in_map<'a>(&self, map: &'a Mmap, i: usize, entry: Entry, len: usize) -> Result<&'a [u8]> {
        let start = entry.offset as usize;
        map.get(start..start + len).ok_or_else(|| {
            Error::invalid_input("the mapped file is shorter than its index")
                .at_record(entry.offset, i as u64)
        })
    }

    /// Checks the frame of record `i` read into `bytes`.
    fn check_frame<'a>(
        &self,
        i: usize,
        entry: Entry,
        len: usize,
        bytes: &'a [u8],
    ) -> Result<Record<'a>> {
        let at = |e: Error| e.at_record(entry.offset, i as u64);
        match framing::parse_frame(bytes, self.check) {
            Ok(Some(frame)) if frame.frame_len == len => Ok(Record {
                payload: std::borrow::Cow::Borrowed(frame.payload),
                offset: entry.offset,
                index: i as u64,
            }),
            Ok(_) => Err(at(Error::invalid_input(format!(
                "the index gives a {len}-byte frame, the frame header another length (stale index?)"
            )))),
            Err(e) => Err(at(e)),
        }
    }

    /// Whether records are read from an object in a store.
    pub(crate) fn is_remote(&self) -> bool {
        matches!(self.access, Access::Remote(_))
    }

    /// The checked payloads of records `indices` of an object, fetched
    /// together: neighbouring frames are coalesced into one ranged GET and
    /// the GETs run concurrently. `None` for files (read record by record).
    pub(crate) fn fetch_payloads(&self, indices: &[usize]) -> Option<Result<Vec<Vec<u8>>>> {
        let Access::Remote(object) = &self.access else {
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

    /// Record `i` decoded into an owned tensor.
    pub fn get(&self, i: usize) -> Result<Tensor> {
        let mut buf = FrameBuf::new();
        let record = self.record(i, &mut buf)?;
        let tensor = record.decode().map_err(|e| e.with_path(&self.path))?;
        Ok(tensor.into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::scan::tests::tricky_file;

    #[test]
    fn datasets_of_mapped_files_index_in_the_map() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.tfrecord");
        let bytes = tricky_file();
        std::fs::write(&path, &bytes).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        let mapped = pool
            .install(|| IndexedFile::open_mapped(&path, &IndexOptions::default()))
            .unwrap();
        let plain = IndexedFile::open(&path).unwrap();
        assert!(mapped.is_mapped() && !plain.is_mapped());
        assert_eq!(mapped.index(), plain.index());
        // Positioned reads on a pool's thread scan in segments too.
        let on_pool = pool.install(|| IndexedFile::open(&path)).unwrap();
        assert_eq!(on_pool.index(), plain.index());
        let last = mapped.len() - 1;
        assert_eq!(
            mapped.mapped_payload(last).unwrap().unwrap(),
            &plain.record(last, &mut FrameBuf::new()).unwrap().payload[..]
        );
        assert!(plain.mapped_payload(0).is_none());
        let err = mapped.mapped_payload(mapped.len()).unwrap().unwrap_err();
        assert_eq!(err.path(), Some(path.as_path()));
    }
}
