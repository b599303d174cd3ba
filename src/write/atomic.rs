//! Files that appear complete or not at all.
//!
//! Knows nothing of TFRecord frames, shards or threads.
//!
//! Bytes are buffered in a page-aligned buffer and written to the file in
//! whole pages, so that the kernel's copy into the page cache runs from an
//! address aligned like its destination: on some CPUs (measured on AMD EPYC)
//! that copy is four to five times slower otherwise.

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tempfile::{NamedTempFile, TempPath};

use super::sink::Sink;

/// Write buffer for files.
const FILE_BUFFER: usize = 1 << 20;
const PAGE: usize = 4096;

/// A file-system step an [`AtomicFile`] is about to take, as an [`IoHook`]
/// sees it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum FileOp<'a> {
    /// Creating the hidden temporary file for `path`, in `path`'s directory.
    Create {
        /// The final (or provisional) name of the file.
        path: &'a Path,
    },
    /// Writing `len` bytes to the temporary file `temp`.
    Write {
        /// The temporary file.
        temp: &'a Path,
        /// Bytes about to be written.
        len: usize,
    },
    /// Flushing the temporary file `temp` to stable storage (fsync).
    Sync {
        /// The temporary file.
        temp: &'a Path,
    },
    /// Renaming the finished temporary file `temp` to its final name `to`.
    Rename {
        /// The temporary file.
        temp: &'a Path,
        /// The final name.
        to: &'a Path,
    },
    /// Flushing the directory `dir` to stable storage after a rename.
    SyncDir {
        /// The directory.
        dir: &'a Path,
    },
}

/// Called before every file-system step of an [`AtomicFile`] (and so of the
/// writers built on it); an error it returns fails that step exactly as if
/// the operating system had returned it.
///
/// Made for tests that inject I/O failures, and for tracing.
///
/// ```
/// use std::io;
/// use tfrec::write::{AtomicFile, FileOp, IoHook};
/// use tfrec::Writer;
///
/// let dir = tempfile::tempdir()?;
/// let mut file = AtomicFile::create(&dir.path().join("x.tfrecord"))?;
/// file.set_hook(IoHook::new(|op| match op {
///     FileOp::Sync { .. } => Err(io::Error::other("injected")),
///     _ => Ok(()),
/// }));
/// let mut w = Writer::from_sink(file, Default::default());
/// w.write_record(b"abc")?;
/// assert!(w.finish().is_err());
/// assert!(!dir.path().join("x.tfrecord").exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct IoHook(Arc<HookFn>);

type HookFn = dyn Fn(&FileOp<'_>) -> io::Result<()> + Send + Sync;

impl IoHook {
    /// Wraps a function called before each step.
    pub fn new(f: impl Fn(&FileOp<'_>) -> io::Result<()> + Send + Sync + 'static) -> IoHook {
        IoHook(Arc::new(f))
    }

    pub(crate) fn check(&self, op: &FileOp<'_>) -> io::Result<()> {
        (self.0)(op)
    }
}

impl fmt::Debug for IoHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IoHook")
    }
}

pub(crate) fn run_hook(hook: Option<&IoHook>, op: FileOp<'_>) -> io::Result<()> {
    match hook {
        Some(h) => h.check(&op),
        None => Ok(()),
    }
}

/// A byte buffer whose element `pad` sits on a page boundary.
///
/// The bytes for file offset `written` live at index `start`, with
/// `start - pad == written % PAGE`, so every address is congruent to its
/// file offset modulo the page size. The vector never grows past the
/// capacity it was made with, so its address (and `pad`) never changes.
struct PageBuf {
    vec: Vec<u8>,
    pad: usize,
    start: usize,
    /// Flush whole pages once this many bytes are buffered.
    threshold: usize,
}

