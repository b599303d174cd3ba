//! Stacking tensors into batches: the assembly step of
//! [`Batches`](super::Batches), run on the dataset's pool.
//!
//! Decodes, maps and copies the records it is handed: knows nothing of
//! orders, shards, prefetching or iteration state.

use std::sync::Arc;

use rayon::prelude::*;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::index::FrameBuf;
use crate::tensor::{num_elements, Dims, Tensor, TensorView};

use super::assemble::{Assemble, Payloads};
use super::batch::{Batch, Data, Pool, Slab};
use super::inner::Inner;
use super::options::Stacking;
use super::plan::RecordId;

/// Stacks tensors: the assembly step of [`Batches`](super::Batches).
pub(crate) struct Stack {
    pub(crate) stacking: Stacking,
    pub(crate) pool: Arc<Pool>,
}

impl Assemble for Stack {
    type Parts = Slab;
    type Output = Batch;

    fn parts(&self) -> Slab {
        self.pool.take()
    }

    fn positions(slab: &mut Slab) -> (&mut Vec<RecordId>, &mut Vec<u64>) {
        (&mut slab.ids, &mut slab.offsets)
    }

    fn assemble(
        &self,
        inner: &Inner,
        payloads: &Payloads<'_>,
        slab: &mut Slab,
        _spread: bool,
    ) -> Result<Batch> {
        let data = assemble(inner, &self.stacking, payloads, slab)?;
        Ok(Batch::new(std::mem::take(slab), data, self.pool.clone()))
    }

    fn empty(&self, slab: Slab) -> Batch {
        Batch::new(slab, Data::Ragged(Vec::new()), self.pool.clone())
    }

    fn len(batch: &Batch) -> usize {
        batch.len()
    }
}

/// Calls `f` with record `i` of the batch decoded (and mapped).
fn with_tensor<R>(
    inner: &Inner,
    payloads: &Payloads<'_>,
    ids: &[RecordId],
    offsets: &[u64],
    i: usize,
    f: impl FnOnce(TensorView<'_>) -> Result<R>,
) -> Result<R> {
    let id = ids[i];
    let apply = |view: TensorView<'_>| match &inner.map {
        Some(map) => {
            let mapped = map(view)?;
            f(mapped.view())
        }
        None => f(view),
    };
    let result = match payloads {
        Payloads::Indexed(files) => FrameBuf::with_thread_local(|buf| {
            files[id.file]
                .record(id.index as usize, buf)
                .and_then(|record| apply(record.decode()?))
        }),
        Payloads::Loaded(items) => TensorView::decode(&items[i].payload).and_then(apply),
    };
    result.map_err(|e| {
        e.at_record(offsets.get(i).copied().unwrap_or(0), id.index)
            .with_path(&inner.plan.paths[id.file])
    })
}

/// What every record of a stacked batch must be.
struct Target {
    dtype: DType,
    shape: Dims,
    pad: bool,
    /// The record that set it, for error messages.
    first: RecordId,
}

impl Target {
    fn first(&self, inner: &Inner) -> String {
        describe(inner, self.first)
    }

    fn slot_bytes(&self) -> Result<usize> {
        num_elements(&self.shape)?
            .checked_mul(self.dtype.size().unwrap_or(0))
            .ok_or_else(|| Error::invalid_input("batch element size overflows"))
    }

    /// Copies `t` into its slot, padding when asked.
    fn fill(
        &self,
        inner: &Inner,
        t: &TensorView<'_>,
        slot: &mut [u8],
        own_shape: &mut Dims,
    ) -> Result<()> {
        if t.dtype() != self.dtype {
            return Err(Error::invalid_input(format!(
                "cannot stack dtype {} with the batch's {} (set by {})",
                t.dtype(),
                self.dtype,
                self.first(inner)
            )));
        }
        own_shape.clear();
        own_shape.extend_from_slice(t.shape());
        let bytes = t.bytes().unwrap_or_default();
        if !self.pad {
            if t.shape() != &self.shape[..] {
                return Err(Error::invalid_input(format!(
                    "cannot stack shape {:?} with the batch's {:?} (set by {}); \
                     pad or ragged batches take varying shapes",
                    t.shape(),
                    &self.shape[..],
                    self.first(inner)
                )));
            }
            slot.copy_from_slice(bytes);
            return Ok(());
        }
        pad_copy(
            bytes,
            t.shape(),
            &self.shape,
            self.dtype.size().unwrap_or(1),
            slot,
        )
    }
}

/// Copies a C-order tensor of `shape` into the top corner of a zeroed
/// tensor of `padded` shape.
fn pad_copy(
    src: &[u8],
    shape: &[usize],
    padded: &[usize],
    esize: usize,
    dst: &mut [u8],
) -> Result<()> {
    if shape.len() != padded.len() || shape.iter().zip(padded).any(|(s, p)| s > p) {
        return Err(Error::invalid_input(format!(
            "shape {shape:?} does not fit the padded shape {padded:?}"
        )));
    }
    dst.fill(0);
    let Some((&last, outer)) = shape.split_last() else {
        dst.copy_from_slice(src);
        return Ok(());
    };
    let row = last * esize;
    if row == 0 || outer.contains(&0) {
        return Ok(());
    }
    // Element strides of the padded shape.
    let mut strides: Dims = Dims::from_elem(1, padded.len());
    for d in (0..padded.len() - 1).rev() {
        strides[d] = strides[d + 1] * padded[d + 1];
    }
    let mut at: Dims = Dims::from_elem(0, outer.len());
    for chunk in src.chunks_exact(row) {
        let start = at.iter().zip(&strides).map(|(i, s)| i * s).sum::<usize>() * esize;
        dst[start..start + row].copy_from_slice(chunk);
        // Advance the multi-index over the outer dimensions.
        for d in (0..outer.len()).rev() {
            at[d] += 1;
            if at[d] < outer[d] {
                break;
            }
            at[d] = 0;
        }
    }
    Ok(())
}

