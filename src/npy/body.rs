//! The body of a `.npy` file into a [`Tensor`]: the element bytes checked
//! against the header's shape and dtype, swapped to little-endian,
//! reordered from Fortran to C order, and strings decoded. Knows nothing
//! of the file's prefix, the header's text, files or writing.

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorView};

use super::header::{Descr, Header, Order};

pub(super) fn decode_data(header: &Header, data: &[u8]) -> Result<Tensor> {
    let shape = &header.shape;
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            Error::invalid_input(format!(".npy shape {shape:?} has too many elements"))
        })?;
    let item = header
        .descr
        .item_size()
        .ok_or_else(|| Error::invalid_input(".npy string width overflows"))?;
    let expected = count.checked_mul(item).ok_or_else(|| {
        Error::invalid_input(format!(".npy shape {shape:?} is too large for its dtype"))
    })?;
    if data.len() != expected {
        return Err(Error::invalid_input(format!(
            ".npy data is {} bytes, expected {expected} for shape {shape:?} ({count} elements of {item} bytes)",
            data.len()
        )));
    }

    // Checked above: `data` holds exactly `count` items, so allocations
    // below are bounded by the input's length.
    let data: Cow<'_, [u8]> = if header.fortran_order && shape.len() > 1 && count > 0 {
        Cow::Owned(fortran_to_c(data, shape, item)?)
    } else {
        Cow::Borrowed(data)
    };

    match header.descr {
        Descr::Fixed(dtype, order) => {
            let mut bytes = data.into_owned();
            if order == Order::Big {
                let component = dtype.component_size().unwrap_or(1);
                if component > 1 {
                    for c in bytes.chunks_exact_mut(component) {
                        c.reverse();
                    }
                }
            }
            Tensor::from_bytes(dtype, shape, bytes)
        }
        Descr::Bytes(_) => {
            let strings = data
                .chunks_exact(item)
                .map(|chunk| Cow::Owned(trim_trailing_nul(chunk).to_vec()))
                .collect();
            TensorView::from_strings(shape, strings).map(Tensor::from)
        }
        Descr::Unicode(_, order) => {
            let strings = data
                .chunks_exact(item)
                .enumerate()
                .map(|(i, chunk)| decode_ucs4(chunk, order).map(Cow::Owned).map_err(|cp| {
                    Error::invalid_input(format!(
                        ".npy unicode element {i} holds {cp:#x}, which is not a Unicode scalar value"
                    ))
                }))
                .collect::<Result<Vec<_>>>()?;
            TensorView::from_strings(shape, strings).map(Tensor::from)
        }
    }
}

fn trim_trailing_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    bytes.get(..end).unwrap_or_default()
}

/// UCS-4 code points to UTF-8, trailing NUL code points dropped. The error
/// is the first invalid code point.
fn decode_ucs4(chunk: &[u8], order: Order) -> std::result::Result<Vec<u8>, u32> {
    let code_points = chunk.chunks_exact(4).map(|c| {
        let c: [u8; 4] = c.try_into().unwrap_or_default();
        match order {
            Order::Little => u32::from_le_bytes(c),
            Order::Big => u32::from_be_bytes(c),
        }
    });
    let len = code_points
        .clone()
        .rposition(|c| c != 0)
        .map_or(0, |i| i + 1);
    let mut out = Vec::with_capacity(len);
    let mut buf = [0u8; 4];
    for cp in code_points.take(len) {
        let ch = char::from_u32(cp).ok_or(cp)?;
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
    Ok(out)
}

/// Reorders items of `item` bytes from Fortran order (first index fastest)
/// to C order (last index fastest).
///
/// The caller has checked, with checked arithmetic, that `data.len()` is
/// exactly the element count of `shape` times `item`.
fn fortran_to_c(data: &[u8], shape: &[usize], item: usize) -> Result<Vec<u8>> {
    // Fortran strides in items: 1, d0, d0*d1, ... — none overflows because
    // the full product was computed with checked arithmetic.
    let mut strides = Vec::with_capacity(shape.len());
    let mut stride = 1usize;
    for &dim in shape {
        strides.push(stride);
        stride *= dim;
    }
    let count = stride;
    let mut index = vec![0usize; shape.len()];
    let mut offset = 0usize;
    let mut out = Vec::with_capacity(data.len());
    for _ in 0..count {
        let start = offset * item;
        let Some(element) = data.get(start..start + item) else {
            return Err(Error::invalid_input(
                ".npy Fortran-order data is shorter than its shape",
            ));
        };
        out.extend_from_slice(element);
        // Odometer step in C order: bump the last index, carrying leftwards.
        for ((i, &dim), &stride) in index.iter_mut().zip(shape).zip(&strides).rev() {
            *i += 1;
            offset += stride;
            if *i < dim {
                break;
            }
            offset -= stride * dim;
            *i = 0;
        }
    }
    Ok(out)
}
