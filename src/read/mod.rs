//! Reading TFRecord files: memory-mapped, streamed, or from memory.
//!
//! This file holds [`Reader`]: choosing a source for a file or stream and
//! iterating its records. It knows nothing of indexes, threads or what
//! payloads hold.
//!
//! [`Reader::open`] maps an uncompressed file and hands out payloads borrowed
//! from the map (a file cut short while mapped gives a truncated-record
//! error, not a `SIGBUS`); GZIP and ZLIB files (recognised by their content, not their
//! name) are decompressed as a stream. [`Reader::from_read`] reads any
//! [`Read`], such as stdin. [`SliceReader`] reads bytes already
//! in memory.

mod aligned;
mod follow;
pub(crate) mod mmap;
mod options;
pub(crate) mod positioned;
mod record;
pub(crate) mod recovery;
pub(crate) mod segments;
pub(crate) mod slice;
mod stream;

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use flate2::bufread::{MultiGzDecoder, ZlibDecoder};

use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::framing::FrameCheck;

pub use follow::Follow;
pub use options::ReadOptions;
pub use record::Record;
pub use recovery::{CorruptionPolicy, OnSkip, SkipCounts, Skipped};
pub use slice::SliceReader;

use aligned::AlignedReader;
use follow::FollowRead;
use mmap::Mmap;
use recovery::Recovery;
use slice::Cursor;
use stream::StreamFrames;

/// Buffer size for streamed (and decompressed) input.
const STREAM_BUFFER: usize = 256 << 10;

enum Source {
    Mapped { map: Mmap, cursor: Cursor },
    Empty,
    Stream(StreamFrames<Box<dyn BufRead + Send>>, Vec<u8>),
}

/// Reads the records of one TFRecord file or stream, checking every CRC.
///
/// ```
/// use tfrec::{Reader, Tensor, Writer};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.tfrecord");
/// let mut w = Writer::create(&path)?;
/// w.write_tensor(&Tensor::from_slice(&[1.0f32, 2.0], &[2])?)?;
/// w.finish()?;
///
/// let mut reader = Reader::open(&path)?;
/// for record in reader.records() {
///     let record = record?;
///     let tensor = record.decode()?;
///     assert_eq!(tensor.shape(), &[2]);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Reader {
    source: Source,
    path: Option<PathBuf>,
    compression: Compression,
    check: FrameCheck,
    recovery: Recovery,
}

impl Reader {
    /// Opens a file with default options.
    ///
    /// Uncompressed regular files are memory-mapped. A mapped file cut short
    /// while it is read does not kill the process: the read of the first
    /// record not wholly before the cut is an
    /// [`ErrorKind::TruncatedRecord`](crate::ErrorKind::TruncatedRecord)
    /// naming the path, offset and index, whatever the corruption policy
    /// (on Linux through a `SIGBUS` guard; Windows refuses to truncate
    /// mapped files; elsewhere such files are read with positioned reads).
    /// A record borrowed before the cut and read after it reads as zeros;
    /// bytes rewritten in place are caught only by the CRCs. Use
    /// [`ReadOptions::mmap`]`(false)` for files rewritten in place while
    /// read.
    ///
    /// `path` may be an object URL (`s3://bucket/key`, `gs://`, `az://`,
    /// `https://`; see [`crate::storage`]): the object is streamed with
    /// ranged GETs, several in flight.
    pub fn open(path: impl AsRef<Path>) -> Result<Reader> {
        Reader::open_with(path, ReadOptions::default())
    }

    /// Opens a file with the given options.
    pub fn open_with(path: impl AsRef<Path>, options: ReadOptions) -> Result<Reader> {
        let path = path.as_ref();
        Reader::open_inner(path, options).map_err(|e| e.with_path(path))
    }

