//! Record index: one header scan gives every record's offset and length, for
//! random access to uncompressed files.
//!
//! An [`Index`] lists where each record's frame starts and how long the whole
//! frame is (payload plus the 16 bytes of length, CRCs). [`Index::open`]
//! takes it from a sidecar file `FILE.idx` when one is present and agrees
//! with the file, and otherwise scans the frame headers. [`IndexedFile`]
//! reads record `i` with one positioned read.
//!
//! # Sidecar format
//!
//! The sidecar is the text format of the Python `tfrecord` package and of
//! NVIDIA DALI's `tfrecord2idx`: one line per record, the frame's byte
//! offset, a space, and the frame's length including the 16 header and footer
//! bytes.
//!
//! ```text
//! 0 61
//! 61 61
//! 122 1040
//! ```
//!
//! A sidecar is used only when it is consistent with the file: the first
//! frame starts at 0, each frame starts where the previous one ends, the
//! last one ends exactly at the end of the file, no length is impossible,
//! and the frame headers at a sample of the offsets (the first, the last and
//! evenly spread ones; all of them with [`SidecarCheck::All`]) carry a valid
//! length CRC and the length the sidecar gives. Otherwise the file is scanned
//! and [`Index::source`] says why the sidecar was not used. Reading a record
//! through an index checks its frame again (both CRCs and the length), so
//! even a wrong sidecar that passes the sample check yields an error, never
//! wrong data.
//!
//! ```
//! use tfrec::index::{Index, IndexSource};
//! use tfrec::{Tensor, Writer};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("a.tfrecord");
//! let mut w = Writer::create(&path)?;
//! for i in 0..3i32 {
//!     w.write_tensor(&Tensor::scalar(i))?;
//! }
//! w.finish()?;
//!
//! let index = Index::open(&path)?;          // no sidecar yet: scanned
//! assert_eq!(index.source(), &IndexSource::Scanned);
//! assert_eq!(index.len(), 3);
//! let sidecar = index.write_sidecar(&path)?; // a.tfrecord.idx, written atomically
//! assert_eq!(std::fs::read_to_string(&sidecar)?, "0 26\n26 26\n52 26\n");
//! assert_eq!(Index::open(&path)?.source(), &IndexSource::Sidecar);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::compression::Compression;
use crate::error::{Error, ErrorKind, Result};
use crate::framing::{self, FrameCheck, DEFAULT_MAX_RECORD_LEN, FRAME_OVERHEAD, HEADER_LEN};
use crate::read::mmap::Mmap;
use crate::read::positioned::{read_exact_at, Window};
use crate::read::Record;
use crate::storage::RemoteObject;
use crate::tensor::Tensor;
use crate::write::{AtomicFile, Sink};

mod remote;

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
    use_sidecar: bool,
    check: SidecarCheck,
    max_record_len: u64,
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
    offsets: Vec<u64>,
    file_len: u64,
    source: IndexSource,
}

/// Bytes read per positioned read while scanning small records.
const SCAN_CHUNK: usize = 256 << 10;
/// Frames longer than this are skipped over with a header-only read.
const SKIP_OVER: u64 = 16 << 10;

impl Index {
    /// The sidecar path for a TFRecord file: its name with `.idx` appended.
    ///
    /// ```
    /// use std::path::Path;
    /// let p = tfrec::index::Index::sidecar_path("data/train-0.tfrecord");
    /// assert_eq!(p, Path::new("data/train-0.tfrecord.idx"));
    /// ```
    pub fn sidecar_path(path: impl AsRef<Path>) -> PathBuf {
        let mut name = path.as_ref().as_os_str().to_owned();
        name.push(".idx");
        PathBuf::from(name)
    }

    /// The index of `path`, from its sidecar when present and consistent,
    /// otherwise by scanning the frame headers.
    pub fn open(path: impl AsRef<Path>) -> Result<Index> {
        Index::open_with(path, &IndexOptions::default())
    }

    /// Like [`open`](Index::open), with options.
    pub fn open_with(path: impl AsRef<Path>, options: &IndexOptions) -> Result<Index> {
        let path = path.as_ref();
        open_inner(path, options).map_err(|e| e.with_path(path))
    }

    /// Scans the frame headers of `path`, ignoring any sidecar. Lengths and
    /// their CRCs are checked; payloads are not read (small records are read
    /// in large chunks, large ones skipped over).
    pub fn scan_file(path: impl AsRef<Path>) -> Result<Index> {
        Index::open_with(path, &IndexOptions::default().use_sidecar(false))
    }

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