impl PageBuf {
    fn new(threshold: usize) -> PageBuf {
        let threshold = threshold.max(PAGE).next_multiple_of(PAGE);
        // Room for the padding, a partial page carried over, and a frame
        // header or two beyond the threshold.
        let mut vec = Vec::with_capacity(threshold + 3 * PAGE);
        let pad = (PAGE - vec.as_ptr() as usize % PAGE) % PAGE;
        vec.resize(pad, 0);
        PageBuf {
            vec,
            pad,
            start: pad,
            threshold,
        }
    }

    fn buffered(&self) -> usize {
        self.vec.len() - self.start
    }

    fn room(&self) -> usize {
        self.vec.capacity() - self.vec.len()
    }
}

/// Where an [`AtomicFile`]'s bytes go, with the buffer and the checksum.
struct Out {
    temp: NamedTempFile,
    buf: PageBuf,
    hook: Option<IoHook>,
    /// Bytes handed to the file so far.
    written: u64,
    /// Running CRC32C of the bytes written, when asked for.
    crc: Option<u32>,
}

impl Out {
    fn write_out(&mut self, from: usize, to: usize) -> io::Result<()> {
        if to <= from {
            return Ok(());
        }
        let bytes = &self.buf.vec[from..to];
        run_hook(
            self.hook.as_ref(),
            FileOp::Write {
                temp: self.temp.path(),
                len: bytes.len(),
            },
        )?;
        self.temp.as_file_mut().write_all(bytes)?;
        if let Some(crc) = &mut self.crc {
            *crc = crc32c::crc32c_append(*crc, bytes);
        }
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Writes the buffered whole pages and moves the partial page left over
    /// to the front.
    fn flush_pages(&mut self) -> io::Result<()> {
        let b = &self.buf;
        let end = b.pad + (b.vec.len() - b.pad) / PAGE * PAGE;
        if end <= b.start {
            return Ok(());
        }
        self.write_out(self.buf.start, end)?;
        let b = &mut self.buf;
        let tail = b.vec.len() - end;
        b.vec.copy_within(end.., b.pad);
        b.vec.truncate(b.pad + tail);
        b.start = b.pad;
        Ok(())
    }

    /// Writes everything buffered.
    fn flush_all(&mut self) -> io::Result<()> {
        let len = self.buf.vec.len();
        self.write_out(self.buf.start, len)?;
        let b = &mut self.buf;
        b.start = b.pad + (self.written % PAGE as u64) as usize;
        b.vec.resize(b.start, 0);
        Ok(())
    }

    fn append(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            if self.buf.room() == 0 || self.buf.buffered() >= self.buf.threshold {
                self.flush_pages()?;
            }
            let n = self.buf.room().min(bytes.len());
            self.buf.vec.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
        }
        if self.buf.buffered() >= self.buf.threshold {
            self.flush_pages()?;
        }
        Ok(())
    }
}

/// A file written under a hidden temporary name in its final directory and
/// renamed into place when finished.
///
/// Dropping it unfinished deletes the temporary file. The temporary name is
/// `.{final name}.{random}.tmp`.
pub struct AtomicFile {
    out: Out,
    path: PathBuf,
    sync: bool,
}

