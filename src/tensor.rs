//! Typed, shaped tensors: [`TensorView`] borrows its bytes where it can,
//! [`Tensor`] owns them.
//!
//! Element bytes are kept exactly as on the wire: little-endian, C order,
//! bool as one byte, complex as interleaved (re, im), f16/bf16 as 16-bit
//! patterns. Typed access converts on big-endian hosts and is zero-copy on
//! little-endian hosts when the bytes are suitably aligned.
//!
//! Knows nothing of the wire format, files or framing: the codec builds on
//! these types and gives them `decode`, `encode` and `to_proto_bytes`.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use smallvec::SmallVec;

use crate::dtype::{DType, Element};
use crate::error::{Error, Result};

/// TensorFlow's limit on the rank of a tensor (`TensorShape::MaxDimensions`).
pub const MAX_RANK: usize = 254;

/// Dimensions, inline for the common small ranks.
pub(crate) type Dims = SmallVec<[usize; 6]>;

/// Number of elements of `shape`, or an error when it overflows.
///
/// TensorFlow counts elements in an `int64`, dimension by dimension, so a
/// count (or a partial count: `[2^62, 2, 0]`) above `i64::MAX` overflows
/// too, even where `usize` could hold it.
pub fn num_elements(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| {
            acc.checked_mul(d).filter(|&n| n as u64 <= i64::MAX as u64)
        })
        .ok_or_else(|| Error::invalid_tensor(format!("element count of shape {shape:?} overflows")))
}

#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Data<'a> {
    Bytes(Cow<'a, [u8]>),
    Strings(Vec<Cow<'a, [u8]>>),
}

/// A tensor whose element bytes may be borrowed from the record it was
/// decoded from.
///
/// Decoding a `TensorProto` that carries `tensor_content` borrows the
/// content; tensors built from the typed `*_val` fields own their bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct TensorView<'a> {
    dtype: DType,
    shape: Dims,
    data: Data<'a>,
}

impl<'a> TensorView<'a> {
    /// A tensor of a fixed-size dtype over little-endian element bytes.
    ///
    /// Fails if `dtype` is `String`, the byte length is not
    /// elements × element size, or a bool byte is not 0 or 1.
    ///
    /// ```
    /// use tfrec::{DType, TensorView};
    /// let bytes = [1u8, 0, 1, 1];
    /// let t = TensorView::new(DType::Bool, &[2, 2], &bytes[..])?;
    /// assert_eq!(t.to_bools()?, [true, false, true, true]);
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn new(dtype: DType, shape: &[usize], bytes: impl Into<Cow<'a, [u8]>>) -> Result<Self> {
        let bytes = bytes.into();
        check_rank(shape)?;
        let Some(size) = dtype.size() else {
            return Err(Error::invalid_input(
                "string tensors are built from a list of strings, not bytes",
            ));
        };
        let n = num_elements(shape)?;
        let expected = n
            .checked_mul(size)
            .ok_or_else(|| Error::invalid_tensor("tensor byte size overflows"))?;
        if bytes.len() != expected {
            return Err(Error::invalid_tensor(format!(
                "{} bytes of {dtype} data for shape {shape:?}, expected {expected}",
                bytes.len()
            )));
        }
        if dtype == DType::Bool {
            check_bools(&bytes)?;
        }
        Ok(TensorView {
            dtype,
            shape: Dims::from_slice(shape),
            data: Data::Bytes(bytes),
        })
    }

    /// A string tensor; `strings.len()` must equal the element count.
    pub fn from_strings(shape: &[usize], strings: Vec<Cow<'a, [u8]>>) -> Result<Self> {
        check_rank(shape)?;
        let n = num_elements(shape)?;
        if strings.len() != n {
            return Err(Error::invalid_tensor(format!(
                "{} strings for shape {shape:?}, expected {n}",
                strings.len()
            )));
        }
        Ok(TensorView {
            dtype: DType::String,
            shape: Dims::from_slice(shape),
            data: Data::Strings(strings),
        })
    }

