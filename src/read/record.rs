//! [`Record`]: one record's payload and where it was found. Knows nothing
//! of files, streams or how the record was read.

use std::borrow::Cow;

use crate::error::Result;
use crate::tensor::TensorView;

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