    /// Builds an index from sidecar entries, checking only that they are
    /// contiguous from 0 and end at `file_len` (no file is read).
    pub fn from_entries(entries: &[Entry], file_len: u64) -> Result<Index> {
        check_layout(entries, file_len, u64::MAX)
            .map_err(Error::invalid_input)
            .map(|()| Index {
                offsets: entries.iter().map(|e| e.offset).collect(),
                file_len,
                source: IndexSource::Sidecar,
            })
    }

    /// Parses sidecar text: one `offset length` line per record (blank lines
    /// are ignored).
    ///
    /// ```
    /// use tfrec::index::{Entry, Index};
    /// let entries = Index::parse_sidecar(b"0 20\n20 35\n")?;
    /// assert_eq!(entries, [Entry { offset: 0, len: 20 }, Entry { offset: 20, len: 35 }]);
    /// assert!(Index::parse_sidecar(b"0 20 7\n").is_err());
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn parse_sidecar(text: &[u8]) -> Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for (n, line) in text.split(|&b| b == b'\n').enumerate() {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let mut fields = line
                .split(|b| b.is_ascii_whitespace())
                .filter(|f| !f.is_empty());
            let (offset, len) = match (fields.next(), fields.next(), fields.next()) {
                (None, _, _) => continue,
                (Some(o), Some(l), None) => (parse_u64(o), parse_u64(l)),
                _ => (None, None),
            };
            match (offset, len) {
                (Some(offset), Some(len)) => entries.push(Entry { offset, len }),
                _ => {
                    return Err(Error::invalid_input(format!(
                        "sidecar line {} is not `offset length`: {:?}",
                        n + 1,
                        String::from_utf8_lossy(line)
                    )))
                }
            }
        }
        Ok(entries)
    }

    /// Writes the sidecar text: `offset length\n` per record.
    pub fn write_text<W: Write>(&self, mut out: W) -> io::Result<()> {
        let mut line = String::with_capacity(48);
        for e in self.iter() {
            use std::fmt::Write as _;
            line.clear();
            let _ = writeln!(line, "{} {}", e.offset, e.len);
            out.write_all(line.as_bytes())?;
        }
        out.flush()
    }

    /// Writes `FILE.idx` beside `path` atomically (a temporary file renamed
    /// into place) and returns its path.
    pub fn write_sidecar(&self, path: impl AsRef<Path>) -> Result<PathBuf> {
        let sidecar = Index::sidecar_path(path);
        let write = || -> io::Result<PathBuf> {
            let mut file = AtomicFile::create(&sidecar)?;
            self.write_text(&mut file)?;
            file.finish()
        };
        write().map_err(|e| Error::from(e).with_path(&sidecar))
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

fn parse_u64(field: &[u8]) -> Option<u64> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

fn open_inner(path: &Path, options: &IndexOptions) -> Result<Index> {
    if let Some(url) = crate::storage::remote(path) {
        return remote::open_indexed(&url, options).map(|(index, _)| index);
    }
    open_indexed(path, options, false).map(|(index, _)| index)
}

/// The index of `path` and, when `map` is asked for and the index had to be
/// scanned, the map the headers were scanned in.
fn open_indexed(path: &Path, options: &IndexOptions, map: bool) -> Result<(Index, Option<Mmap>)> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(Error::invalid_input(
            "not a regular file: cannot be indexed",
        ));
    }
    let len = meta.len();
    let prefix = crate::read::peek(&mut &file, Compression::DETECT_LEN)?;
    let compression = Compression::detect(&prefix);
    if compression != Compression::None {
        return Err(Error::invalid_input(format!(
            "{compression} file: compressed files have no random access and cannot be indexed"
        )));
    }
    let mut source = IndexSource::Scanned;
    if options.use_sidecar {
        match read_sidecar(path, &file, len, options) {
            Ok(Some(offsets)) => {
                let index = Index {
                    offsets,
                    file_len: len,
                    source: IndexSource::Sidecar,
                };
                return Ok((index, None));
            }
            Ok(None) => {}
            Err(reason) => source = IndexSource::SidecarRejected { reason },
        }
    }
    let mapped = if map && len > 0 {
        Mmap::map(&file, path)?
    } else {
        None
    };
    let (offsets, mapped) = match mapped {
        Some(mapped) => {
            if mapped.len() as u64 != len {
                return Err(Error::invalid_input("the file changed size while opened"));
            }
            let offsets =
                scan_mapped(&mapped, options.max_record_len).map_err(|e| mapped.explain(e))?;
            (offsets, Some(mapped))
        }
        None => (scan(&file, len, options.max_record_len)?, None),
    };
    let index = Index {
        offsets,
        file_len: len,
        source,
    };
    Ok((index, mapped))
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
    // Each record takes at least 16 bytes of the file and its line at most
    // 42 bytes ("u64 u64\r\n"): a longer sidecar cannot be right, and is not
    // read into memory.
    let side_len = side.metadata().map_err(|e| e.to_string())?.len();
    let most = (file_len / FRAME_OVERHEAD as u64 + 1).saturating_mul(42);
    if side_len > most {
        return Err(format!(
            "{} is {side_len} bytes, too long for a {file_len}-byte file",
            sidecar.display()
        ));
    }
    let mut text = Vec::with_capacity(side_len as usize);
    side.read_to_end(&mut text).map_err(|e| e.to_string())?;
    let entries = Index::parse_sidecar(&text).map_err(|e| e.kind().to_string())?;
    check_layout(&entries, file_len, options.max_record_len)?;
    check_headers(
        |dst, at| read_exact_at(file, dst, at),
        file_len,
        &entries,
        options.check,
    )?;
    Ok(Some(entries.iter().map(|e| e.offset).collect()))
}

