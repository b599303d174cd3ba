//! Writing `.npy` files exactly as `numpy.save` writes them, to any
//! `Write`. Knows nothing of reading, of files or of directories.

use std::borrow::Cow;
use std::io::Write;

use super::header::MAGIC;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::TensorView;

/// numpy aligns the start of the data to this many bytes.
pub(super) const ARRAY_ALIGN: usize = 64;

/// numpy leaves room in the header for the growth axis to reach this many
/// digits, so that appending can rewrite the header in place.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// Writes a tensor as a `.npy` file, byte for byte as `numpy.save` would.
///
/// Fixed-size dtypes are written with their numpy little-endian descriptor
/// (`<f2`, `<f4`, `<f8`, `|i1`, `<i2`, ..., `|u1`, ..., `|b1`, `<c8`,
/// `<c16`). String tensors are written as `|S<n>` with `n` the longest
/// element (at least 1), each element padded with NUL bytes. numpy strips
/// trailing NUL bytes when it reads `|S` elements, so an element that ends
/// in NUL does not survive a round trip: it comes back without them
/// ([`check_lossless`](super::check_lossless) tells such tensors apart).
///
/// bfloat16 has no `.npy` descriptor, so [`DType::BF16`] tensors are an
/// error.
///
/// ```
/// use tfrec::{npy, Tensor};
///
/// let words = Tensor::from_strings(&["cat", "horse"], &[2])?;
/// let bytes = npy::write_npy(&words)?;
/// assert!(bytes.starts_with(b"\x93NUMPY\x01\x00"));
/// assert_eq!(bytes.len(), 128 + 2 * 5); // header, then two `|S5` elements
/// assert!(npy::write_npy(&Tensor::scalar(tfrec::bf16::ONE)).is_err());
/// # Ok::<(), tfrec::Error>(())
/// ```
pub fn write_npy(tensor: &TensorView<'_>) -> Result<Vec<u8>> {
    let (descr, width) = descr(tensor)?;
    let header = encode_header(&descr, tensor.shape())?;
    let data_len = match width {
        Some(width) => tensor.num_elements().checked_mul(width),
        None => Some(tensor.bytes().map_or(0, <[u8]>::len)),
    };
    let too_large = || Error::invalid_input("tensor too large for a .npy file");
    let total = data_len
        .and_then(|len| len.checked_add(header.len()))
        .ok_or_else(too_large)?;
    let mut out = Vec::new();
    out.try_reserve_exact(total).map_err(|_| too_large())?;
    out.extend_from_slice(&header);
    write_data(tensor, width, &mut out)?;
    Ok(out)
}

/// Writes a tensor as a `.npy` file to `out`, the same bytes as
/// [`write_npy`] without building them in memory first. Returns the number
/// of bytes written.
///
/// ```
/// use tfrec::{npy, Tensor};
///
/// let t = Tensor::from_slice(&[1u16, 2, 3], &[3])?;
/// let mut out = Vec::new();
/// let n = npy::write_npy_to(&t, &mut out)?;
/// assert_eq!((n, out), (128 + 6, npy::write_npy(&t)?));
/// # Ok::<(), tfrec::Error>(())
/// ```
pub fn write_npy_to(tensor: &TensorView<'_>, out: &mut impl Write) -> Result<u64> {
    let (descr, width) = descr(tensor)?;
    let header = encode_header(&descr, tensor.shape())?;
    out.write_all(&header)?;
    let data = write_data(tensor, width, out)?;
    Ok(header.len() as u64 + data)
}

/// The numpy descriptor of a fixed-size dtype; `None` for strings and for
/// bfloat16, which has none.
pub(crate) fn fixed_descr(dtype: DType) -> Option<&'static str> {
    Some(match dtype {
        DType::F16 => "<f2",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::I8 => "|i1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U8 => "|u1",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::Bool => "|b1",
        DType::Complex64 => "<c8",
        DType::Complex128 => "<c16",
        DType::String | DType::BF16 => return None,
    })
}

