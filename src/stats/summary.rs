//! What one dtype's elements add up to: the [`Summary`] kinds and how two
//! of them merge. Knows nothing of records, files, threads or output
//! formats.

use crate::dtype::DType;
use crate::error::{Error, Result};

/// Sum, minimum and maximum of one dtype's elements.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Summary {
    /// Signed integers: exact.
    Int {
        /// Sum of all elements.
        sum: i128,
        /// Smallest element.
        min: Option<i64>,
        /// Largest element.
        max: Option<i64>,
    },
    /// Unsigned integers: exact.
    UInt {
        /// Sum of all elements.
        sum: u128,
        /// Smallest element.
        min: Option<u64>,
        /// Largest element.
        max: Option<u64>,
    },
    /// Floats (f16 and bf16 converted exactly to f64). NaNs are counted,
    /// not summed or compared.
    Float {
        /// Sum of the non-NaN elements.
        sum: f64,
        /// Smallest non-NaN element.
        min: Option<f64>,
        /// Largest non-NaN element.
        max: Option<f64>,
        /// Elements that were NaN.
        nan: u64,
    },
    /// Bools: the number of `true` elements (min and max follow from it and
    /// the element count).
    Bool {
        /// Elements that were `true`.
        trues: u64,
    },
    /// Complex numbers: sums of the real and imaginary parts (NaN parts
    /// counted, not summed). No minimum or maximum.
    Complex {
        /// Sum of the real parts.
        re: f64,
        /// Sum of the imaginary parts.
        im: f64,
        /// Elements with a NaN part.
        nan: u64,
    },
    /// Strings: counts only.
    String,
}

impl Summary {
    pub(super) fn empty(dtype: DType) -> Summary {
        match dtype {
            DType::I8 | DType::I16 | DType::I32 | DType::I64 => Summary::Int {
                sum: 0,
                min: None,
                max: None,
            },
            DType::U8 | DType::U16 | DType::U32 | DType::U64 => Summary::UInt {
                sum: 0,
                min: None,
                max: None,
            },
            DType::F16 | DType::BF16 | DType::F32 | DType::F64 => Summary::Float {
                sum: 0.0,
                min: None,
                max: None,
                nan: 0,
            },
            DType::Bool => Summary::Bool { trues: 0 },
            DType::Complex64 | DType::Complex128 => Summary::Complex {
                re: 0.0,
                im: 0.0,
                nan: 0,
            },
            DType::String => Summary::String,
        }
    }

    pub(super) fn merge(&mut self, other: &Summary) -> Result<()> {
        fn opt<T: Copy>(a: Option<T>, b: Option<T>, pick: fn(T, T) -> T) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(pick(a, b)),
                (a, None) => a,
                (None, b) => b,
            }
        }
        let overflow = || Error::invalid_input("integer sum exceeds 128 bits");
        match (self, other) {
            (
                Summary::Int { sum, min, max },
                Summary::Int {
                    sum: s,
                    min: lo,
                    max: hi,
                },
            ) => {
                *sum = sum.checked_add(*s).ok_or_else(overflow)?;
                *min = opt(*min, *lo, std::cmp::min);
                *max = opt(*max, *hi, std::cmp::max);
            }
            (
                Summary::UInt { sum, min, max },
                Summary::UInt {
                    sum: s,
                    min: lo,
                    max: hi,
                },
            ) => {
                *sum = sum.checked_add(*s).ok_or_else(overflow)?;
                *min = opt(*min, *lo, std::cmp::min);
                *max = opt(*max, *hi, std::cmp::max);
            }
            (
                Summary::Float { sum, min, max, nan },
                Summary::Float {
                    sum: s,
                    min: lo,
                    max: hi,
                    nan: n,
                },
            ) => {
                *sum += s;
                *min = opt(*min, *lo, f64::min);
                *max = opt(*max, *hi, f64::max);
                *nan += n;
            }
            (Summary::Bool { trues }, Summary::Bool { trues: t }) => *trues += t,
            (
                Summary::Complex { re, im, nan },
                Summary::Complex {
                    re: r,
                    im: i,
                    nan: n,
                },
            ) => {
                *re += r;
                *im += i;
                *nan += n;
            }
            _ => {}
        }
        Ok(())
    }
}

/// The tally of one dtype.
#[derive(Debug, Clone, PartialEq)]
pub struct DTypeStats {
    /// Tensors of this dtype.
    pub tensors: u64,
    /// Their elements, all together.
    pub elements: u64,
    /// Sum, minimum and maximum.
    pub summary: Summary,
}
