//! NumPy `.npy` files to and from [`Tensor`](crate::Tensor)s.
//!
//! [`read_npy`] understands format versions 1.0, 2.0 and 3.0, both byte
//! orders, C and Fortran order, fixed-width byte strings (`|S<n>`) and
//! unicode strings (`<U<n>`). [`write_npy`] writes what `numpy.save` writes:
//! version 1.0 (2.0 when the header is too long), C order, the data starting
//! at a multiple of 64 bytes; [`write_npy_to`] writes the same bytes to any
//! `Write`.
//!
//! [`check_lossless`] tells whether `numpy.load` gives a tensor back
//! exactly, [`for_npy`] applies a [`Bf16As`] choice to bfloat16 tensors,
//! [`NpyStack`] streams tensors of one dtype and shape into one stacked
//! file, and [`NpyDir`] writes many tensors into a directory, one file each
//! or stacked, all of them appearing together or none.
//!
//! Not representable and rejected with an error: object arrays (`|O`, they
//! need pickle), void and structured dtypes (including `ml_dtypes` bfloat16
//! arrays, which are saved as raw `<V2` bytes), datetimes, and, on the
//! writing side, [`DType::BF16`](crate::DType::BF16).
//!
//! This file holds no code; it names the parts: `header` (the magic string and the
//! header's dictionary), `read` and `body` (a file's bytes into a tensor),
//! `write` (a tensor into a file's bytes), `export` (what `.npy` can keep),
//! `stack` ([`NpyStack`]) and `dir` ([`NpyDir`]).

mod body;
mod dir;
mod export;
mod header;
mod read;
mod stack;
#[cfg(test)]
mod tests;
mod write;

pub use dir::{NpyDir, NpyDirOptions, NpyOutput, Placement};
pub use export::{check_lossless, for_npy, Bf16As};
pub use read::read_npy;
pub use stack::NpyStack;
pub use write::{write_npy, write_npy_to};