    fn open_inner(path: &Path, options: ReadOptions) -> Result<Reader> {
        if let Some(url) = crate::storage::remote(path) {
            // Objects are streamed with read-ahead; compression is told
            // from the first bytes as for files.
            let stream = crate::storage::ObjectStream::open(&url)?;
            return Ok(Reader::from_read_with(stream, options)?.with_path(path));
        }
        let file = File::open(path)?;
        let meta = file.metadata()?;
        let reader = if options.uses_mmap() && meta.is_file() {
            if meta.len() == 0 {
                Reader::from_source(Source::Empty, Compression::None, options)
            } else {
                match Mmap::map(&file, path)? {
                    Some(map)
                        if Compression::detect(&map[..map.len().min(Compression::DETECT_LEN)])
                            == Compression::None =>
                    {
                        let source = Source::Mapped {
                            map,
                            cursor: Cursor::default(),
                        };
                        Reader::from_source(source, Compression::None, options)
                    }
                    // Compressed, or no guarded map to be had here.
                    _ => Reader::from_read_with(file, options)?,
                }
            }
        } else {
            Reader::from_read_with(file, options)?
        };
        Ok(reader.with_path(path))
    }

    /// Follows a file that is still being written, like `tail -f`: records
    /// are read as they are completed, and at the end of the file (or in a
    /// record not yet whole) the reader waits as [`Follow`] says instead of
    /// ending. No record is lost or read twice. The file is read with plain
    /// reads, never mapped; it must be uncompressed (a GZIP or ZLIB stream
    /// cannot be read before it is finished).
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use tfrec::read::{Follow, ReadOptions, Reader};
    /// let follow = Follow::new().idle_timeout(Duration::from_secs(60));
    /// let mut reader = Reader::follow("train.tfrecord", ReadOptions::default(), follow)?;
    /// while let Some(record) = reader.next_record() {
    ///     println!("{} bytes", record?.payload.len());
    /// }
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn follow(path: impl AsRef<Path>, options: ReadOptions, follow: Follow) -> Result<Reader> {
        let path = path.as_ref();
        let inner = || -> Result<Reader> {
            if crate::storage::is_remote(path) {
                return Err(Error::invalid_input(
                    "an object in a store cannot be followed while it is written",
                ));
            }
            let mut file = File::open(path)?;
            let prefix = peek(&mut file, Compression::DETECT_LEN)?;
            if Compression::detect(&prefix) != Compression::None {
                return Err(Error::invalid_input(
                    "a compressed file cannot be followed while it is written",
                ));
            }
            let stream = io::Cursor::new(prefix).chain(FollowRead::new(file, follow));
            let buffered = AlignedReader::with_capacity(STREAM_BUFFER, stream);
            let frames = StreamFrames::new(
                Box::new(buffered) as Box<dyn BufRead + Send>,
                options.frame_check(),
            );
            let source = Source::Stream(frames, Vec::new());
            Ok(Reader::from_source(source, Compression::None, options))
        };
        inner()
            .map(|r| r.with_path(path))
            .map_err(|e| e.with_path(path))
    }

