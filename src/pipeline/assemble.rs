//! What puts a batch together, and what it is given: the contract between
//! the producer of an epoch's batches and the assembly steps (tensor
//! stacking, `Example` parsing).
//!
//! Knows nothing of orders, prefetching or how records are found: an
//! assembler is handed a batch's record ids, frame offsets and payloads.

use crate::error::Result;
use crate::index::IndexedFile;

use super::inner::Inner;
use super::plan::RecordId;

/// Puts the records of one batch together: stacks tensors ([`Batches`](super::Batches)),
/// or parses `Example`s ([`ExampleBatches`](super::ExampleBatches)). The
/// producer finds the records and their payloads; this does the rest, on
/// the dataset's pool.
pub(crate) trait Assemble: Send + Sync + 'static {
    /// A batch's reusable buffers, its record ids and offsets among them.
    type Parts: Send;
    /// A finished batch.
    type Output: Send + 'static;

    /// Buffers for the next batch, from a pool when one is free, with no
    /// ids or offsets.
    fn parts(&self) -> Self::Parts;

    /// Where the batch's record ids and frame offsets go.
    fn positions(parts: &mut Self::Parts) -> (&mut Vec<RecordId>, &mut Vec<u64>);

    /// Whether batches of indexed files are better assembled whole, one
    /// per pool thread and several at once, than one at a time, each spread
    /// over the pool.
    const WHOLE_BATCHES: bool = false;

    /// Builds the batch of the records in `parts`, reading their payloads
    /// from `payloads`, on the pool's threads when `spread` (on the current
    /// thread alone otherwise); the batch takes the buffers of `parts`.
    /// Errors name the file and record, and leave `parts` as they were,
    /// to try again without a damaged record.
    fn assemble(
        &self,
        inner: &Inner,
        payloads: &Payloads<'_>,
        parts: &mut Self::Parts,
        spread: bool,
    ) -> Result<Self::Output>;

    /// A batch of no records (all of its records were damaged and dropped),
    /// which is not yielded; its buffers go back to the pool.
    fn empty(&self, parts: Self::Parts) -> Self::Output;

    /// Records in a batch.
    fn len(output: &Self::Output) -> usize;
}

/// Where the payloads of a batch come from.
pub(crate) enum Payloads<'a> {
    /// Read from the indexed files, at the records' entries.
    Indexed(&'a [IndexedFile]),
    /// Already read, one item per record of the batch, in its order.
    Loaded(&'a [Item]),
}

/// One record read into memory: from a stream, or fetched from an object
/// store.
pub(crate) struct Item {
    pub(crate) id: RecordId,
    pub(crate) offset: u64,
    pub(crate) payload: Vec<u8>,
}
