//! Writing TFRecord files.
//!
//! [`Writer`] frames records onto any [`Sink`]: a plain [`Write`] wrapped by
//! [`Writer::new`], or an [`AtomicFile`] from [`Writer::create`] that only
//! appears under its final name once [`Writer::finish`] succeeds.
//! [`sharded::ShardedWriter`] spreads records over many such files
//! (`{stem}-{i:05}-of-{n:05}.tfrecord`) in parallel, with index sidecars and
//! a manifest.
//!
//! This file holds the [`Writer`] and its framing onto a sink; what a sink
//! is lives in `sink`, files that appear atomically in `atomic`. The writer
//! knows nothing of files, directories or threads.

pub(crate) mod atomic;
pub mod sharded;
mod sink;

use std::io::{self, Write};
use std::path::Path;

use flate2::write::{GzEncoder, ZlibEncoder};

use crate::compression::Compression;
use crate::error::Result;
use crate::framing::{encode_footer, encode_header, FRAME_OVERHEAD};
use crate::tensor::TensorView;

pub use atomic::{AtomicFile, FileOp, IoHook};
pub use sink::{Sink, WriteSink};

enum Encoder<S: Write> {
    Plain(S),
    Gzip(GzEncoder<S>),
    Zlib(ZlibEncoder<S>),
}

impl<S: Write> Encoder<S> {
    fn new(sink: S, compression: Compression) -> Self {
        // Level 6 is what TensorFlow's ZlibCompressionOptions use by default.
        let level = flate2::Compression::new(6);
        match compression {
            Compression::None => Encoder::Plain(sink),
            Compression::Gzip => Encoder::Gzip(GzEncoder::new(sink, level)),
            Compression::Zlib => Encoder::Zlib(ZlibEncoder::new(sink, level)),
        }
    }

    fn out(&mut self) -> &mut dyn Write {
        match self {
            Encoder::Plain(s) => s,
            Encoder::Gzip(e) => e,
            Encoder::Zlib(e) => e,
        }
    }

    fn sink_mut(&mut self) -> &mut S {
        match self {
            Encoder::Plain(s) => s,
            Encoder::Gzip(e) => e.get_mut(),
            Encoder::Zlib(e) => e.get_mut(),
        }
    }

    fn finish(self) -> io::Result<S> {
        match self {
            Encoder::Plain(s) => Ok(s),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zlib(e) => e.finish(),
        }
    }
}

/// Writes framed records, optionally compressed.
///
/// ```
/// use tfrec::{Compression, Reader, Tensor, Writer};
/// let mut w = Writer::with_compression(Vec::new(), Compression::Gzip);
/// w.write_tensor(&Tensor::from_strings(&["a", "bc"], &[2])?)?;
/// w.write_record(b"raw bytes")?;
/// let bytes: Vec<u8> = w.finish()?;
///
/// let mut r = Reader::from_read(std::io::Cursor::new(bytes))?;
/// assert_eq!(r.compression(), Compression::Gzip);
/// assert_eq!(r.count()?, 2);
/// # Ok::<(), tfrec::Error>(())
/// ```
pub struct Writer<S: Sink> {
    encoder: Encoder<S>,
    scratch: Vec<u8>,
    records: u64,
    bytes: u64,
}

impl<W: Write> Writer<WriteSink<W>> {
    /// Writes uncompressed records to `w`. Frames are written with a few
    /// `write_all` calls each; give an unbuffered `W` a `BufWriter`.
    pub fn new(w: W) -> Self {
        Writer::with_compression(w, Compression::None)
    }

    /// Writes records to `w` with the given compression.
    pub fn with_compression(w: W, compression: Compression) -> Self {
        Writer::from_sink(WriteSink(w), compression)
    }
}

