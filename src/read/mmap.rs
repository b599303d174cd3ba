//! The crate's only `unsafe` code: memory-mapping a file.
//!
//! # Contract
//! A mapped file must not be truncated or modified by anyone while it is
//! mapped. Truncation makes later reads of the vanished pages raise `SIGBUS`;
//! concurrent writes make the bytes change under a `&[u8]`, which Rust treats
//! as undefined behaviour. CRCs catch torn data but cannot make that sound.
//! For files that may change while being read (still being written, on a
//! network file system), read them as a stream instead.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::ops::Deref;

/// A read-only memory map of a whole file.
pub(crate) struct Mmap(memmap2::Mmap);

impl Mmap {
    /// Maps `file` read-only. `file` must be a regular, non-empty file.
    pub(crate) fn map(file: &File) -> io::Result<Mmap> {
        // SAFETY: the map is read-only and private to this process; the
        // module contract above (documented on `Reader::open`) requires that
        // the file is not truncated or written while mapped.
        let map = unsafe { memmap2::MmapOptions::new().map(file)? };
        #[cfg(unix)]
        {
            // Advice only; failure is harmless.
            let _ = map.advise(memmap2::Advice::Sequential);
        }
        Ok(Mmap(map))
    }
}

impl Deref for Mmap {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}
