//! The `FILE.idx` sidecar: its text, and the checks that it agrees with
//! the file it describes (reads of frame headers go through a closure).
//! Knows nothing of scanning, memory maps or object stores.

use std::fmt::Display;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::compression::Compression;
use crate::error::{Error, Result};
use crate::framing::{self, FRAME_OVERHEAD, HEADER_LEN};
use crate::write::{AtomicFile, Sink};

use super::table::{Entry, Index, IndexOptions, IndexSource, SidecarCheck};

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
}

fn parse_u64(field: &[u8]) -> Option<u64> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// Refuses compressed data (whose first bytes are `prefix`): it has no
/// random access.
pub(super) fn check_uncompressed(prefix: &[u8]) -> Result<()> {
    let compression = Compression::detect(prefix);
    if compression != Compression::None {
        return Err(Error::invalid_input(format!(
            "{compression} file: compressed files have no random access and cannot be indexed"
        )));
    }
    Ok(())
}

/// The index of `file_len` bytes from `sidecar` (the offsets of a
/// consistent sidecar, `None` without one, `Err(reason)` for one that
/// disagrees) when options allow, and otherwise from `scan`, whose
/// by-product (such as the map it scanned) comes back with it.
pub(super) fn sidecar_or_scan<T>(
    file_len: u64,
    options: &IndexOptions,
    sidecar: impl FnOnce() -> std::result::Result<Option<Vec<u64>>, String>,
    scan: impl FnOnce() -> Result<(Vec<u64>, Option<T>)>,
) -> Result<(Index, Option<T>)> {
    let mut source = IndexSource::Scanned;
    if options.use_sidecar {
        match sidecar() {
            Ok(Some(offsets)) => {
                let index = Index {
                    offsets,
                    file_len,
                    source: IndexSource::Sidecar,
                };
                return Ok((index, None));
            }
            Ok(None) => {}
            Err(reason) => source = IndexSource::SidecarRejected { reason },
        }
    }
    let (offsets, by_product) = scan()?;
    let index = Index {
        offsets,
        file_len,
        source,
    };
    Ok((index, by_product))
}

/// Refuses a sidecar of `sidecar_len` bytes too long for a file of
/// `file_len` bytes, before it is read into memory: each record takes at
/// least 16 bytes of the file and its line at most 42 bytes
/// (`"u64 u64\r\n"`).
pub(super) fn check_sidecar_len(
    sidecar: &dyn Display,
    sidecar_len: u64,
    file_len: u64,
) -> std::result::Result<(), String> {
    let most = (file_len / FRAME_OVERHEAD as u64 + 1).saturating_mul(42);
    if sidecar_len > most {
        return Err(format!(
            "{sidecar} is {sidecar_len} bytes, too long for a {file_len}-byte file"
        ));
    }
    Ok(())
}

/// The offsets of sidecar `text` when it is consistent with the file: laid
/// out contiguously over `file_len` bytes, and the frame headers that
/// `check` samples (read by `read_exact_at(dst, offset)`) carrying its
/// lengths. `Err(reason)` otherwise.
pub(super) fn sidecar_offsets(
    text: &[u8],
    file_len: u64,
    max_record_len: u64,
    check: SidecarCheck,
    read_exact_at: impl Fn(&mut [u8], u64) -> io::Result<()>,
) -> std::result::Result<Vec<u64>, String> {
    let entries = Index::parse_sidecar(text).map_err(|e| e.kind().to_string())?;
    check_layout(&entries, file_len, max_record_len)?;
    check_headers(read_exact_at, file_len, &entries, check)?;
    Ok(entries.iter().map(|e| e.offset).collect())
}

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
