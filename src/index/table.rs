//! What an [`Index`] is: every record's frame offset in an uncompressed
//! file, with the options for obtaining one. Knows nothing of files,
//! sidecars, scanning or threads.

use crate::error::Result;
use crate::framing::{self, DEFAULT_MAX_RECORD_LEN, FRAME_OVERHEAD};

/// Where one record's frame lies in its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Entry {
    /// Byte offset of the frame.
    pub offset: u64,
    /// Length of the whole frame: payload plus 16 bytes of framing.
    pub len: u64,
}

impl Entry {
    /// Length of the payload alone.
    pub fn payload_len(&self) -> u64 {
        self.len.saturating_sub(FRAME_OVERHEAD as u64)
    }
}

/// How an [`Index`] was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IndexSource {
    /// By scanning the frame headers; there was no sidecar (or sidecars were
    /// not looked for).
    Scanned,
    /// From the `FILE.idx` sidecar, which agreed with the file.
    Sidecar,
    /// By scanning, because the sidecar disagreed with the file (stale or
    /// wrong); `reason` says how.
    SidecarRejected {
        /// What was wrong with the sidecar.
        reason: String,
    },
}

/// How much of a sidecar to check against the file's frame headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidecarCheck {
    /// The first and last headers and up to this many more, evenly spread.
    Sample(usize),
    /// Every header (one small read per record).
    All,
}

/// Options for [`Index::open_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexOptions {
    pub(super) use_sidecar: bool,
    pub(super) check: SidecarCheck,
    pub(super) max_record_len: u64,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            use_sidecar: true,
            check: SidecarCheck::Sample(1024),
            max_record_len: DEFAULT_MAX_RECORD_LEN,
        }
    }
}

impl IndexOptions {
    /// Whether to look for a `FILE.idx` sidecar (default: yes).
    pub fn use_sidecar(mut self, yes: bool) -> Self {
        self.use_sidecar = yes;
        self
    }

    /// How many frame headers to check a sidecar against (default: a sample
    /// of 1,024 plus the first and last).
    pub fn sidecar_check(mut self, check: SidecarCheck) -> Self {
        self.check = check;
        self
    }

    /// Largest payload accepted (default: 2 GiB).
    pub fn max_record_len(mut self, len: u64) -> Self {
        self.max_record_len = len;
        self
    }
}

/// The offset and frame length of every record of an uncompressed file.
///
/// Frames are contiguous, so only the offsets are stored (8 bytes a record);
/// a frame's length is the distance to the next offset or to the file's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub(super) offsets: Vec<u64>,
    pub(super) file_len: u64,
    pub(super) source: IndexSource,
}

impl Index {
    /// Scans the frames of an uncompressed TFRecord byte buffer.
    ///
    /// ```
    /// use tfrec::{index::Index, Tensor, Writer};
    /// let mut w = Writer::new(Vec::new());
    /// w.write_tensor(&Tensor::from_slice(&[1u8, 2, 3], &[3])?)?;
    /// w.write_tensor(&Tensor::scalar(1.5f64))?;
    /// let bytes = w.finish()?;
    /// let index = Index::scan_bytes(&bytes)?;
    /// assert_eq!(index.get(1).unwrap().offset, index.get(0).unwrap().len);
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn scan_bytes(bytes: &[u8]) -> Result<Index> {
        let scan = framing::scan(bytes);
        if let Some(e) = scan.error {
            return Err(e);
        }
        Ok(Index {
            offsets: scan.offsets,
            file_len: bytes.len() as u64,
            source: IndexSource::Scanned,
        })
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// True when the file holds no records.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Record `i`'s frame.
    pub fn get(&self, i: usize) -> Option<Entry> {
        let offset = *self.offsets.get(i)?;
        let end = self.offsets.get(i + 1).copied().unwrap_or(self.file_len);
        Some(Entry {
            offset,
            len: end - offset,
        })
    }

    /// Every record's frame, in file order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = Entry> + '_ {
        let file_len = self.file_len;
        self.offsets.iter().enumerate().map(move |(i, &offset)| {
            let end = self.offsets.get(i + 1).copied().unwrap_or(file_len);
            Entry {
                offset,
                len: end - offset,
            }
        })
    }

    /// The length of the file the index describes.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Whether the index came from a sidecar or a scan, and why a sidecar
    /// was rejected.
    pub fn source(&self) -> &IndexSource {
        &self.source
    }
}