impl Writer<AtomicFile> {
    /// Creates `path` atomically: records go to a hidden temporary file in
    /// the same directory, and [`finish`](Writer::finish) flushes, fsyncs,
    /// renames it into place and fsyncs the directory. Dropped without
    /// `finish`, the temporary file is removed and `path` is untouched.
    ///
    /// `path` may be an object URL (`s3://bucket/key`, ...; see
    /// [`crate::storage`]): the bytes are staged in a local temporary file
    /// and uploaded by a multipart upload on `finish`, so the object
    /// appears only whole.
    pub fn create(path: impl AsRef<Path>) -> Result<Self> {
        Writer::create_with(path, Compression::None)
    }

    /// Like [`create`](Writer::create), with compression.
    pub fn create_with(path: impl AsRef<Path>, compression: Compression) -> Result<Self> {
        let path = path.as_ref();
        let file = AtomicFile::create(path).map_err(|e| crate::Error::from(e).with_path(path))?;
        Ok(Writer::from_sink(file, compression))
    }

    /// Whether [`finish`](Writer::finish) fsyncs the file and its directory
    /// (default: yes). Without it the file still appears only complete and
    /// under its final name, but a power loss soon after may lose it; a
    /// process crash cannot.
    ///
    /// ```
    /// use tfrec::{Tensor, Writer};
    /// let dir = tempfile::tempdir()?;
    /// let mut w = Writer::create(dir.path().join("scratch.tfrecord"))?;
    /// w.set_sync(false); // a scratch file: durability is not worth an fsync
    /// w.write_tensor(&Tensor::scalar(1u8))?;
    /// w.finish()?;
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn set_sync(&mut self, sync: bool) {
        self.encoder.sink_mut().set_sync(sync);
    }

    /// Calls `hook` before each file operation (see [`IoHook`]), to observe
    /// or inject failures in tests.
    pub fn set_hook(&mut self, hook: IoHook) {
        self.encoder.sink_mut().set_hook(hook);
    }
}

impl<S: Sink> Writer<S> {
    /// Writes to any [`Sink`].
    pub fn from_sink(sink: S, compression: Compression) -> Self {
        Writer {
            encoder: Encoder::new(sink, compression),
            scratch: Vec::new(),
            records: 0,
            bytes: 0,
        }
    }

    /// Writes one record carrying `payload`.
    pub fn write_record(&mut self, payload: &[u8]) -> Result<()> {
        let out = self.encoder.out();
        out.write_all(&encode_header(payload.len() as u64))?;
        out.write_all(payload)?;
        out.write_all(&encode_footer(payload))?;
        self.records += 1;
        self.bytes += (payload.len() + FRAME_OVERHEAD) as u64;
        Ok(())
    }

    /// Writes one record holding `tensor` serialized exactly as
    /// `tf.io.serialize_tensor` does.
    /// Takes a [`Tensor`](crate::Tensor) or a [`TensorView`].
    pub fn write_tensor<'t, T: AsRef<TensorView<'t>> + ?Sized>(
        &mut self,
        tensor: &T,
    ) -> Result<()> {
        let tensor = tensor.as_ref();
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        tensor.encode(&mut scratch);
        let result = self.write_record(&scratch);
        self.scratch = scratch;
        result
    }

    /// Writes one record holding an [`Example`](crate::example::Example) or
    /// [`SequenceExample`](crate::example::SequenceExample), serialized as
    /// [`example::encode`](crate::example::encode) does.
    pub fn write_example<M: crate::example::Deterministic + ?Sized>(
        &mut self,
        message: &M,
    ) -> Result<()> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        message.encode_deterministic(&mut scratch, crate::example::MapOrder::default());
        let result = self.write_record(&scratch);
        self.scratch = scratch;
        result
    }

    /// Records written so far.
    pub fn records_written(&self) -> u64 {
        self.records
    }

    /// Uncompressed bytes (frames) written so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// Finishes the compression stream and the sink.
    pub fn finish(self) -> Result<S::Output> {
        let sink = self.encoder.finish()?;
        Ok(sink.finish()?)
    }
}