    /// Construction for decoders that have already validated everything.
    pub(crate) fn from_parts(dtype: DType, shape: Dims, data: Data<'a>) -> Self {
        TensorView { dtype, shape, data }
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The dimensions; empty for a scalar.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements (1 for a scalar, 0 when any dimension is 0).
    pub fn num_elements(&self) -> usize {
        // Validated at construction, so the product cannot overflow.
        self.shape.iter().product()
    }

    /// The little-endian element bytes, or `None` for a string tensor.
    pub fn bytes(&self) -> Option<&[u8]> {
        match &self.data {
            Data::Bytes(b) => Some(b),
            Data::Strings(_) => None,
        }
    }

    /// True when the element bytes are borrowed from the decoded record.
    pub fn is_borrowed(&self) -> bool {
        matches!(&self.data, Data::Bytes(Cow::Borrowed(_)))
    }

    /// The elements of a string tensor, or `None` for other dtypes.
    ///
    /// ```
    /// let t = tfrec::Tensor::from_strings(&[b"a".as_slice(), b"\0b"], &[2])?;
    /// let all: Vec<&[u8]> = t.strings().unwrap().collect();
    /// assert_eq!(all, [b"a".as_slice(), b"\0b"]);
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn strings(&self) -> Option<impl ExactSizeIterator<Item = &[u8]> + '_> {
        match &self.data {
            Data::Strings(s) => Some(s.iter().map(|c| &**c)),
            Data::Bytes(_) => None,
        }
    }

    /// Typed elements, borrowed when the host is little-endian and the bytes
    /// are aligned for `T`, copied otherwise.
    ///
    /// ```
    /// let t = tfrec::Tensor::from_slice(&[1.5f32, -2.0], &[2])?;
    /// assert_eq!(&*t.values::<f32>()?, &[1.5, -2.0]);
    /// assert!(t.values::<f64>().is_err()); // wrong dtype
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn values<T: Element>(&self) -> Result<Cow<'_, [T]>> {
        let bytes = self.typed_bytes(T::DTYPE)?;
        if cfg!(target_endian = "little") {
            if let Ok(slice) = bytemuck::try_cast_slice::<u8, T>(bytes) {
                return Ok(Cow::Borrowed(slice));
            }
        }
        Ok(Cow::Owned(le_bytes_to_vec::<T>(bytes)))
    }

    /// Typed elements, always copied into a new vector.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        Ok(le_bytes_to_vec::<T>(self.typed_bytes(T::DTYPE)?))
    }

    /// The elements of a bool tensor.
    pub fn to_bools(&self) -> Result<Vec<bool>> {
        let bytes = self.typed_bytes(DType::Bool)?;
        Ok(bytes.iter().map(|&b| b != 0).collect())
    }

    fn typed_bytes(&self, want: DType) -> Result<&[u8]> {
        match (&self.data, self.dtype == want) {
            (Data::Bytes(b), true) => Ok(b),
            _ => Err(Error::invalid_input(format!(
                "tensor has dtype {}, not {want}",
                self.dtype
            ))),
        }
    }

    /// An owned copy.
    pub fn to_owned(&self) -> Tensor {
        self.clone().into_owned()
    }

    /// Converts into an owned tensor, copying only what is borrowed.
    pub fn into_owned(self) -> Tensor {
        let data = match self.data {
            Data::Bytes(b) => Data::Bytes(Cow::Owned(b.into_owned())),
            Data::Strings(s) => {
                Data::Strings(s.into_iter().map(|c| Cow::Owned(c.into_owned())).collect())
            }
        };
        Tensor(TensorView {
            dtype: self.dtype,
            shape: self.shape,
            data,
        })
    }

    pub(crate) fn data(&self) -> &Data<'a> {
        &self.data
    }
}

impl fmt::Debug for TensorView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("TensorView");
        s.field("dtype", &self.dtype).field("shape", &self.shape());
        match &self.data {
            Data::Bytes(b) => s.field("bytes", &b.len()),
            Data::Strings(v) => s.field("strings", &v.len()),
        };
        s.finish()
    }
}