/// Contiguous from 0 to `file_len`, every length possible.
fn check_layout(entries: &[Entry], file_len: u64, max_record_len: u64) -> Result<(), String> {
    let mut expected = 0u64;
    for (i, e) in entries.iter().enumerate() {
        if e.offset != expected {
            return Err(format!(
                "record {i} starts at {}, but the previous frame ends at {expected}",
                e.offset
            ));
        }
        if e.len < FRAME_OVERHEAD as u64 || e.len - FRAME_OVERHEAD as u64 > max_record_len {
            return Err(format!("record {i} has impossible frame length {}", e.len));
        }
        expected = e
            .offset
            .checked_add(e.len)
            .filter(|&end| end <= file_len)
            .ok_or_else(|| {
                format!("record {i} ends past the end of the file ({file_len} bytes)",)
            })?;
    }
    if expected != file_len {
        return Err(format!(
            "the sidecar covers {expected} bytes, the file has {file_len}"
        ));
    }
    Ok(())
}

/// The frame headers at a sample of the entries carry their lengths.
fn check_headers(
    read_exact_at: impl Fn(&mut [u8], u64) -> io::Result<()>,
    file_len: u64,
    entries: &[Entry],
    check: SidecarCheck,
) -> Result<(), String> {
    let n = entries.len();
    let sample: Box<dyn Iterator<Item = usize>> = match check {
        SidecarCheck::All => Box::new(0..n),
        SidecarCheck::Sample(k) if n <= k + 2 => Box::new(0..n),
        SidecarCheck::Sample(k) => Box::new(
            [0, n - 1]
                .into_iter()
                .chain((1..=k).map(move |j| j * (n - 1) / (k + 1))),
        ),
    };
    let mut header = [0u8; HEADER_LEN];
    for i in sample {
        let Some(e) = entries.get(i) else { continue };
        if e.offset + HEADER_LEN as u64 > file_len {
            return Err(format!(
                "record {i} at offset {}: no room for a header",
                e.offset
            ));
        }
        read_exact_at(&mut header, e.offset).map_err(|err| err.to_string())?;
        match framing::parse_header(&header) {
            Ok(payload_len) if framing::frame_len(payload_len) == Some(e.len) => {}
            Ok(payload_len) => {
                return Err(format!(
                    "record {i} at offset {}: the sidecar says {} bytes, the frame header {}",
                    e.offset,
                    e.len,
                    payload_len.saturating_add(FRAME_OVERHEAD as u64)
                ))
            }
            Err(err) => return Err(format!("record {i} at offset {}: {}", e.offset, err.kind())),
        }
    }
    Ok(())
}

/// Walks the frame headers of a file with positioned reads. Large files
/// are walked in segments on the pool's threads when called on one (as
/// datasets index their files), like [`scan_mapped`].
fn scan(file: &File, len: u64, max_record_len: u64) -> Result<Vec<u64>> {
    if len >= 2 * SEGMENT_SCAN_MIN
        && rayon::current_thread_index().is_some()
        && rayon::current_num_threads() > 1
    {
        let input = crate::read::segments::Input::File(file);
        if let Some(offsets) = scan_segments(input, len, max_record_len) {
            return Ok(offsets);
        }
    }
    let mut window = Window::new();
    walk_headers(len, max_record_len, |pos, last_frame_len| {
        if window.from(pos).len() < HEADER_LEN {
            let chunk = if last_frame_len > SKIP_OVER {
                0
            } else {
                SCAN_CHUNK
            };
            window.fill(file, len, pos, HEADER_LEN, chunk)?;
        }
        Ok(window.from(pos).first_chunk::<HEADER_LEN>().copied())
    })
}