fn describe(inner: &Inner, id: RecordId) -> String {
    format!(
        "{} record {}",
        inner.plan.paths[id.file].display(),
        id.index
    )
}

/// Decodes the records of `slab.ids` into the batch's data.
fn assemble(
    inner: &Inner,
    stacking: &Stacking,
    payloads: &Payloads<'_>,
    slab: &mut Slab,
) -> Result<Data> {
    let Slab {
        data,
        ids,
        offsets,
        shapes,
    } = slab;
    let (ids, offsets) = (&ids[..], &offsets[..]);
    let n = ids.len();
    shapes.resize(n, Dims::new());
    let pad = match stacking {
        Stacking::Ragged => {
            let tensors = (0..n)
                .into_par_iter()
                .map(|i| with_tensor(inner, payloads, ids, offsets, i, |t| Ok(t.to_owned())))
                .collect::<Result<Vec<Tensor>>>()?;
            for (shape, t) in shapes.iter_mut().zip(&tensors) {
                *shape = Dims::from_slice(t.shape());
            }
            return Ok(Data::Ragged(tensors));
        }
        Stacking::Exact => None,
        Stacking::Pad(shape) => Some(shape.clone()),
    };

    // The first record fixes the dtype (and, unpadded, the shape) and fills
    // its slot; the rest follow in parallel.
    let mut target = None;
    let first_is_string = with_tensor(inner, payloads, ids, offsets, 0, |t| {
        if t.dtype() == DType::String {
            return Ok(true);
        }
        let tg = Target {
            dtype: t.dtype(),
            shape: pad.clone().unwrap_or_else(|| Dims::from_slice(t.shape())),
            pad: pad.is_some(),
            first: ids[0],
        };
        let slot = tg.slot_bytes()?;
        let total = slot
            .checked_mul(n)
            .ok_or_else(|| Error::invalid_input("batch size in bytes overflows"))?;
        if data.len() != total {
            data.clear();
            data.resize(total, 0);
        }
        tg.fill(inner, &t, &mut data[..slot], &mut shapes[0])?;
        target = Some(tg);
        Ok(false)
    })?;
    let Some(target) = target.filter(|_| !first_is_string) else {
        return stack_strings(inner, payloads, ids, offsets, pad.is_some());
    };
    let slot = target.slot_bytes()?;
    let one = |i: usize, chunk: &mut [u8], shape: &mut Dims| {
        with_tensor(inner, payloads, ids, offsets, i, |t| {
            target.fill(inner, &t, chunk, shape)
        })
    };
    // Slices past the first record rather than `skip(1)`, which would
    // spawn (and allocate) a job to drop the skipped part.
    let parallel = if slot > 0 {
        data[slot..]
            .par_chunks_mut(slot)
            .zip(shapes[1..].par_iter_mut())
            .enumerate()
            .try_for_each(|(i, (chunk, shape))| one(i + 1, chunk, shape))
    } else {
        shapes[1..]
            .par_iter_mut()
            .enumerate()
            .try_for_each(|(i, shape)| one(i + 1, &mut [], shape))
    };
    if parallel.is_err() {
        // Report the first bad record of the batch, not whichever thread
        // failed first.
        for i in 1..n {
            let chunk = if slot > 0 {
                &mut data[i * slot..(i + 1) * slot]
            } else {
                &mut []
            };
            one(i, chunk, &mut shapes[i])?;
        }
        parallel?;
    }
    let mut shape = Dims::with_capacity(target.shape.len() + 1);
    shape.push(n);
    shape.extend_from_slice(&target.shape);
    Ok(Data::Stacked {
        dtype: target.dtype,
        shape,
    })
}

/// Stacks string tensors of one shape into one string tensor `[n, ...]`.
fn stack_strings(
    inner: &Inner,
    payloads: &Payloads<'_>,
    ids: &[RecordId],
    offsets: &[u64],
    pad: bool,
) -> Result<Data> {
    if pad {
        return Err(
            Error::invalid_input("string tensors cannot be padded; use ragged batches")
                .with_path(&inner.plan.paths[ids[0].file]),
        );
    }
    let tensors = (0..ids.len())
        .into_par_iter()
        .map(|i| with_tensor(inner, payloads, ids, offsets, i, |t| Ok(t.to_owned())))
        .collect::<Result<Vec<Tensor>>>()?;
    let first = &tensors[0];
    let mut strings: Vec<&[u8]> = Vec::new();
    for (i, t) in tensors.iter().enumerate() {
        if t.dtype() != DType::String || t.shape() != first.shape() {
            let id = ids[i];
            return Err(Error::invalid_input(format!(
                "cannot stack {}{:?} with the batch's string{:?} (set by {})",
                t.dtype(),
                t.shape(),
                first.shape(),
                describe(inner, ids[0])
            ))
            .at_record(offsets[i], id.index)
            .with_path(&inner.plan.paths[id.file]));
        }
        strings.extend(t.strings().into_iter().flatten());
    }
    let mut shape = vec![ids.len()];
    shape.extend_from_slice(first.shape());
    Ok(Data::Strings(Tensor::from_strings(&strings, &shape)?))
}
