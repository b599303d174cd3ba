//! Reading a `.npy` file's bytes: the magic string, the format version
//! and the header's length and encoding, then the header and the body
//! handed to their parts. Knows nothing of files, of writing or of how the
//! header's dictionary is parsed.

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::tensor::Tensor;

use super::body::decode_data;
use super::header::{parse_header, MAGIC};

/// Reads a `.npy` file's bytes into a tensor.
///
/// The element bytes are converted to little-endian C order; string arrays
/// become [`DType::String`](crate::DType::String) tensors (`|S<n>` elements
/// with their trailing NUL bytes stripped, as numpy's `bytes` conversion
/// does; `<U<n>` elements with trailing NUL code points stripped and encoded
/// as UTF-8).
///
/// ```
/// use tfrec::{npy, Tensor};
///
/// let original = Tensor::from_slice(&[1i32, 2, 3, 4, 5, 6], &[2, 3])?;
/// let bytes = npy::write_npy(&original)?;
/// let tensor = npy::read_npy(&bytes)?;
/// assert_eq!(tensor.shape(), &[2, 3]);
/// assert_eq!(tensor.to_vec::<i32>()?, [1, 2, 3, 4, 5, 6]);
/// # Ok::<(), tfrec::Error>(())
/// ```
pub fn read_npy(bytes: &[u8]) -> Result<Tensor> {
    let Some((magic, rest)) = bytes.split_first_chunk::<6>() else {
        return Err(Error::invalid_input(
            ".npy file too short for its magic string",
        ));
    };
    if magic != MAGIC {
        return Err(Error::invalid_input(
            "not a .npy file: missing the \\x93NUMPY magic string",
        ));
    }
    let Some((&[major, minor], rest)) = rest.split_first_chunk::<2>() else {
        return Err(Error::invalid_input(".npy file ends inside its version"));
    };
    let (header_len, rest) = match (major, minor) {
        (1, 0) => match rest.split_first_chunk::<2>() {
            Some((len, rest)) => (usize::from(u16::from_le_bytes(*len)), rest),
            None => {
                return Err(Error::invalid_input(
                    ".npy file ends inside its header length",
                ))
            }
        },
        (2, 0) | (3, 0) => match rest.split_first_chunk::<4>() {
            Some((len, rest)) => {
                let len = usize::try_from(u32::from_le_bytes(*len)).map_err(|_| {
                    Error::invalid_input(".npy header length does not fit in memory")
                })?;
                (len, rest)
            }
            None => {
                return Err(Error::invalid_input(
                    ".npy file ends inside its header length",
                ))
            }
        },
        _ => {
            return Err(Error::invalid_input(format!(
                "unsupported .npy format version {major}.{minor} (1.0, 2.0 and 3.0 are supported)"
            )))
        }
    };
    let (Some(header), Some(data)) = (rest.get(..header_len), rest.get(header_len..)) else {
        return Err(Error::invalid_input(format!(
            ".npy header is {header_len} bytes but only {} remain",
            rest.len()
        )));
    };
    // Versions 1.0 and 2.0 store the header as latin-1, 3.0 as UTF-8.
    let header: Cow<'_, str> = if major == 3 {
        Cow::Borrowed(
            std::str::from_utf8(header)
                .map_err(|_| Error::invalid_input(".npy version 3.0 header is not valid UTF-8"))?,
        )
    } else {
        Cow::Owned(header.iter().map(|&b| char::from(b)).collect())
    };
    let header = parse_header(&header)?;
    decode_data(&header, data)
}