fn check_rank(shape: &[usize]) -> Result<()> {
    if shape.len() > MAX_RANK {
        return Err(Error::invalid_tensor(format!(
            "rank {} exceeds the maximum of {MAX_RANK}",
            shape.len()
        )));
    }
    // TensorFlow's dimensions are int64: a larger size cannot be encoded.
    if let Some(d) = shape.iter().find(|&&d| d as u64 > i64::MAX as u64) {
        return Err(Error::invalid_tensor(format!(
            "dimension size {d} exceeds the int64 maximum"
        )));
    }
    Ok(())
}

pub(crate) fn check_bools(bytes: &[u8]) -> Result<()> {
    match bytes.iter().position(|&b| b > 1) {
        None => Ok(()),
        Some(i) => Err(Error::invalid_tensor(format!(
            "bool element {i} has byte value {}, not 0 or 1",
            bytes[i]
        ))),
    }
}

/// Copies little-endian element bytes into native values.
fn le_bytes_to_vec<T: Element>(bytes: &[u8]) -> Vec<T> {
    let mut out: Vec<T> = bytemuck::pod_collect_to_vec(bytes);
    if cfg!(target_endian = "big") {
        let comp = T::DTYPE.component_size().unwrap_or(1);
        swap_components(bytemuck::cast_slice_mut(&mut out), comp);
    }
    out
}

/// Native values to little-endian bytes.
fn vec_to_le_bytes<T: Element>(values: &[T]) -> Vec<u8> {
    let mut out = bytemuck::cast_slice::<T, u8>(values).to_vec();
    if cfg!(target_endian = "big") {
        let comp = T::DTYPE.component_size().unwrap_or(1);
        swap_components(&mut out, comp);
    }
    out
}

fn swap_components(bytes: &mut [u8], comp: usize) {
    if comp > 1 {
        for c in bytes.chunks_exact_mut(comp) {
            c.reverse();
        }
    }
}

/// A tensor that owns its bytes. Dereferences to [`TensorView`] for access.
#[derive(Clone, PartialEq, Eq)]
pub struct Tensor(TensorView<'static>);

impl Tensor {
    /// A tensor from typed values in C order.
    ///
    /// ```
    /// use tfrec::Tensor;
    /// let t = Tensor::from_slice(&[1i64, 2, 3, 4, 5, 6], &[2, 3])?;
    /// assert_eq!(t.shape(), &[2, 3]);
    /// assert!(Tensor::from_slice(&[1i64, 2], &[3]).is_err());
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn from_slice<T: Element>(values: &[T], shape: &[usize]) -> Result<Tensor> {
        Tensor::from_bytes(T::DTYPE, shape, vec_to_le_bytes(values))
    }

    /// A scalar (rank-0 tensor).
    pub fn scalar<T: Element>(value: T) -> Tensor {
        Tensor(TensorView {
            dtype: T::DTYPE,
            shape: Dims::new(),
            data: Data::Bytes(Cow::Owned(vec_to_le_bytes(&[value]))),
        })
    }

    /// A bool tensor.
    pub fn from_bools(values: &[bool], shape: &[usize]) -> Result<Tensor> {
        Tensor::from_bytes(
            DType::Bool,
            shape,
            values.iter().map(|&b| b as u8).collect(),
        )
    }

    /// A string tensor from any byte strings.
    pub fn from_strings<S: AsRef<[u8]>>(values: &[S], shape: &[usize]) -> Result<Tensor> {
        let strings = values
            .iter()
            .map(|s| Cow::Owned(s.as_ref().to_vec()))
            .collect();
        TensorView::from_strings(shape, strings).map(Tensor)
    }

    /// A tensor of a fixed-size dtype from little-endian element bytes.
    pub fn from_bytes(dtype: DType, shape: &[usize], bytes: Vec<u8>) -> Result<Tensor> {
        TensorView::new(dtype, shape, bytes).map(Tensor)
    }

    /// A borrowed view of this tensor.
    pub fn view(&self) -> TensorView<'_> {
        let data = match &self.0.data {
            Data::Bytes(b) => Data::Bytes(Cow::Borrowed(&**b)),
            Data::Strings(s) => Data::Strings(s.iter().map(|c| Cow::Borrowed(&**c)).collect()),
        };
        TensorView {
            dtype: self.0.dtype,
            shape: self.0.shape.clone(),
            data,
        }
    }

    /// The element bytes, taken out without copying (`None` for strings).
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        match self.0.data {
            Data::Bytes(b) => Some(b.into_owned()),
            Data::Strings(_) => None,
        }
    }
}

