//! One shard being written: its frames, its index sidecar, its counts.
//!
//! Knows nothing of which records go to which shard, of final names or of
//! threads.
//!
//! Frames are built straight into the page-aligned buffer of the shard's
//! [`AtomicFile`] (uncompressed shards) or into a staging buffer in front of
//! the compressor, so each payload byte is copied once on its way to the
//! kernel.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::write::{GzEncoder, ZlibEncoder};

use crate::compression::Compression;
use crate::crc::mask;
use crate::crc::masked_crc32c;
use crate::error::{Error, Result};
use crate::framing::{encode_header, FRAME_OVERHEAD, HEADER_LEN};
use crate::proto::tensor::encode_content_prefix;
use crate::proto::tensor::encoded_len;
use crate::tensor::TensorView;
use crate::write::atomic::{AtomicFile, IoHook, Staged};

/// Frames longer than this are streamed through the file's buffer in
/// pieces, each CRC'd while it is in cache, instead of being built whole.
const STREAM_FRAME: usize = 64 << 10;
/// Piece size when streaming a frame.
const STREAM_PIECE: usize = 32 << 10;
/// Uncompressed bytes gathered before they are handed to the compressor.
const COMPRESS_CHUNK: usize = 256 << 10;
/// Index text kept in memory before it is spilled to the sidecar file.
const INDEX_SPILL: usize = 32 << 10;
/// Write buffer of a sidecar or manifest file.
pub(crate) const SMALL_BUFFER: usize = 64 << 10;

/// Records to be framed, addressed by position.
pub(crate) trait RecordSet: Sync {
    /// Number of records.
    fn len(&self) -> usize;
    /// Length of record `i`'s whole frame.
    fn frame_len(&self, i: usize) -> usize;
    /// Appends record `i`'s payload to `out`; returns its masked CRC.
    fn put_payload(&self, i: usize, out: &mut Vec<u8>) -> u32;
    /// Writes record `i`'s payload in pieces; returns its masked CRC.
    fn stream_payload(&self, i: usize, out: &mut dyn Write) -> io::Result<u32> {
        let mut payload = Vec::new();
        let crc = self.put_payload(i, &mut payload);
        out.write_all(&payload)?;
        Ok(crc)
    }
}

/// Writes `payload` in pieces, returning its CRC32C (unmasked) continued
/// from `crc`.
fn stream_crc(payload: &[u8], crc: u32, out: &mut dyn Write) -> io::Result<u32> {
    let mut crc = crc;
    for piece in payload.chunks(STREAM_PIECE) {
        out.write_all(piece)?;
        crc = crc32c::crc32c_append(crc, piece);
    }
    Ok(crc)
}

/// Raw payloads, with their masked CRCs when already known.
pub(crate) struct Payloads<'a, P> {
    pub(crate) items: &'a [P],
    pub(crate) crcs: Option<&'a [u32]>,
}

impl<P: AsRef<[u8]> + Sync> RecordSet for Payloads<'_, P> {
    fn len(&self) -> usize {
        self.items.len()
    }
    fn frame_len(&self, i: usize) -> usize {
        self.items[i].as_ref().len() + FRAME_OVERHEAD
    }
    fn put_payload(&self, i: usize, out: &mut Vec<u8>) -> u32 {
        let payload = self.items[i].as_ref();
        out.extend_from_slice(payload);
        match self.crcs.and_then(|c| c.get(i)) {
            Some(&crc) => crc,
            None => masked_crc32c(payload),
        }
    }
    fn stream_payload(&self, i: usize, out: &mut dyn Write) -> io::Result<u32> {
        let payload = self.items[i].as_ref();
        match self.crcs.and_then(|c| c.get(i)) {
            Some(&crc) => {
                out.write_all(payload)?;
                Ok(crc)
            }
            None => Ok(mask(stream_crc(payload, 0, out)?)),
        }
    }
}

/// Tensors, serialized as `tf.io.serialize_tensor` does, with the masked
/// CRCs of their serializations when already known.
pub(crate) struct Tensors<'a, 't> {
    pub(crate) items: &'a [&'a TensorView<'t>],
    pub(crate) crcs: Option<Vec<u32>>,
}

/// The masked CRC32C of `t`'s serialization, without building it whole
/// when its values travel in `tensor_content`.
pub(crate) fn tensor_crc(t: &TensorView<'_>) -> u32 {
    let mut prefix = Vec::new();
    match t.bytes() {
        Some(content) if encode_content_prefix(t, &mut prefix) => {
            mask(crc32c::crc32c_append(crc32c::crc32c(&prefix), content))
        }
        _ => masked_crc32c(&t.to_proto_bytes()),
    }
}

