//! Positioned reads (`pread`) into page-aligned buffers.
//!
//! Used where many threads read disjoint parts of one file, and where a file
//! may change underneath (no memory map to fault on).

use std::fs::File;
use std::io;

const ALIGN: u64 = 4096;

/// A window of a file held in a page-aligned buffer.
pub(crate) struct Window {
    buf: Vec<u8>,
    start: usize,
    /// File offset of the first byte held.
    base: u64,
    len: usize,
}

impl Window {
    pub(crate) fn new() -> Window {
        Window {
            buf: Vec::new(),
            start: 0,
            base: 0,
            len: 0,
        }
    }

    /// The bytes held from file offset `at` on (empty if `at` is not held).
    pub(crate) fn from(&self, at: u64) -> &[u8] {
        if at < self.base || at > self.base + self.len as u64 {
            return &[];
        }
        let rel = (at - self.base) as usize;
        &self.buf[self.start + rel..self.start + self.len]
    }

    /// Reads at least `min` bytes (fewer only at the end of the file) from
    /// file offset `at`, and up to `chunk` more for what follows. The read
    /// starts at the page boundary at or below `at` so that source and
    /// destination are equally aligned, which keeps the kernel's copy fast.
    pub(crate) fn fill(
        &mut self,
        file: &File,
        file_len: u64,
        at: u64,
        min: usize,
        chunk: usize,
    ) -> io::Result<()> {
        let base = at - at % ALIGN;
        let lead = (at - base) as usize;
        let want = (lead + min.max(chunk)) as u64;
        let len = want.min(file_len.saturating_sub(base)) as usize;
        if self.buf.len() < len + ALIGN as usize {
            self.buf = vec![0u8; len + ALIGN as usize];
            self.start =
                (ALIGN as usize - self.buf.as_ptr() as usize % ALIGN as usize) % ALIGN as usize;
        }
        let dst = &mut self.buf[self.start..self.start + len];
        read_exact_at(file, dst, base)?;
        self.base = base;
        self.len = len;
        Ok(())
    }
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