/// Walks the frame headers of a mapped file: only the header bytes are
/// touched, nothing is copied. Large files are walked in segments on the
/// current rayon pool's threads when the segments chain up exactly, and
/// in one sequential walk otherwise (whose offsets and errors they equal).
fn scan_mapped(map: &[u8], max_record_len: u64) -> Result<Vec<u64>> {
    let len = map.len() as u64;
    if len >= 2 * SEGMENT_SCAN_MIN && rayon::current_num_threads() > 1 {
        let input = crate::read::segments::Input::Mapped(map);
        if let Some(offsets) = scan_segments(input, len, max_record_len) {
            return Ok(offsets);
        }
    }
    walk_headers(map.len() as u64, max_record_len, |pos, _| {
        Ok(usize::try_from(pos)
            .ok()
            .and_then(|p| map.get(p..))
            .and_then(|rest| rest.first_chunk::<HEADER_LEN>().copied()))
    })
}

/// The smallest segment a mapped file is cut into for a parallel scan.
const SEGMENT_SCAN_MIN: u64 = 8 << 20;

/// Every frame offset of a file of `len` bytes, from segments walked in
/// parallel; `None` when a segment's walk fails or does not end exactly
/// where the next segment starts (a false boundary inside a payload).
fn scan_segments(
    input: crate::read::segments::Input<'_>,
    len: u64,
    max_record_len: u64,
) -> Option<Vec<u64>> {
    use crate::read::segments;
    use rayon::prelude::*;

    let check = FrameCheck {
        data_crc: false,
        max_record_len,
    };
    let starts = segments::segment_starts(
        input,
        len,
        &segments::even_splits(len, SEGMENT_SCAN_MIN),
        check,
    );
    let parts: Vec<Option<Vec<u64>>> = starts
        .par_iter()
        .enumerate()
        .map(|(k, &from)| {
            let to = starts.get(k + 1).copied().unwrap_or(len);
            let mut offsets = Vec::new();
            let walk = segments::walk(input, len, from, to, check, false, |_, pos, _| {
                offsets.push(pos);
                Ok(())
            });
            (walk.error.is_none() && walk.end == to).then_some(offsets)
        })
        .collect();
    let total = parts.iter().map(|p| p.as_ref().map_or(0, Vec::len)).sum();
    let mut offsets = Vec::with_capacity(total);
    for part in parts {
        offsets.extend_from_slice(&part?);
    }
    Some(offsets)
}

/// Walks the frame headers of `len` bytes, each read by `header_at(offset,
/// length of the frame before)`, which gives `None` when fewer than a
/// header's bytes remain.
fn walk_headers(
    len: u64,
    max_record_len: u64,
    mut header_at: impl FnMut(u64, u64) -> io::Result<Option<[u8; HEADER_LEN]>>,
) -> Result<Vec<u64>> {
    let mut offsets = Vec::new();
    let mut pos = 0u64;
    let mut frame_len = 0u64;
    while pos < len {
        let index = offsets.len() as u64;
        let header = header_at(pos, frame_len).map_err(|e| Error::from(e).at_record(pos, index))?;
        let Some(header) = header else {
            return Err(Error::new(ErrorKind::TruncatedRecord {
                needed: HEADER_LEN as u64,
                available: len - pos,
            })
            .at_record(pos, index));
        };
        let payload_len = framing::parse_header(&header).map_err(|e| e.at_record(pos, index))?;
        if payload_len > max_record_len {
            return Err(Error::new(ErrorKind::RecordTooLarge {
                length: payload_len,
                limit: max_record_len,
            })
            .at_record(pos, index));
        }
        frame_len = framing::frame_len(payload_len).unwrap_or(u64::MAX);
        if frame_len > len - pos {
            return Err(Error::new(ErrorKind::TruncatedRecord {
                needed: frame_len,
                available: len - pos,
            })
            .at_record(pos, index));
        }
        offsets.push(pos);
        pos += frame_len;
    }
    Ok(offsets)
}

/// A page-aligned buffer that frames are read into.
///
/// Reads land at the same offset within a page as they have in the file:
/// the kernel's copy into user memory runs several times slower on some CPUs
/// when source and destination are aligned differently.
#[derive(Default)]
pub struct FrameBuf {
    buf: Vec<u8>,
}

