//! [`FrameBuf`], the buffer frames are read into by positioned reads or
//! ranged GETs. Knows nothing of indexes, frames or threads beyond keeping
//! one buffer per thread.

use std::fs::File;
use std::io;

use crate::read::positioned::read_exact_at;
use crate::storage::RemoteObject;

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

    /// Reads `len` bytes at `offset` of `object` into the buffer.
    pub(crate) fn read_remote(
        &mut self,
        object: &RemoteObject,
        offset: u64,
        len: usize,
    ) -> io::Result<&[u8]> {
        if self.buf.len() < len {
            let size = len.max(self.buf.len() * 2).max(64 << 10);
            self.buf = vec![0u8; size];
        }
        let dst = &mut self.buf[..len];
        object.read_exact_at(dst, offset)?;
        Ok(dst)
    }
}
