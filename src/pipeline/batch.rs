//! Batches and the pool their buffers come from.
//!
//! Knows nothing of files, orders or threads: a batch is handed its
//! records' ids and data, and gives its buffers back when dropped.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use crate::dtype::DType;
use crate::tensor::{Dims, Tensor, TensorView};

use super::plan::RecordId;

/// The reusable parts of a batch.
#[derive(Default)]
pub(crate) struct Slab {
    pub(crate) data: Vec<u8>,
    pub(crate) ids: Vec<RecordId>,
    pub(crate) offsets: Vec<u64>,
    pub(crate) shapes: Vec<Dims>,
}

impl Slab {
    fn clear(&mut self) {
        self.ids.clear();
        self.offsets.clear();
        self.shapes.clear();
    }
}

/// Slabs returned by dropped batches, handed out again.
pub(crate) struct Pool {
    free: Mutex<Vec<Slab>>,
    keep: usize,
}

impl Pool {
    pub(crate) fn new(keep: usize) -> Arc<Pool> {
        Arc::new(Pool {
            free: Mutex::new(Vec::with_capacity(keep)),
            keep,
        })
    }

    /// A slab, reused when one is free. Its `data` keeps its old length.
    pub(crate) fn take(&self) -> Slab {
        let slab = match self.free.lock() {
            Ok(mut free) => free.pop(),
            Err(_) => None,
        };
        let mut slab = slab.unwrap_or_default();
        slab.clear();
        slab
    }

    fn give_back(&self, slab: Slab) {
        if let Ok(mut free) = self.free.lock() {
            if free.len() < self.keep {
                free.push(slab);
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn free_count(&self) -> usize {
        self.free.lock().map(|f| f.len()).unwrap_or(0)
    }
}

pub(crate) enum Data {
    /// Fixed-size elements stacked in `slab.data`.
    Stacked { dtype: DType, shape: Dims },
    /// Strings stacked into one string tensor.
    Strings(Tensor),
    /// One tensor per record.
    Ragged(Vec<Tensor>),
}

/// A batch of records, in the order the dataset visits them.
///
/// Stacked batches (the default) hold one contiguous owned buffer of shape
/// `[n, ...]`; when the batch is dropped the buffer goes back to the
/// dataset's pool and is filled again for a later batch, so iterating in a
/// steady state allocates no batch memory. Ragged batches
/// ([`DatasetBuilder::ragged`](super::DatasetBuilder::ragged)) hold one
/// tensor per record.
///
/// ```
/// use tfrec::pipeline::Dataset;
/// use tfrec::{Tensor, Writer};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("a.tfrecord");
/// let mut w = Writer::create(&path)?;
/// for i in 0..5i32 {
///     w.write_tensor(&Tensor::from_slice(&[i, -i], &[2])?)?;
/// }
/// w.finish()?;
///
/// let ds = Dataset::builder().file(&path).batch(2).build()?;
/// let batches: Vec<_> = ds.epoch(0)?.collect::<Result<_, _>>()?;
/// assert_eq!(batches.len(), 3);
/// let first = &batches[0];
/// assert_eq!(first.shape(), Some(&[2, 2][..]));
/// assert_eq!(&*first.values::<i32>().unwrap(), &[0, 0, 1, -1]);
/// assert_eq!(first.get(1).unwrap().to_vec::<i32>()?, [1, -1]);
/// assert_eq!(batches[2].len(), 1);           // the last, partial batch
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Batch {
    slab: Slab,
    data: Data,
    pool: Option<Arc<Pool>>,
}

impl Batch {
    pub(crate) fn new(slab: Slab, data: Data, pool: Arc<Pool>) -> Batch {
        Batch {
            slab,
            data,
            pool: Some(pool),
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.slab.ids.len()
    }

    /// True for a batch of no records (never yielded by a dataset).
    pub fn is_empty(&self) -> bool {
        self.slab.ids.is_empty()
    }

    /// The records, in order.
    pub fn ids(&self) -> &[RecordId] {
        &self.slab.ids
    }

    /// Byte offset of each record's frame in its file (in the decompressed
    /// stream for compressed files).
    pub fn offsets(&self) -> &[u64] {
        &self.slab.offsets
    }

    /// Each record's own shape (before any padding).
    pub fn record_shape(&self, i: usize) -> Option<&[usize]> {
        self.slab.shapes.get(i).map(|d| &d[..])
    }

    /// The dtype of a stacked batch.
    pub fn dtype(&self) -> Option<DType> {
        match &self.data {
            Data::Stacked { dtype, .. } => Some(*dtype),
            Data::Strings(t) => Some(t.dtype()),
            Data::Ragged(_) => None,
        }
    }

    /// The shape of a stacked batch: `[n, ...]`.
    pub fn shape(&self) -> Option<&[usize]> {
        match &self.data {
            Data::Stacked { shape, .. } => Some(shape),
            Data::Strings(t) => Some(t.shape()),
            Data::Ragged(_) => None,
        }
    }

    /// The little-endian element bytes of a stacked, fixed-size batch.
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.data {
            Data::Stacked { .. } => Some(&self.slab.data),
            _ => None,
        }
    }

    /// The typed elements of a stacked batch (borrowed when aligned, which
    /// pooled buffers are for every element type on little-endian hosts).
    pub fn values<T: crate::Element>(&self) -> Option<Cow<'_, [T]>> {
        match &self.data {
            Data::Stacked { dtype, .. } if *dtype == T::DTYPE => {
                if cfg!(target_endian = "little") {
                    if let Ok(s) = bytemuck::try_cast_slice::<u8, T>(&self.slab.data) {
                        return Some(Cow::Borrowed(s));
                    }
                }
                self.view()?.to_vec::<T>().ok().map(Cow::Owned)
            }
            _ => None,
        }
    }

    /// The whole stacked batch as one tensor `[n, ...]`, borrowing the
    /// buffer; `None` for ragged batches.
    pub fn view(&self) -> Option<TensorView<'_>> {
        match &self.data {
            Data::Stacked { dtype, shape } => {
                TensorView::new(*dtype, shape, &self.slab.data[..]).ok()
            }
            Data::Strings(t) => Some(t.view()),
            Data::Ragged(_) => None,
        }
    }

    /// The tensors of a ragged batch.
    pub fn tensors(&self) -> Option<&[Tensor]> {
        match &self.data {
            Data::Ragged(v) => Some(v),
            _ => None,
        }
    }

    /// Record `i` of the batch (padded, for padded batches).
    pub fn get(&self, i: usize) -> Option<TensorView<'_>> {
        if i >= self.len() {
            return None;
        }
        match &self.data {
            Data::Stacked { dtype, shape } => {
                let each = self.slab.data.len() / shape.first().copied().unwrap_or(1).max(1);
                let bytes = self.slab.data.get(i * each..(i + 1) * each)?;
                TensorView::new(*dtype, &shape[1..], bytes).ok()
            }
            Data::Strings(t) => {
                let per = t.num_elements() / self.len().max(1);
                let strings = t
                    .strings()?
                    .skip(i * per)
                    .take(per)
                    .map(Cow::Borrowed)
                    .collect();
                TensorView::from_strings(&t.shape()[1..], strings).ok()
            }
            Data::Ragged(v) => v.get(i).map(Tensor::view),
        }
    }