impl AtomicFile {
    /// Starts writing `path`, fsyncing on finish.
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        AtomicFile::create_with(path, FILE_BUFFER, None)
    }

    /// Starts writing `path` with a write buffer of about `buffer` bytes,
    /// calling `hook` before every file-system step.
    pub(crate) fn create_with(
        path: &Path,
        buffer: usize,
        hook: Option<IoHook>,
    ) -> io::Result<AtomicFile> {
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
        // An object's bytes are staged in a local temporary file and
        // uploaded whole when committed (see `Staged::commit`).
        let remote = crate::storage::is_remote(path);
        let temp_dir = std::env::temp_dir();
        let dir = if remote { &temp_dir } else { parent_dir(path) };
        if path.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "output path is a directory",
            ));
        }
        run_hook(hook.as_ref(), FileOp::Create { path })?;
        let prefix = format!(".{}.", name.to_string_lossy());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        // The finished file gets the permissions of any new file (0666 less
        // the umask), not the owner-only ones of temporary files.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let temp = builder.tempfile_in(dir)?;
        Ok(AtomicFile {
            out: Out {
                temp,
                buf: PageBuf::new(buffer),
                hook,
                written: 0,
                crc: None,
            },
            path: path.to_path_buf(),
            sync: true,
        })
    }

    /// Whether to fsync the file and its directory on finish (default: yes).
    pub fn set_sync(&mut self, sync: bool) {
        self.sync = sync;
    }

    /// Calls `hook` before every later file-system step (writes, fsyncs,
    /// the rename).
    pub fn set_hook(&mut self, hook: IoHook) {
        self.out.hook = Some(hook);
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The hidden temporary file the bytes go to until finished.
    pub fn temp_path(&self) -> &Path {
        self.out.temp.path()
    }

    /// Keeps a CRC32C of every byte written, reported by [`stage`](Self::stage).
    pub(crate) fn track_crc32c(&mut self) {
        self.out.crc = Some(0);
    }

    /// Runs `fill` on the buffer once it has room for `need` more bytes
    /// (flushing whole pages to make room); `fill` must append at most
    /// `need` bytes. Returns `None`, without calling `fill`, when `need` is
    /// more than the buffer holds: write through [`Write`] instead.
    pub(crate) fn with_room<R>(
        &mut self,
        need: usize,
        fill: impl FnOnce(&mut Vec<u8>) -> R,
    ) -> io::Result<Option<R>> {
        if self.out.buf.room() < need {
            self.out.flush_pages()?;
            if self.out.buf.room() < need {
                return Ok(None);
            }
        }
        let before = self.out.buf.vec.as_ptr();
        let r = fill(&mut self.out.buf.vec);
        debug_assert_eq!(before, self.out.buf.vec.as_ptr(), "buffer reallocated");
        if self.out.buf.buffered() >= self.out.buf.threshold {
            self.out.flush_pages()?;
        }
        Ok(Some(r))
    }

    /// Replaces the first `bytes.len()` bytes written so far (a header
    /// whose final form is known only at the end). Not for files whose
    /// CRC32C is tracked: the checksum covers the bytes as first written.
    pub(crate) fn overwrite_start(&mut self, bytes: &[u8]) -> io::Result<()> {
        use std::io::{Seek, SeekFrom};
        self.out.flush_all()?;
        if self.out.crc.is_some() || bytes.len() as u64 > self.out.written {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "cannot rewrite the start of this file",
            ));
        }
        run_hook(
            self.out.hook.as_ref(),
            FileOp::Write {
                temp: self.out.temp.path(),
                len: bytes.len(),
            },
        )?;
        let file = self.out.temp.as_file_mut();
        file.seek(SeekFrom::Start(0))?;
        file.write_all(bytes)?;
        file.seek(SeekFrom::End(0))?;
        Ok(())
    }

    /// Writes out everything and fsyncs (when syncing), leaving the complete
    /// file under its temporary name for [`Staged::commit`].
    pub(crate) fn stage(self) -> io::Result<Staged> {
        let AtomicFile {
            mut out,
            path,
            sync,
        } = self;
        out.flush_all()?;
        if sync {
            run_hook(
                out.hook.as_ref(),
                FileOp::Sync {
                    temp: out.temp.path(),
                },
            )?;
            out.temp.as_file().sync_all()?;
        }
        Ok(Staged {
            temp: out.temp.into_temp_path(),
            path,
            len: out.written,
            crc32c: out.crc,
            hook: out.hook,
        })
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.append(buf)?;
        Ok(buf.len())
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.append(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush_all()
    }
}

impl Sink for AtomicFile {
    type Output = PathBuf;

    fn finish(self) -> io::Result<PathBuf> {
        let sync = self.sync;
        let staged = self.stage()?;
        let path = staged.path.clone();
        let hook = staged.hook.clone();
        staged.commit(&path)?;
        if sync {
            sync_dir(parent_dir(&path), hook.as_ref())?;
        }
        Ok(path)
    }
}