    /// Reads from any stream, detecting GZIP/ZLIB compression by content.
    pub fn from_read<R: Read + Send + 'static>(reader: R) -> Result<Reader> {
        Reader::from_read_with(reader, ReadOptions::default())
    }

    /// Reads from any stream with the given options.
    pub fn from_read_with<R: Read + Send + 'static>(
        reader: R,
        options: ReadOptions,
    ) -> Result<Reader> {
        let mut buffered = AlignedReader::with_capacity(STREAM_BUFFER, reader);
        let prefix = peek(&mut buffered, Compression::DETECT_LEN)?;
        let compression = Compression::detect(&prefix);
        let raw: Box<dyn BufRead + Send> = Box::new(io::Cursor::new(prefix).chain(buffered));
        let cut = Arc::new(AtomicBool::new(false));
        let stream: Box<dyn BufRead + Send> = match compression {
            Compression::None => raw,
            Compression::Gzip => Box::new(BufReader::with_capacity(
                STREAM_BUFFER,
                stream::CutShort::new(MultiGzDecoder::new(raw), cut.clone()),
            )),
            Compression::Zlib => Box::new(BufReader::with_capacity(
                STREAM_BUFFER,
                stream::CutShort::new(ZlibDecoder::new(raw), cut.clone()),
            )),
        };
        let mut frames = StreamFrames::new(stream, options.frame_check());
        frames.cut_short = Some(cut);
        let source = Source::Stream(frames, Vec::new());
        Ok(Reader::from_source(source, compression, options))
    }

    fn from_source(source: Source, compression: Compression, options: ReadOptions) -> Reader {
        Reader {
            source,
            path: None,
            compression,
            check: options.frame_check(),
            recovery: options.recovery(),
        }
    }

    /// Names the input in errors (for example `-` for stdin); files opened
    /// by path are named already.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Reader {
        let path = path.into();
        self.recovery.path = Some(path.clone());
        self.path = Some(path);
        self
    }

    /// Calls `f` for every damaged stretch skipped under
    /// [`CorruptionPolicy::Skip`] (see [`ReadOptions::corruption`]).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use tfrec::read::{CorruptionPolicy, ReadOptions, Reader};
    /// use tfrec::{Tensor, Writer};
    ///
    /// let mut w = Writer::new(Vec::new());
    /// for i in 0..3u8 {
    ///     w.write_tensor(&Tensor::scalar(i))?;
    /// }
    /// let mut bytes = w.finish()?;
    /// let second = bytes.len() / 3;
    /// bytes[second + 20] ^= 1; // damage the second record's payload
    ///
    /// let log = Arc::new(Mutex::new(Vec::new()));
    /// let sink = log.clone();
    /// let options = ReadOptions::default().corruption(CorruptionPolicy::Skip);
    /// let mut reader = Reader::from_read_with(std::io::Cursor::new(bytes), options)?
    ///     .on_skip(move |s| sink.lock().unwrap().push((s.offset, s.len)));
    /// let kept: Vec<u64> = reader.records().map(|r| r.map(|r| r.index)).collect::<Result<_, _>>()?;
    /// assert_eq!(kept, [0, 2]);
    /// assert_eq!(*log.lock().unwrap(), [(second as u64, second as u64)]);
    /// assert_eq!(reader.skipped().records, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_skip(mut self, f: impl FnMut(&Skipped) + Send + 'static) -> Reader {
        let f: Box<OnSkip> = Box::new(f);
        self.recovery.on_skip = Some(f);
        self
    }

    /// What has been skipped so far under [`CorruptionPolicy::Skip`].
    pub fn skipped(&self) -> SkipCounts {
        self.recovery.counts
    }

    /// Swaps in another recovery (verification reads on past damage
    /// whatever the reader's own policy).
    pub(crate) fn replace_recovery(&mut self, recovery: Recovery) -> Recovery {
        std::mem::replace(&mut self.recovery, recovery)
    }

    /// The file's path, when opened from one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The compression detected.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The whole file's bytes when it is memory-mapped (uncompressed regular
    /// files), for random access and parallel processing.
    pub fn mapped_bytes(&self) -> Option<&[u8]> {
        match &self.source {
            Source::Mapped { map, .. } => Some(map),
            Source::Empty => Some(&[]),
            Source::Stream(..) => None,
        }
    }

    /// The next record, borrowed from the map or from the reader's buffer.
    /// `None` at the end of the input; after an error, always `None`.
    pub fn next_record(&mut self) -> Option<Result<Record<'_>>> {
        let path = self.path.as_deref();
        let recovery = &mut self.recovery;
        let item = match &mut self.source {
            Source::Mapped { map, cursor } => {
                slice::next_guarded(map, Some(map), cursor, self.check, recovery)
            }
            Source::Empty => None,
            Source::Stream(frames, buf) => frames.read_into(buf, recovery).map(|r| {
                r.map(|(offset, index)| Record {
                    payload: Cow::Borrowed(&buf[..]),
                    offset,
                    index,
                })
            }),
        };
        item.map(|r| r.map_err(|e| attach(e, path)))
    }

    /// An iterator over the remaining records. Payloads are borrowed from
    /// the map for mapped files and owned for streams.
    pub fn records(&mut self) -> Records<'_> {
        let inner = match &mut self.source {
            Source::Mapped { map, cursor } => RecordsInner::Mapped { map, cursor },
            Source::Empty => RecordsInner::Empty,
            Source::Stream(frames, _) => RecordsInner::Stream(frames),
        };
        Records {
            inner,
            path: self.path.as_deref(),
            check: self.check,
            recovery: &mut self.recovery,
        }
    }

    /// Counts the remaining records by walking the frame headers: lengths and
    /// their CRCs are checked, payloads are neither read nor checked (for
    /// streams they are still decompressed and skipped). Under
    /// [`CorruptionPolicy::Skip`] payload CRCs are checked too, so that the
    /// count is that of the records [`records`](Self::records) yields.
    pub fn count(&mut self) -> Result<u64> {
        let check = FrameCheck {
            data_crc: self.recovery.policy == CorruptionPolicy::Skip,
            ..self.check
        };
        let recovery = &mut self.recovery;
        let mut n = 0u64;
        let result = match &mut self.source {
            Source::Mapped { map, cursor } => loop {
                match slice::next_guarded(map, Some(map), cursor, check, recovery) {
                    None => break Ok(n),
                    Some(Ok(_)) => n += 1,
                    Some(Err(e)) => break Err(e),
                }
            },
            Source::Empty => Ok(0),
            Source::Stream(frames, _) => loop {
                match frames.skip(recovery) {
                    None => break Ok(n),
                    Some(Ok(_)) => n += 1,
                    Some(Err(e)) => break Err(e),
                }
            },
        };
        result.map_err(|e| attach(e, self.path.as_deref()))
    }
}