    /// The stacked batch as an owned tensor. The buffer leaves the pool
    /// (a later batch allocates a new one).
    pub fn into_tensor(mut self) -> Option<Tensor> {
        match std::mem::replace(&mut self.data, Data::Ragged(Vec::new())) {
            Data::Stacked { dtype, shape } => {
                let bytes = std::mem::take(&mut self.slab.data);
                Tensor::from_bytes(dtype, &shape, bytes).ok()
            }
            Data::Strings(t) => Some(t),
            Data::Ragged(_) => None,
        }
    }

    /// The tensors of a ragged batch, with their ids and offsets.
    pub(crate) fn into_parts(mut self) -> (Vec<RecordId>, Vec<u64>, Vec<Tensor>) {
        let tensors = match std::mem::replace(&mut self.data, Data::Ragged(Vec::new())) {
            Data::Ragged(v) => v,
            _ => Vec::new(),
        };
        (
            std::mem::take(&mut self.slab.ids),
            std::mem::take(&mut self.slab.offsets),
            tensors,
        )
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.give_back(std::mem::take(&mut self.slab));
        }
    }
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("len", &self.len())
            .field("dtype", &self.dtype())
            .field("shape", &self.shape())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_batches_return_their_buffers_to_the_pool() {
        let pool = Pool::new(2);
        let mut slab = pool.take();
        slab.data = vec![0u8; 1024];
        let ptr = slab.data.as_ptr();
        slab.ids.push(RecordId { file: 0, index: 0 });
        let b = Batch::new(
            slab,
            Data::Stacked {
                dtype: DType::U8,
                shape: Dims::from_slice(&[1, 1024]),
            },
            pool.clone(),
        );
        drop(b);
        assert_eq!(pool.free_count(), 1);
        let again = pool.take();
        assert_eq!(again.data.as_ptr(), ptr);
        assert!(again.ids.is_empty());
    }
}