/// A complete file under its temporary name, waiting to be renamed.
/// Dropping it deletes the file.
pub(crate) struct Staged {
    temp: TempPath,
    /// The name it was created for.
    pub(crate) path: PathBuf,
    /// Its length in bytes.
    pub(crate) len: u64,
    /// CRC32C of its bytes, when tracked.
    pub(crate) crc32c: Option<u32>,
    hook: Option<IoHook>,
}

impl Staged {
    /// Renames the file to `to` (replacing any file there). The directory is
    /// not synced: see [`sync_dir`].
    pub(crate) fn commit(self, to: &Path) -> io::Result<()> {
        run_hook(
            self.hook.as_ref(),
            FileOp::Rename {
                temp: &self.temp,
                to,
            },
        )?;
        if let Some(url) = crate::storage::remote(to) {
            // A multipart upload: the object appears only when complete,
            // and a failed upload is aborted. The temporary file is deleted
            // either way.
            let file = File::open(&self.temp)?;
            return crate::storage::upload(file, &url);
        }
        // On failure the error carries the temporary path, whose drop
        // deletes the file.
        self.temp.persist(to).map_err(|e| e.error)
    }
}

/// Removes the files in `dir` whose names `is_temp` accepts (temporary files
/// a killed run left), sorted; a file that vanished meanwhile is not an
/// error.
pub(crate) fn remove_temp_files(
    dir: &Path,
    is_temp: impl Fn(&str) -> bool,
) -> crate::error::Result<Vec<PathBuf>> {
    use crate::error::Error;
    let entries = std::fs::read_dir(dir).map_err(|e| Error::from(e).with_path(dir))?;
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::from(e).with_path(dir))?;
        if entry.file_name().to_str().is_some_and(&is_temp) {
            let path = entry.path();
            match std::fs::remove_file(&path) {
                Ok(()) => removed.push(path),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::from(e).with_path(&path)),
            }
        }
    }
    removed.sort();
    Ok(removed)
}

/// The directory `path` is in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes renames in `dir` durable.
pub(crate) fn sync_dir(dir: &Path, hook: Option<&IoHook>) -> io::Result<()> {
    run_hook(hook, FileOp::SyncDir { dir })?;
    if crate::storage::is_remote(dir) {
        // A store has no directories to sync; an upload is durable when
        // it completes.
        return Ok(());
    }
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every write goes out from an address congruent to its file offset,
    /// whatever sizes are appended, and the bytes arrive intact.
    #[test]
    fn writes_are_aligned_and_faithful() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut f = AtomicFile::create_with(&path, 3 * PAGE, None).unwrap();
        f.track_crc32c();
        let mut expected = Vec::new();
        let mut x = 1u32;
        for round in 0..400usize {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let n = (x >> 16) as usize % (if round % 50 == 0 { 40_000 } else { 900 });
            let n = if round % 131 == 7 { 70_000 } else { n };
            let bytes: Vec<u8> = (0..n).map(|i| (i + round) as u8).collect();
            if round % 3 == 0 {
                f.write_all(&bytes).unwrap();
            } else {
                let done = f
                    .with_room(n, |v| v.extend_from_slice(&bytes))
                    .unwrap()
                    .is_some();
                if !done {
                    f.write_all(&bytes).unwrap();
                }
            }
            if round % 97 == 0 {
                f.flush().unwrap();
            }
            expected.extend_from_slice(&bytes);
            let b = &f.out.buf;
            let addr = b.vec.as_ptr() as usize + b.start;
            seen.lock()
                .unwrap()
                .push((addr % PAGE, (f.out.written % PAGE as u64) as usize));
        }
        assert_eq!(
            f.out.written + f.out.buf.buffered() as u64,
            expected.len() as u64
        );
        let staged = f.stage().unwrap();
        assert_eq!(staged.crc32c, Some(crc32c::crc32c(&expected)));
        staged.commit(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), expected);
        for (addr, offset) in seen.lock().unwrap().iter() {
            assert_eq!(addr, offset);
        }
    }
}