impl RecordSet for Tensors<'_, '_> {
    fn len(&self) -> usize {
        self.items.len()
    }
    fn frame_len(&self, i: usize) -> usize {
        encoded_len(self.items[i]) + FRAME_OVERHEAD
    }
    fn put_payload(&self, i: usize, out: &mut Vec<u8>) -> u32 {
        let t = self.items[i];
        let start = out.len();
        // The caller made room for the frame: no need for `encode` to size
        // it again.
        match t.bytes() {
            Some(content) if encode_content_prefix(t, out) => out.extend_from_slice(content),
            _ => t.encode(out),
        }
        match self.crcs.as_ref().and_then(|c| c.get(i)) {
            Some(&crc) => crc,
            None => masked_crc32c(&out[start..]),
        }
    }
    fn stream_payload(&self, i: usize, out: &mut dyn Write) -> io::Result<u32> {
        let t = self.items[i];
        let mut prefix = Vec::new();
        let (Some(content), true) = (t.bytes(), encode_content_prefix(t, &mut prefix)) else {
            let payload = t.to_proto_bytes();
            out.write_all(&payload)?;
            return Ok(masked_crc32c(&payload));
        };
        out.write_all(&prefix)?;
        let crc = stream_crc(content, crc32c::crc32c(&prefix), out)?;
        Ok(mask(crc))
    }
}

/// Frame headers, remembering the last one: runs of records of one size
/// (the common case) need the length CRC only once.
#[derive(Default)]
struct Headers {
    len: Option<usize>,
    header: [u8; HEADER_LEN],
}

impl Headers {
    fn get(&mut self, frame_len: usize) -> [u8; HEADER_LEN] {
        if self.len != Some(frame_len) {
            self.header = encode_header((frame_len - FRAME_OVERHEAD) as u64);
            self.len = Some(frame_len);
        }
        self.header
    }

    /// Appends record `i`'s whole frame, `len` bytes long, to `out`.
    fn put(&mut self, set: &dyn RecordSet, i: usize, len: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.get(len));
        let crc = set.put_payload(i, out);
        out.extend_from_slice(&crc.to_le_bytes());
    }

    /// Writes record `i`'s whole frame, `len` bytes long, in pieces.
    fn stream(
        &mut self,
        set: &dyn RecordSet,
        i: usize,
        len: usize,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        out.write_all(&self.get(len))?;
        let crc = set.stream_payload(i, out)?;
        out.write_all(&crc.to_le_bytes())
    }
}

/// Which records of a set go to one shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Selection {
    /// Records `start..end`.
    Range { start: usize, end: usize },
    /// Records `first, first + step, ...` below `end`.
    Stride {
        first: usize,
        step: usize,
        end: usize,
    },
}

impl Selection {
    fn iter(self) -> impl Iterator<Item = usize> {
        let (first, step, end) = match self {
            Selection::Range { start, end } => (start, 1, end),
            Selection::Stride { first, step, end } => (first, step.max(1), end),
        };
        (first..end).step_by(step)
    }
}

/// What every shard of a job shares.
pub(crate) struct ShardConfig<'a> {
    pub(crate) dir: &'a Path,
    pub(crate) stem: &'a str,
    pub(crate) compression: Compression,
    pub(crate) sync: bool,
    pub(crate) index: bool,
    pub(crate) buffer: usize,
    pub(crate) hook: Option<&'a IoHook>,
}

impl ShardConfig<'_> {
    /// The name a shard is created under before the shard count is known;
    /// its temporary file is `.{this}.{random}.tmp`.
    pub(crate) fn provisional(&self, id: u64) -> PathBuf {
        self.dir.join(format!("{}-{id:05}.tfrecord", self.stem))
    }

    /// Opens one file of a shard; `checksum` keeps the CRC32C of its bytes
    /// for the manifest.
    fn open(&self, path: &Path, buffer: usize, checksum: bool) -> Result<AtomicFile> {
        let mut file = AtomicFile::create_with(path, buffer, self.hook.cloned())
            .map_err(|e| Error::from(e).with_path(path))?;
        file.set_sync(self.sync);
        if checksum {
            file.track_crc32c();
        }
        Ok(file)
    }
}

enum Body {
    Plain(AtomicFile),
    Gzip(GzEncoder<AtomicFile>, Vec<u8>),
    Zlib(ZlibEncoder<AtomicFile>, Vec<u8>),
}

