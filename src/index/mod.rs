//! Record index: one header scan gives every record's offset and length, for
//! random access to uncompressed files.
//!
//! An [`Index`] lists where each record's frame starts and how long the whole
//! frame is (payload plus the 16 bytes of length, CRCs). [`Index::open`]
//! takes it from a sidecar file `FILE.idx` when one is present and agrees
//! with the file, and otherwise scans the frame headers. [`IndexedFile`]
//! reads record `i` with one positioned read.
//!
//! # Sidecar format
//!
//! The sidecar is the text format of the Python `tfrecord` package and of
//! NVIDIA DALI's `tfrecord2idx`: one line per record, the frame's byte
//! offset, a space, and the frame's length including the 16 header and footer
//! bytes.
//!
//! ```text
//! 0 61
//! 61 61
//! 122 1040
//! ```
//!
//! A sidecar is used only when it is consistent with the file: the first
//! frame starts at 0, each frame starts where the previous one ends, the
//! last one ends exactly at the end of the file, no length is impossible,
//! and the frame headers at a sample of the offsets (the first, the last and
//! evenly spread ones; all of them with [`SidecarCheck::All`]) carry a valid
//! length CRC and the length the sidecar gives. Otherwise the file is scanned
//! and [`Index::source`] says why the sidecar was not used. Reading a record
//! through an index checks its frame again (both CRCs and the length), so
//! even a wrong sidecar that passes the sample check yields an error, never
//! wrong data.
//!
//! This file holds no code; it names the parts: `table` (what an [`Index`] is),
//! `sidecar` (the `.idx` text and the checks against a file), `scan` (the
//! frame header walk), `local` and `remote` (indexing a file, or an object
//! in a store), `open` (which of the two), `buf` ([`FrameBuf`]) and `file`
//! ([`IndexedFile`], random access).
//!
//! ```
//! use tfrec::index::{Index, IndexSource};
//! use tfrec::{Tensor, Writer};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("a.tfrecord");
//! let mut w = Writer::create(&path)?;
//! for i in 0..3i32 {
//!     w.write_tensor(&Tensor::scalar(i))?;
//! }
//! w.finish()?;
//!
//! let index = Index::open(&path)?;          // no sidecar yet: scanned
//! assert_eq!(index.source(), &IndexSource::Scanned);
//! assert_eq!(index.len(), 3);
//! let sidecar = index.write_sidecar(&path)?; // a.tfrecord.idx, written atomically
//! assert_eq!(std::fs::read_to_string(&sidecar)?, "0 26\n26 26\n52 26\n");
//! assert_eq!(Index::open(&path)?.source(), &IndexSource::Sidecar);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod buf;
mod file;
mod local;
mod open;
mod remote;
mod scan;
mod sidecar;
mod table;

pub use buf::FrameBuf;
pub use file::IndexedFile;
pub use table::{Entry, Index, IndexOptions, IndexSource, SidecarCheck};