const PAGE: usize = 4096;

impl FrameBuf {
    /// An empty buffer; it grows to the largest frame read.
    pub fn new() -> FrameBuf {
        FrameBuf::default()
    }

    /// Runs `f` with this thread's buffer, which lives as long as the thread
    /// (worker threads keep theirs between tasks instead of allocating and
    /// faulting in a new one each time).
    pub(crate) fn with_thread_local<R>(f: impl FnOnce(&mut FrameBuf) -> R) -> R {
        thread_local! {
            static BUF: std::cell::Cell<FrameBuf> = std::cell::Cell::new(FrameBuf::new());
        }
        let mut buf = BUF.take();
        let result = f(&mut buf);
        BUF.set(buf);
        result
    }

    /// Reads `len` bytes at `offset` of `file` and returns them.
    pub(crate) fn read_at(&mut self, file: &File, offset: u64, len: usize) -> io::Result<&[u8]> {
        let lead = (offset % PAGE as u64) as usize;
        let need = PAGE + lead + len;
        if self.buf.len() < need {
            // Grow geometrically so that a run of ever larger frames does
            // not reallocate each time.
            let size = need.max(self.buf.len() * 2).max(64 << 10);
            self.buf = Vec::new();
            self.buf = vec![0u8; size];
        }
        let base = (PAGE - self.buf.as_ptr() as usize % PAGE) % PAGE;
        let dst = &mut self.buf[base + lead..base + lead + len];
        read_exact_at(file, dst, offset)?;
        Ok(dst)
    }
}

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
        let (index, map) = open_indexed(path, options, true).map_err(|e| e.with_path(path))?;
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

    fn sequential(bytes: &[u8]) -> Result<Vec<u64>> {
        walk_headers(bytes.len() as u64, DEFAULT_MAX_RECORD_LEN, |pos, _| {
            Ok(bytes
                .get(pos as usize..)
                .and_then(|r| r.first_chunk::<HEADER_LEN>().copied()))
        })
    }

    /// A file of 3-byte to 64 KiB records over 2 × 8 MiB, some of whose
    /// payloads are whole frames themselves: boundaries a segment search can
    /// mistake for real ones.
    fn tricky_file() -> Vec<u8> {
        let mut out = Vec::new();
        let mut x = 7u64;
        let mut i = 0u64;
        while out.len() < (2 * SEGMENT_SCAN_MIN + (3 << 20)) as usize {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let payload = if i % 3 == 0 {
                // A payload that is itself a run of frames.
                let mut inner = Vec::new();
                for k in 0..(x >> 60) + 1 {
                    framing::encode_frame(&vec![k as u8; (x >> 40) as usize % 3000], &mut inner);
                }
                inner
            } else {
                vec![i as u8; 3 + (x >> 33) as usize % (64 << 10)]
            };
            framing::encode_frame(&payload, &mut out);
            i += 1;
        }
        out
    }

    #[test]
    fn segmented_scans_equal_the_sequential_walk() {
        let bytes = tricky_file();
        let want = sequential(&bytes).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let got = pool
            .install(|| scan_mapped(&bytes, DEFAULT_MAX_RECORD_LEN))
            .unwrap();
        assert_eq!(got, want);
        let input = crate::read::segments::Input::Mapped(&bytes);
        let segmented =
            pool.install(|| scan_segments(input, bytes.len() as u64, DEFAULT_MAX_RECORD_LEN));
        assert_eq!(segmented.as_deref(), Some(&want[..]));
        // A damaged header late in the file: the segments do not chain, and
        // the error is the sequential walk's.
        let mut bad = bytes.clone();
        let at = want[want.len() * 3 / 4] as usize;
        bad[at] ^= 1;
        let seq = sequential(&bad).unwrap_err();
        let got = pool
            .install(|| scan_mapped(&bad, DEFAULT_MAX_RECORD_LEN))
            .unwrap_err();
        assert_eq!(got.kind(), seq.kind());
        assert_eq!(
            (got.offset(), got.record_index()),
            (seq.offset(), seq.record_index())
        );
        // Cut short inside the last frame.
        let cut = &bytes[..bytes.len() - 5];
        let seq = sequential(cut).unwrap_err();
        let got = pool
            .install(|| scan_mapped(cut, DEFAULT_MAX_RECORD_LEN))
            .unwrap_err();
        assert_eq!((got.kind(), got.offset()), (seq.kind(), seq.offset()));
    }

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