/// The error for bfloat16, which `.npy` cannot name.
pub(crate) fn bf16_error() -> Error {
    Error::invalid_input("bfloat16 cannot be written to .npy: the format has no descriptor for it")
}

/// The descriptor of `tensor`, and for strings the `|S` width.
fn descr(tensor: &TensorView<'_>) -> Result<(Cow<'static, str>, Option<usize>)> {
    match tensor.dtype() {
        DType::String => {
            let width = tensor
                .strings()
                .and_then(|s| s.map(<[u8]>::len).max())
                .unwrap_or(0)
                .max(1);
            Ok((Cow::Owned(format!("|S{width}")), Some(width)))
        }
        DType::BF16 => Err(bf16_error()),
        dtype => fixed_descr(dtype)
            .map(|d| (Cow::Borrowed(d), None))
            .ok_or_else(bf16_error),
    }
}

/// The element bytes of `tensor`: strings padded to `width` with NULs.
/// Returns the number of bytes written.
fn write_data(tensor: &TensorView<'_>, width: Option<usize>, out: &mut impl Write) -> Result<u64> {
    match (width, tensor.strings(), tensor.bytes()) {
        (Some(width), Some(strings), _) => {
            let mut written = 0u64;
            for s in strings {
                written += write_padded(out, s, width)?;
            }
            Ok(written)
        }
        (_, _, Some(bytes)) => {
            out.write_all(bytes)?;
            Ok(bytes.len() as u64)
        }
        _ => Ok(0),
    }
}

/// Writes `s` padded with NULs to `width` bytes (`s` is at most `width`).
pub(crate) fn write_padded(out: &mut impl Write, s: &[u8], width: usize) -> Result<u64> {
    const ZEROS: [u8; 256] = [0; 256];
    out.write_all(s)?;
    let mut pad = width.saturating_sub(s.len());
    while pad > 0 {
        let n = pad.min(ZEROS.len());
        out.write_all(&ZEROS[..n])?;
        pad -= n;
    }
    Ok(width.max(s.len()) as u64)
}

/// The header of a C-order array: magic string, version, header length,
/// the dictionary and its padding. Its length does not depend on the first
/// dimension (numpy leaves room for that to grow), so a header written for
/// a guess can be replaced by the final one in place.
pub(crate) fn encode_header(descr: &str, shape: &[usize]) -> Result<Vec<u8>> {
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (");
    for (i, dim) in shape.iter().enumerate() {
        if i > 0 {
            dict.push_str(", ");
        }
        dict.push_str(&dim.to_string());
    }
    dict.push_str(if shape.len() == 1 { ",), }" } else { "), }" });
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }

    // The header text plus its final newline, padded so the data is aligned;
    // version 1.0 unless its 16-bit length field cannot hold that.
    let text_len = dict.len() + 1;
    let v1_len = padded_len(10, text_len);
    let (version, prefix_len, header_len) = match u16::try_from(v1_len) {
        Ok(_) => (1u8, 10, v1_len),
        Err(_) => (2u8, 12, padded_len(12, text_len)),
    };
    let mut out = Vec::with_capacity(prefix_len + header_len);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    match u16::try_from(header_len) {
        Ok(len) if version == 1 => out.extend_from_slice(&len.to_le_bytes()),
        _ => {
            let len = u32::try_from(header_len)
                .map_err(|_| Error::invalid_input("tensor rank too large for a .npy header"))?;
            out.extend_from_slice(&len.to_le_bytes());
        }
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(prefix_len + header_len - 1, b' ');
    out.push(b'\n');
    Ok(out)
}

/// Length of the header text once padded, as numpy pads it: spaces so that
/// prefix + text ends on an `ARRAY_ALIGN` boundary, always adding at least
/// one.
pub(crate) fn padded_len(prefix_len: usize, text_len: usize) -> usize {
    let pad = ARRAY_ALIGN - (prefix_len + text_len) % ARRAY_ALIGN;
    text_len + pad
}