/// Opens `path` for positioned reads when it is a regular, uncompressed
/// file: the file and its length, or `None` for compressed files and
/// anything that is not a regular file. The compression is told from the
/// first bytes, as [`Reader::open`] tells it.
pub(crate) fn open_plain_file(path: &Path) -> Result<Option<(File, u64)>> {
    if crate::storage::is_remote(path) {
        // Objects are read as streams, not with positioned file reads.
        return Ok(None);
    }
    let inner = || -> io::Result<Option<(File, u64)>> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(None);
        }
        let prefix = peek(&mut &file, Compression::DETECT_LEN)?;
        let plain = Compression::detect(&prefix) == Compression::None;
        Ok(plain.then_some((file, meta.len())))
    };
    inner().map_err(|e| Error::from(e).with_path(path))
}

fn attach(e: Error, path: Option<&Path>) -> Error {
    match path {
        Some(p) => e.with_path(p),
        None => e,
    }
}

/// Reads up to `n` bytes from the front of a stream, to tell its
/// compression; callers that go on reading put them back in front.
pub(crate) fn peek<R: Read>(r: &mut R, n: usize) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

/// Iterator over a [`Reader`]'s records; see [`Reader::records`].
pub struct Records<'r> {
    inner: RecordsInner<'r>,
    path: Option<&'r Path>,
    check: FrameCheck,
    recovery: &'r mut Recovery,
}

enum RecordsInner<'r> {
    Mapped {
        map: &'r Mmap,
        cursor: &'r mut Cursor,
    },
    Empty,
    Stream(&'r mut StreamFrames<Box<dyn BufRead + Send>>),
}

impl<'r> Iterator for Records<'r> {
    type Item = Result<Record<'r>>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = match &mut self.inner {
            RecordsInner::Mapped { map, cursor } => {
                let map: &'r Mmap = map;
                slice::next_guarded(map, Some(map), cursor, self.check, self.recovery)
            }
            RecordsInner::Empty => None,
            RecordsInner::Stream(frames) => {
                let mut payload = Vec::new();
                frames.read_into(&mut payload, self.recovery).map(|r| {
                    r.map(|(offset, index)| Record {
                        payload: Cow::Owned(payload),
                        offset,
                        index,
                    })
                })
            }
        };
        item.map(|r| r.map_err(|e| attach(e, self.path)))
    }
}
