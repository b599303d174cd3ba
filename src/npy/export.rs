//! Which tensors `.npy` keeps exactly, and what becomes of bfloat16.
//! Knows nothing of the bytes of the format or of files.

use super::write::bf16_error;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorView};

/// What to write for bfloat16 tensors, which `.npy` has no dtype for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Bf16As {
    /// Refuse them with an error: the dtype never changes silently.
    #[default]
    Error,
    /// float32 holding the same values: exact, since every bfloat16 is a
    /// float32 with the low 16 bits of its mantissa zero.
    Float32,
    /// uint16 holding the raw bits: `np.load(f).view(ml_dtypes.bfloat16)`
    /// gives the values back.
    Uint16,
}

/// Checks that [`write_npy`](super::write_npy) can write `tensor` so that
/// `numpy.load` gives back exactly its dtype, shape and bytes.
///
/// Two kinds of tensor cannot be: bfloat16 (no `.npy` descriptor), and
/// string tensors with an element ending in a NUL byte (numpy strips
/// trailing NULs when it reads a fixed-width `|S` element; only a pickled
/// object array could keep them). The error names the first such element
/// by its index in C order.
///
/// ```
/// use tfrec::{npy, Tensor};
///
/// let inner_nul = Tensor::from_strings(&["a\0b", ""], &[2])?;
/// assert!(npy::check_lossless(&inner_nul).is_ok());
/// let trailing_nul = Tensor::from_strings(&["ok", "nul\0"], &[2])?;
/// let err = npy::check_lossless(&trailing_nul).unwrap_err();
/// assert!(err.to_string().contains("string element 1 ends in a NUL byte"));
/// # Ok::<(), tfrec::Error>(())
/// ```
pub fn check_lossless(tensor: &TensorView<'_>) -> Result<()> {
    match tensor.dtype() {
        DType::BF16 => Err(bf16_error()),
        DType::String => {
            let trailing_nul = tensor
                .strings()
                .and_then(|mut s| s.position(|s| s.last() == Some(&0)));
            match trailing_nul {
                Some(i) => Err(Error::invalid_input(format!(
                    "string element {i} ends in a NUL byte, which a .npy fixed-width (|S) \
                     string cannot keep: numpy strips trailing NULs when it reads one"
                ))),
                None => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

/// Makes `tensor` ready for `.npy`: bfloat16 converted as `bf16` says, then
/// [`check_lossless`]. Returns the converted tensor, or `None` when
/// `tensor` itself is to be written.
///
/// ```
/// use tfrec::npy::{self, Bf16As};
/// use tfrec::{bf16, DType, Tensor};
///
/// let t = Tensor::from_slice(&[bf16::from_f32(1.5)], &[1])?;
/// assert!(npy::for_npy(&t, Bf16As::Error).is_err());
/// let wide = npy::for_npy(&t, Bf16As::Float32)?.expect("converted");
/// assert_eq!(wide.to_vec::<f32>()?, [1.5]);
/// let bits = npy::for_npy(&t, Bf16As::Uint16)?.expect("converted");
/// assert_eq!(bits.to_vec::<u16>()?, [bf16::from_f32(1.5).to_bits()]);
/// assert!(npy::for_npy(&Tensor::scalar(1u8), Bf16As::Error)?.is_none());
/// # Ok::<(), tfrec::Error>(())
/// ```
pub fn for_npy(tensor: &TensorView<'_>, bf16: Bf16As) -> Result<Option<Tensor>> {
    if tensor.dtype() != DType::BF16 {
        check_lossless(tensor)?;
        return Ok(None);
    }
    let bytes = tensor.bytes().unwrap_or_default();
    let converted = match bf16 {
        Bf16As::Error => return Err(bf16_error()),
        Bf16As::Uint16 => Tensor::from_bytes(DType::U16, tensor.shape(), bytes.to_vec())?,
        Bf16As::Float32 => {
            let mut wide = Vec::new();
            wide.try_reserve_exact(bytes.len() * 2)
                .map_err(|_| Error::invalid_input("bfloat16 tensor too large to widen"))?;
            for pair in bytes.chunks_exact(2) {
                wide.extend_from_slice(&[0, 0]);
                wide.extend_from_slice(pair);
            }
            Tensor::from_bytes(DType::F32, tensor.shape(), wide)?
        }
    };
    Ok(Some(converted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::bf16;

    #[test]
    fn bf16_widens_exactly_and_keeps_bits() {
        let values: Vec<bf16> = [0.0f32, -0.0, 1.0, -2.5, f32::INFINITY, f32::NEG_INFINITY]
            .iter()
            .map(|&v| bf16::from_f32(v))
            .chain([bf16::from_bits(0x7fc1), bf16::from_bits(0x0001), bf16::MAX])
            .collect();
        let t = Tensor::from_slice(&values, &[3, 3]).unwrap();
        let wide = for_npy(&t, Bf16As::Float32).unwrap().unwrap();
        assert_eq!((wide.dtype(), wide.shape()), (DType::F32, &[3, 3][..]));
        let got: Vec<u32> = wide
            .to_vec::<f32>()
            .unwrap()
            .iter()
            .map(|f| f.to_bits())
            .collect();
        let want: Vec<u32> = values
            .iter()
            .map(|b| u32::from(b.to_bits()) << 16)
            .collect();
        assert_eq!(got, want);
        let bits = for_npy(&t, Bf16As::Uint16).unwrap().unwrap();
        assert_eq!(
            bits.to_vec::<u16>().unwrap(),
            values.iter().map(|b| b.to_bits()).collect::<Vec<_>>()
        );
        let empty = Tensor::from_slice::<bf16>(&[], &[0, 2]).unwrap();
        let wide = for_npy(&empty, Bf16As::Float32).unwrap().unwrap();
        assert_eq!((wide.dtype(), wide.shape()), (DType::F32, &[0, 2][..]));
    }

    #[test]
    fn only_trailing_nuls_are_refused() {
        for ok in [&[&b""[..], b"\0a", b"a\0b"][..], &[]] {
            let t = Tensor::from_strings(ok, &[ok.len()]).unwrap();
            assert!(for_npy(&t, Bf16As::Error).unwrap().is_none());
        }
        let t = Tensor::from_strings(&[&b"a"[..], b"b", b"\0"], &[3]).unwrap();
        let err = check_lossless(&t).unwrap_err().to_string();
        assert!(err.contains("element 2"), "{err}");
        assert!(for_npy(&t, Bf16As::Float32).is_err());
        let err = check_lossless(&Tensor::scalar(bf16::ONE)).unwrap_err();
        assert!(err.to_string().contains("bfloat16"), "{err}");
    }
}