impl Deref for Tensor {
    type Target = TensorView<'static>;
    fn deref(&self) -> &TensorView<'static> {
        &self.0
    }
}

impl AsRef<TensorView<'static>> for Tensor {
    fn as_ref(&self) -> &TensorView<'static> {
        &self.0
    }
}

impl<'a> AsRef<TensorView<'a>> for TensorView<'a> {
    fn as_ref(&self) -> &TensorView<'a> {
        self
    }
}

impl<'a> From<TensorView<'a>> for Tensor {
    fn from(view: TensorView<'a>) -> Tensor {
        view.into_owned()
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::{bf16, f16};
    use num_complex::Complex32;

    #[test]
    fn typed_round_trips() {
        let t = Tensor::from_slice(&[f16::from_f32(1.5), f16::from_f32(-2.0)], &[2]).unwrap();
        assert_eq!(t.bytes().unwrap(), &[0x00, 0x3e, 0x00, 0xc0]);
        let b = Tensor::from_slice(&[bf16::from_f32(1.0)], &[]).unwrap();
        assert_eq!(b.bytes().unwrap(), &[0x80, 0x3f]);
        let c = Tensor::from_slice(&[Complex32::new(1.0, 2.0)], &[1, 1]).unwrap();
        assert_eq!(
            &*c.values::<Complex32>().unwrap(),
            &[Complex32::new(1.0, 2.0)]
        );
        assert_eq!(
            c.to_vec::<f32>().unwrap_err().kind().name(),
            "invalid_input"
        );
    }

    #[test]
    fn misaligned_bytes_are_copied() {
        let mut raw = [0u8; 17];
        raw[1..9].copy_from_slice(&1.0f64.to_le_bytes());
        raw[9..17].copy_from_slice(&2.0f64.to_le_bytes());
        let start = if raw.as_ptr().wrapping_add(1) as usize % 8 == 0 {
            0
        } else {
            1
        };
        let slice = &raw[start..start + 16];
        let t = TensorView::new(DType::F64, &[2], slice).unwrap();
        let v = t.values::<f64>().unwrap();
        assert_eq!(v.len(), 2);
        if start == 1 {
            assert_eq!(&*v, &[1.0, 2.0]);
        }
    }

    #[test]
    fn validation() {
        assert!(TensorView::new(DType::Bool, &[1], &[2u8][..]).is_err());
        assert!(TensorView::new(DType::F32, &[2], &[0u8; 7][..]).is_err());
        assert!(TensorView::new(DType::U8, &[usize::MAX, 2], &[][..]).is_err());
        assert!(TensorView::new(DType::U8, &[1; 255], &[0u8][..]).is_err());
        assert!(TensorView::new(DType::U8, &[1; 254], &[0u8][..]).is_ok());
        assert!(TensorView::new(DType::U8, &[3, 0, 2], &[][..]).is_ok());
        assert!(Tensor::from_strings(&[b"x"], &[2]).is_err());
        // Element counts are int64 in TensorFlow.
        assert!(num_elements(&[1 << 62, 2]).is_err());
        assert_eq!(num_elements(&[1 << 62, 1]).unwrap(), 1 << 62);
        assert!(num_elements(&[1 << 62, 2, 0]).is_err());
        assert_eq!(num_elements(&[0, 1 << 62, 2]).unwrap(), 0);
    }

    #[test]
    fn scalar_and_empty() {
        let s = Tensor::scalar(7u32);
        assert_eq!(s.rank(), 0);
        assert_eq!(s.num_elements(), 1);
        let e = Tensor::from_slice::<i16>(&[], &[3, 0]).unwrap();
        assert_eq!(e.num_elements(), 0);
        assert_eq!(e.bytes().unwrap(), b"");
    }
}
