//! Reading TFRecord files: memory-mapped, streamed, or from memory.
//!
//! [`Reader::open`] maps an uncompressed file and hands out payloads borrowed
//! from the map; GZIP and ZLIB files (recognised by their content, not their
//! name) are decompressed as a stream. [`Reader::from_read`] reads any
//! [`Read`](std::io::Read), such as stdin. [`SliceReader`] reads bytes already
//! in memory.

mod aligned;
pub(crate) mod mmap;
pub(crate) mod positioned;
pub(crate) mod segments;
mod slice;
mod stream;

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::bufread::{MultiGzDecoder, ZlibDecoder};

use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::framing::{FrameCheck, DEFAULT_MAX_RECORD_LEN};
use crate::tensor::TensorView;

pub use slice::SliceReader;

use aligned::AlignedReader;
use mmap::Mmap;
use slice::Cursor;
use stream::StreamFrames;

/// Buffer size for streamed (and decompressed) input.
const STREAM_BUFFER: usize = 256 << 10;

/// One record: its payload and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// The payload, borrowed from a mapped file or buffer when possible.
    pub payload: Cow<'a, [u8]>,
    /// Byte offset of the record's frame (in the decompressed stream for
    /// compressed files).
    pub offset: u64,
    /// Zero-based index of the record in its file.
    pub index: u64,
}

impl<'a> Record<'a> {
    /// Decodes the payload as a serialized `TensorProto`.
    pub fn decode(&self) -> Result<TensorView<'_>> {
        TensorView::decode(&self.payload).map_err(|e| e.at_record(self.offset, self.index))
    }
}

/// Options for reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    verify_data_crc: bool,
    max_record_len: u64,
    mmap: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            verify_data_crc: true,
            max_record_len: DEFAULT_MAX_RECORD_LEN,
            mmap: true,
        }
    }
}

impl ReadOptions {
    /// Whether to check each payload's CRC (default: yes). The length CRC is
    /// always checked.
    pub fn verify_data_crc(mut self, yes: bool) -> Self {
        self.verify_data_crc = yes;
        self
    }

    /// Largest payload accepted (default: 2 GiB).
    pub fn max_record_len(mut self, len: u64) -> Self {
        self.max_record_len = len;
        self
    }

    /// Whether [`Reader::open`] may memory-map uncompressed files (default:
    /// yes). Without it files are read as streams.
    pub fn mmap(mut self, yes: bool) -> Self {
        self.mmap = yes;
        self
    }

    pub(crate) fn uses_mmap(&self) -> bool {
        self.mmap
    }

    pub(crate) fn frame_check(&self) -> FrameCheck {
        FrameCheck {
            data_crc: self.verify_data_crc,
            max_record_len: self.max_record_len,
        }
    }
}

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
}

impl Reader {
    /// Opens a file with default options.
    ///
    /// Uncompressed regular files are memory-mapped: the file must not be
    /// truncated or modified while the reader (or any record borrowed from
    /// it) is alive. Use [`ReadOptions::mmap`]`(false)` for files that may
    /// change.
    pub fn open(path: impl AsRef<Path>) -> Result<Reader> {
        Reader::open_with(path, ReadOptions::default())
    }

    /// Opens a file with the given options.
    pub fn open_with(path: impl AsRef<Path>, options: ReadOptions) -> Result<Reader> {
        let path = path.as_ref();
        Reader::open_inner(path, options).map_err(|e| e.with_path(path))
    }

