//! Element types, numbered as TensorFlow's `DataType` enum numbers them,
//! and the [`Element`] trait that ties a Rust type to its dtype.
//!
//! Knows nothing of tensors, shapes, the wire format or files.

use std::fmt;
use std::str::FromStr;

use half::{bf16, f16};
use num_complex::{Complex32, Complex64};

use crate::error::{Error, ErrorKind};

/// A tensor element type.
///
/// Covers every TensorFlow dtype that holds plain values. Quantized, resource,
/// variant, float8 and 4-bit types are rejected with
/// [`ErrorKind::UnsupportedDType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DType {
    /// IEEE 754 binary16 (`tf.float16`, `DT_HALF`).
    F16,
    /// bfloat16 (`tf.bfloat16`).
    BF16,
    /// `tf.float32`.
    F32,
    /// `tf.float64`.
    F64,
    /// `tf.int8`.
    I8,
    /// `tf.int16`.
    I16,
    /// `tf.int32`.
    I32,
    /// `tf.int64`.
    I64,
    /// `tf.uint8`.
    U8,
    /// `tf.uint16`.
    U16,
    /// `tf.uint32`.
    U32,
    /// `tf.uint64`.
    U64,
    /// `tf.bool`, one byte per element holding 0 or 1.
    Bool,
    /// `tf.complex64`: (re, im) pairs of f32.
    Complex64,
    /// `tf.complex128`: (re, im) pairs of f64.
    Complex128,
    /// `tf.string`: each element an arbitrary byte string.
    String,
}

impl DType {
    /// Every supported dtype.
    pub const ALL: [DType; 16] = [
        DType::F16,
        DType::BF16,
        DType::F32,
        DType::F64,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::Bool,
        DType::Complex64,
        DType::Complex128,
        DType::String,
    ];

    /// The `DataType` enum value TensorFlow uses for this dtype.
    pub fn code(self) -> i32 {
        match self {
            DType::F32 => 1,
            DType::F64 => 2,
            DType::I32 => 3,
            DType::U8 => 4,
            DType::I16 => 5,
            DType::I8 => 6,
            DType::String => 7,
            DType::Complex64 => 8,
            DType::I64 => 9,
            DType::Bool => 10,
            DType::BF16 => 14,
            DType::U16 => 17,
            DType::Complex128 => 18,
            DType::F16 => 19,
            DType::U32 => 22,
            DType::U64 => 23,
        }
    }

    /// The dtype for a `DataType` enum value.
    ///
    /// ```
    /// use tfrec::DType;
    /// assert_eq!(DType::from_code(1)?, DType::F32);
    /// assert!(DType::from_code(11).is_err()); // qint8
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn from_code(code: i32) -> Result<DType, Error> {
        Ok(match code {
            1 => DType::F32,
            2 => DType::F64,
            3 => DType::I32,
            4 => DType::U8,
            5 => DType::I16,
            6 => DType::I8,
            7 => DType::String,
            8 => DType::Complex64,
            9 => DType::I64,
            10 => DType::Bool,
            14 => DType::BF16,
            17 => DType::U16,
            18 => DType::Complex128,
            19 => DType::F16,
            22 => DType::U32,
            23 => DType::U64,
            0 => return Err(Error::invalid_tensor("dtype is DT_INVALID (0)")),
            other => return Err(Error::new(ErrorKind::UnsupportedDType { code: other })),
        })
    }

    /// TensorFlow's name for the dtype (`tf.DType.name`): `float32`,
    /// `bfloat16`, `complex64`, `bool`, `string`, ...
    pub fn name(self) -> &'static str {
        match self {
            DType::F16 => "float16",
            DType::BF16 => "bfloat16",
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::Bool => "bool",
            DType::Complex64 => "complex64",
            DType::Complex128 => "complex128",
            DType::String => "string",
        }
    }

    /// Bytes per element on the wire, or `None` for strings.
    pub fn size(self) -> Option<usize> {
        Some(match self {
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::F16 | DType::BF16 | DType::I16 | DType::U16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 | DType::U64 | DType::Complex64 => 8,
            DType::Complex128 => 16,
            DType::String => return None,
        })
    }

    /// Size of one scalar component: half the element size for complex
    /// types, the element size otherwise. Byte order applies per component.
    pub fn component_size(self) -> Option<usize> {
        match self {
            DType::Complex64 => Some(4),
            DType::Complex128 => Some(8),
            other => other.size(),
        }
    }

    /// True for floating-point dtypes (including f16/bf16, not complex).
    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::BF16 | DType::F32 | DType::F64)
    }

    /// True for signed and unsigned integer dtypes.
    pub fn is_integer(self) -> bool {
        matches!(
            self,
            DType::I8
                | DType::I16
                | DType::I32
                | DType::I64
                | DType::U8
                | DType::U16
                | DType::U32
                | DType::U64
        )
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DType {
    type Err = Error;

    /// Parses TensorFlow's dtype names; `half` and `double`/`float` aliases
    /// are accepted too.
    fn from_str(s: &str) -> Result<DType, Error> {
        Ok(match s {
            "float16" | "half" => DType::F16,
            "bfloat16" => DType::BF16,
            "float32" | "float" => DType::F32,
            "float64" | "double" => DType::F64,
            "int8" => DType::I8,
            "int16" => DType::I16,
            "int32" => DType::I32,
            "int64" => DType::I64,
            "uint8" => DType::U8,
            "uint16" => DType::U16,
            "uint32" => DType::U32,
            "uint64" => DType::U64,
            "bool" => DType::Bool,
            "complex64" => DType::Complex64,
            "complex128" => DType::Complex128,
            "string" => DType::String,
            other => {
                return Err(Error::invalid_input(format!(
                    "unknown dtype name {other:?}"
                )))
            }
        })
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that is the element type of a fixed-size dtype.
///
/// Implemented for `f32`, `f64`, the integer types, [`half::f16`],
/// [`half::bf16`], [`num_complex::Complex32`] and [`num_complex::Complex64`].
/// `bool` is not `Pod`; use [`TensorView::to_bools`](crate::TensorView::to_bools).
pub trait Element: bytemuck::Pod + sealed::Sealed + Send + Sync {
    /// The dtype whose elements this type holds.
    const DTYPE: DType;
}

macro_rules! element {
    ($($t:ty => $d:ident),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
        }
    )*};
}

element! {
    f16 => F16, bf16 => BF16, f32 => F32, f64 => F64,
    i8 => I8, i16 => I16, i32 => I32, i64 => I64,
    u8 => U8, u16 => U16, u32 => U32, u64 => U64,
    Complex32 => Complex64, Complex64 => Complex128,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for d in DType::ALL {
            assert_eq!(DType::from_code(d.code()).unwrap(), d);
            assert_eq!(d.name().parse::<DType>().unwrap(), d);
        }
    }

    #[test]
    fn unsupported_codes_are_named() {
        for code in [11, 12, 13, 15, 16, 20, 21, 24, 29, 101, -1] {
            let err = DType::from_code(code).unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::UnsupportedDType { code });
        }
        assert!(matches!(
            DType::from_code(0).unwrap_err().kind(),
            ErrorKind::InvalidTensor { .. }
        ));
    }

    #[test]
    fn element_sizes_match_rust_types() {
        fn check<T: Element>() {
            assert_eq!(T::DTYPE.size(), Some(std::mem::size_of::<T>()));
        }
        check::<f16>();
        check::<bf16>();
        check::<f32>();
        check::<f64>();
        check::<i8>();
        check::<u64>();
        check::<Complex32>();
        check::<Complex64>();
    }
}