/// The `offset length` lines of a shard's sidecar.
struct IndexOut {
    text: Vec<u8>,
    file: Option<AtomicFile>,
    path: PathBuf,
}

/// A shard open for writing, under a hidden temporary name.
pub(crate) struct ShardFile {
    pub(crate) id: u64,
    body: Body,
    index: Option<IndexOut>,
    temp: PathBuf,
    headers: Headers,
    /// Records written.
    pub(crate) records: u64,
    /// Bytes of frames written (before compression).
    pub(crate) frame_bytes: u64,
}

/// A finished shard under its temporary name, with its sidecar.
pub(crate) struct StagedShard {
    pub(crate) id: u64,
    pub(crate) data: Staged,
    pub(crate) index: Option<Staged>,
    pub(crate) records: u64,
    pub(crate) frame_bytes: u64,
}

impl ShardFile {
    pub(crate) fn create(config: &ShardConfig<'_>, id: u64) -> Result<ShardFile> {
        let path = config.provisional(id);
        let file = config.open(&path, config.buffer, true)?;
        let temp = file.temp_path().to_path_buf();
        // Level 6 is what TensorFlow's ZlibCompressionOptions use by default.
        let level = flate2::Compression::new(6);
        let body = match config.compression {
            Compression::None => Body::Plain(file),
            Compression::Gzip => Body::Gzip(GzEncoder::new(file, level), Vec::new()),
            Compression::Zlib => Body::Zlib(ZlibEncoder::new(file, level), Vec::new()),
        };
        let index = config.index.then(|| {
            let mut sidecar = path.clone().into_os_string();
            sidecar.push(".idx");
            IndexOut {
                text: Vec::new(),
                file: None,
                path: sidecar.into(),
            }
        });
        Ok(ShardFile {
            id,
            body,
            index,
            temp,
            headers: Headers::default(),
            records: 0,
            frame_bytes: 0,
        })
    }

    /// Appends the selected records of `set`.
    pub(crate) fn push(
        &mut self,
        set: &dyn RecordSet,
        selection: Selection,
        config: &ShardConfig<'_>,
    ) -> Result<()> {
        self.push_inner(set, selection, config)
            .map_err(|e| e.with_path(&self.temp))
    }

    fn push_inner(
        &mut self,
        set: &dyn RecordSet,
        selection: Selection,
        config: &ShardConfig<'_>,
    ) -> Result<()> {
        let headers = &mut self.headers;
        for i in selection.iter() {
            let len = set.frame_len(i);
            match &mut self.body {
                Body::Plain(file) => {
                    let built = len <= STREAM_FRAME
                        && file
                            .with_room(len, |out| headers.put(set, i, len, out))?
                            .is_some();
                    if !built {
                        headers.stream(set, i, len, file)?;
                    }
                }
                Body::Gzip(enc, staging) => {
                    headers.put(set, i, len, staging);
                    flush_staging(enc, staging)?;
                }
                Body::Zlib(enc, staging) => {
                    headers.put(set, i, len, staging);
                    flush_staging(enc, staging)?;
                }
            }
            if let Some(index) = &mut self.index {
                push_line(&mut index.text, self.frame_bytes, len as u64);
                if index.text.len() >= INDEX_SPILL {
                    index.spill(config)?;
                }
            }
            self.records += 1;
            self.frame_bytes += len as u64;
        }
        Ok(())
    }

    /// Finishes the shard: everything written and (when syncing) fsynced,
    /// still under temporary names.
    pub(crate) fn close(self, config: &ShardConfig<'_>) -> Result<StagedShard> {
        let temp = self.temp.clone();
        self.close_inner(config).map_err(|e| e.with_path(temp))
    }

    fn close_inner(self, config: &ShardConfig<'_>) -> Result<StagedShard> {
        let file = match self.body {
            Body::Plain(file) => file,
            Body::Gzip(mut enc, staging) => {
                enc.write_all(&staging)?;
                enc.finish()?
            }
            Body::Zlib(mut enc, staging) => {
                enc.write_all(&staging)?;
                enc.finish()?
            }
        };
        let data = file.stage()?;
        let index = match self.index {
            Some(mut index) => {
                index.spill(config)?;
                match index.file {
                    Some(file) => Some(file.stage()?),
                    None => None,
                }
            }
            None => None,
        };
        Ok(StagedShard {
            id: self.id,
            data,
            index,
            records: self.records,
            frame_bytes: self.frame_bytes,
        })
    }
}