    fn open_inner(path: &Path, options: ReadOptions) -> Result<Reader> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        let mut reader = if options.mmap && meta.is_file() {
            if meta.len() == 0 {
                Reader::from_source(Source::Empty, Compression::None, options)
            } else {
                let map = Mmap::map(&file)?;
                match Compression::detect(&map[..map.len().min(Compression::DETECT_LEN)]) {
                    Compression::None => {
                        let source = Source::Mapped {
                            map,
                            cursor: Cursor::default(),
                        };
                        Reader::from_source(source, Compression::None, options)
                    }
                    _ => {
                        drop(map);
                        Reader::from_read_with(file, options)?
                    }
                }
            }
        } else {
            Reader::from_read_with(file, options)?
        };
        reader.path = Some(path.to_path_buf());
        Ok(reader)
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
        let stream: Box<dyn BufRead + Send> = match compression {
            Compression::None => raw,
            Compression::Gzip => Box::new(BufReader::with_capacity(
                STREAM_BUFFER,
                MultiGzDecoder::new(raw),
            )),
            Compression::Zlib => Box::new(BufReader::with_capacity(
                STREAM_BUFFER,
                ZlibDecoder::new(raw),
            )),
        };
        let source = Source::Stream(StreamFrames::new(stream, options.frame_check()), Vec::new());
        Ok(Reader::from_source(source, compression, options))
    }

    fn from_source(source: Source, compression: Compression, options: ReadOptions) -> Reader {
        Reader {
            source,
            path: None,
            compression,
            check: options.frame_check(),
        }
    }

    /// Names the input in errors (for example `-` for stdin); files opened
    /// by path are named already.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Reader {
        self.path = Some(path.into());
        self
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
        let item = match &mut self.source {
            Source::Mapped { map, cursor } => slice::next_record(map, cursor, self.check),
            Source::Empty => None,
            Source::Stream(frames, buf) => frames.read_into(buf).map(|r| {
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
            Source::Mapped { map, cursor } => {
                let map: &Mmap = map;
                RecordsInner::Mapped {
                    bytes: &map[..],
                    cursor,
                }
            }
            Source::Empty => RecordsInner::Empty,
            Source::Stream(frames, _) => RecordsInner::Stream(frames),
        };
        Records {
            inner,
            path: self.path.as_deref(),
            check: self.check,
        }
    }

    /// Counts the remaining records by walking the frame headers: lengths and
    /// their CRCs are checked, payloads are neither read nor checked (for
    /// streams they are still decompressed and skipped).
    pub fn count(&mut self) -> Result<u64> {
        let check = FrameCheck {
            data_crc: false,
            ..self.check
        };
        let mut n = 0u64;
        let result = match &mut self.source {
            Source::Mapped { map, cursor } => loop {
                match slice::next_record(map, cursor, check) {
                    None => break Ok(n),
                    Some(Ok(_)) => n += 1,
                    Some(Err(e)) => break Err(e),
                }
            },
            Source::Empty => Ok(0),
            Source::Stream(frames, _) => loop {
                match frames.skip() {
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
    let inner = || -> io::Result<Option<(File, u64)>> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(None);
        }
        let mut prefix = Vec::with_capacity(Compression::DETECT_LEN);
        (&file)
            .take(Compression::DETECT_LEN as u64)
            .read_to_end(&mut prefix)?;
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

/// Reads up to `n` bytes from the front of a stream without losing them.
fn peek<R: Read>(r: &mut R, n: usize) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

/// Iterator over a [`Reader`]'s records; see [`Reader::records`].
pub struct Records<'r> {
    inner: RecordsInner<'r>,
    path: Option<&'r Path>,
    check: FrameCheck,
}

enum RecordsInner<'r> {
    Mapped {
        bytes: &'r [u8],
        cursor: &'r mut Cursor,
    },
    Empty,
    Stream(&'r mut StreamFrames<Box<dyn BufRead + Send>>),
}

impl<'r> Iterator for Records<'r> {
    type Item = Result<Record<'r>>;

    fn next(&mut self) -> Option<Self::Item> {
        let item = match &mut self.inner {
            RecordsInner::Mapped { bytes, cursor } => slice::next_record(bytes, cursor, self.check),
            RecordsInner::Empty => None,
            RecordsInner::Stream(frames) => {
                let mut payload = Vec::new();
                frames.read_into(&mut payload).map(|r| {
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
