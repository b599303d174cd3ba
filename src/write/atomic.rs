//! Files that appear complete or not at all.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::Sink;

/// Write buffer for files.
const FILE_BUFFER: usize = 1 << 20;

/// A file written under a hidden temporary name in its final directory and
/// renamed into place when finished.
///
/// Dropping it unfinished deletes the temporary file. The temporary name is
/// `.{final name}.{random}.tmp`.
pub struct AtomicFile {
    out: BufWriter<NamedTempFile>,
    path: PathBuf,
    sync: bool,
}

impl AtomicFile {
    /// Starts writing `path`, fsyncing on finish.
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if path.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "output path is a directory",
            ));
        }
        let prefix = format!(".{}.", name.to_string_lossy());
        let temp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".tmp")
            .tempfile_in(dir)?;
        Ok(AtomicFile {
            out: BufWriter::with_capacity(FILE_BUFFER, temp),
            path: path.to_path_buf(),
            sync: true,
        })
    }

    /// Whether to fsync the file and its directory on finish (default: yes).
    pub fn set_sync(&mut self, sync: bool) {
        self.sync = sync;
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Sink for AtomicFile {
    type Output = PathBuf;

    fn finish(self) -> io::Result<PathBuf> {
        let AtomicFile { out, path, sync } = self;
        let temp = out.into_inner().map_err(|e| e.into_error())?;
        if sync {
            temp.as_file().sync_all()?;
        }
        temp.persist(&path).map_err(|e| e.error)?;
        if sync {
            sync_dir(&path)?;
        }
        Ok(path)
    }
}

/// Makes a rename in `path`'s directory durable.
fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