impl IndexOut {
    /// Moves the text gathered so far to the sidecar file, creating it on
    /// first use.
    fn spill(&mut self, config: &ShardConfig<'_>) -> Result<()> {
        let file = match &mut self.file {
            Some(f) => f,
            None => self
                .file
                .insert(config.open(&self.path, SMALL_BUFFER, false)?),
        };
        file.write_all(&self.text)
            .map_err(|e| Error::from(e).with_path(file.temp_path()))?;
        self.text.clear();
        Ok(())
    }
}

/// Hands the staged frames to the compressor once there are enough.
fn flush_staging<W: Write>(enc: &mut W, staging: &mut Vec<u8>) -> io::Result<()> {
    if staging.len() >= COMPRESS_CHUNK {
        enc.write_all(staging)?;
        staging.clear();
    }
    Ok(())
}

/// Appends `offset length\n`, formatted right to left in one stack buffer
/// two digits at a time (one line per record adds up).
fn push_line(out: &mut Vec<u8>, offset: u64, len: u64) {
    let mut line = [0u8; 42];
    let mut at = line.len() - 1;
    line[at] = b'\n';
    at = put_decimal(&mut line, at, len);
    at -= 1;
    line[at] = b' ';
    at = put_decimal(&mut line, at, offset);
    out.extend_from_slice(&line[at..]);
}

/// Writes `v` in decimal to end just before `line[end]`; returns where it
/// starts. `end` must leave room for 20 digits.
fn put_decimal(line: &mut [u8; 42], mut end: usize, mut v: u64) -> usize {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        end -= 2;
        line[end] = PAIRS[pair];
        line[end + 1] = PAIRS[pair + 1];
    }
    if v >= 10 {
        let pair = v as usize * 2;
        end -= 2;
        line[end] = PAIRS[pair];
        line[end + 1] = PAIRS[pair + 1];
    } else {
        end -= 1;
        line[end] = b'0' + v as u8;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_lines() {
        let mut out = Vec::new();
        push_line(&mut out, 0, 16);
        push_line(&mut out, 16, 1234567);
        push_line(&mut out, u64::MAX, 10);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("0 16\n16 1234567\n{} 10\n", u64::MAX)
        );
        for v in [
            0u64,
            9,
            10,
            99,
            100,
            101,
            999,
            1000,
            123_456_789,
            u64::MAX / 3,
        ] {
            let mut out = Vec::new();
            push_line(&mut out, v, u64::MAX - v);
            assert_eq!(out, format!("{v} {}\n", u64::MAX - v).into_bytes());
        }
    }

    #[test]
    fn selections() {
        let r: Vec<usize> = Selection::Range { start: 2, end: 5 }.iter().collect();
        assert_eq!(r, [2, 3, 4]);
        let s: Vec<usize> = Selection::Stride {
            first: 1,
            step: 3,
            end: 8,
        }
        .iter()
        .collect();
        assert_eq!(s, [1, 4, 7]);
    }

    #[test]
    fn frames_match_the_plain_writer() {
        let t = crate::Tensor::from_slice(&[1.5f32; 30_000], &[100, 300]).unwrap();
        let payload = t.to_proto_bytes();
        let mut expected = Vec::new();
        crate::framing::encode_frame(&payload, &mut expected);
        let views = [t.as_ref()];
        let mut tensors = Tensors {
            items: &views,
            crcs: None,
        };
        let len = tensors.frame_len(0);
        assert_eq!(len, expected.len());
        let mut headers = Headers::default();
        let mut out = Vec::new();
        headers.put(&tensors, 0, len, &mut out);
        assert_eq!(out, expected);
        let mut streamed = Vec::new();
        headers.stream(&tensors, 0, len, &mut streamed).unwrap();
        assert_eq!(streamed, expected);
        tensors.crcs = Some(vec![tensor_crc(&t)]);
        let mut out = Vec::new();
        headers.put(&tensors, 0, len, &mut out);
        assert_eq!(out, expected);
        let items = [payload.clone()];
        let crc = [masked_crc32c(&payload)];
        for crcs in [None, Some(&crc[..])] {
            let set = Payloads {
                items: &items,
                crcs,
            };
            let mut headers = Headers::default();
            let mut out = Vec::new();
            headers.put(&set, 0, expected.len(), &mut out);
            assert_eq!(out, expected);
            let mut streamed = Vec::new();
            headers
                .stream(&set, 0, expected.len(), &mut streamed)
                .unwrap();
            assert_eq!(streamed, expected);
        }
    }
}
