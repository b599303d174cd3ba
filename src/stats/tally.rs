//! [`Tally`]: the per-record work of [`Stats`](super::Stats), kept small
//! and fast. Tensors are summed per dtype and shape (with a short cut for
//! the layout `tf.io.serialize_tensor` writes), `Example`s and
//! `SequenceExample`s per feature. Knows nothing of files, threads or
//! output formats.

use std::collections::BTreeMap;

use crate::dtype::DType;
use crate::example::{ExampleView, RecordKind, SequenceExampleView};
use crate::framing::FRAME_OVERHEAD;
use crate::tensor::{Dims, TensorView};

use super::features::{self, FeatureListStats, FeatureStats, KindCounts};
use super::sizes::SizeStats;
use super::summary::{DTypeStats, Summary};

/// A tally of a run of records, kept small: few dtypes and shapes, found by
/// linear search.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) records: u64,
    pub(super) bytes: u64,
    pub(super) dtypes: Vec<(DType, DTypeStats)>,
    pub(super) shapes: Vec<(Dims, u64)>,
    last_dtype: usize,
    last_shape: usize,
    pub(super) kinds: KindCounts,
    pub(super) features: BTreeMap<String, FeatureStats>,
    pub(super) feature_lists: BTreeMap<String, FeatureListStats>,
    pub(super) sizes: SizeStats,
}

impl Tally {
    /// Tallies a record of any kind.
    #[inline]
    pub(super) fn add_payload(&mut self, payload: &[u8], frame_bytes: u64) -> RecordKind {
        if let Some(tensor) = canonical(payload) {
            return self.add(&tensor, frame_bytes);
        }
        // Detection parses the payload once and the tally a second time;
        // should the second parse fail all the same, the record is raw.
        let mut kind = RecordKind::detect(payload);
        match kind {
            RecordKind::Tensor => match TensorView::decode(payload) {
                Ok(tensor) => return self.add(&tensor, frame_bytes),
                Err(_) => kind = RecordKind::Raw,
            },
            RecordKind::Example => match ExampleView::parse(payload) {
                Ok(example) => features::add_features(&mut self.features, example.features()),
                Err(_) => kind = RecordKind::Raw,
            },
            RecordKind::SequenceExample => match SequenceExampleView::parse(payload) {
                Ok(seq) => {
                    features::add_features(&mut self.features, seq.context());
                    features::add_feature_lists(&mut self.feature_lists, seq.feature_lists());
                }
                Err(_) => kind = RecordKind::Raw,
            },
            RecordKind::Raw => {}
        }
        self.records += 1;
        self.bytes += frame_bytes;
        self.sizes
            .add(frame_bytes.saturating_sub(FRAME_OVERHEAD as u64));
        self.kinds.add(kind);
        kind
    }

    /// Tallies a tensor.
    pub(super) fn add(&mut self, t: &TensorView<'_>, frame_bytes: u64) -> RecordKind {
        self.records += 1;
        self.bytes += frame_bytes;
        self.sizes
            .add(frame_bytes.saturating_sub(FRAME_OVERHEAD as u64));
        self.kinds.tensor += 1;
        // Records mostly repeat the previous record's shape and dtype.
        let shape_at = match self.shapes.get(self.last_shape) {
            Some((s, _)) if same_dims(s, t.shape()) => Some(self.last_shape),
            _ => self
                .shapes
                .iter()
                .position(|(s, _)| same_dims(s, t.shape())),
        };
        self.last_shape = match shape_at {
            Some(i) => i,
            None => {
                self.shapes.push((Dims::from_slice(t.shape()), 0));
                self.shapes.len() - 1
            }
        };
        self.shapes[self.last_shape].1 += 1;
        let dtype = t.dtype();
        let at = match self.dtypes.get(self.last_dtype) {
            Some((d, _)) if *d == dtype => self.last_dtype,
            _ => match self.dtypes.iter().position(|(d, _)| *d == dtype) {
                Some(i) => i,
                None => {
                    self.dtypes.push((
                        dtype,
                        DTypeStats {
                            tensors: 0,
                            elements: 0,
                            summary: Summary::empty(dtype),
                        },
                    ));
                    self.dtypes.len() - 1
                }
            },
        };
        self.last_dtype = at;
        let s = &mut self.dtypes[at].1;
        s.tensors += 1;
        s.elements += t.num_elements() as u64;
        let bytes = t.bytes().unwrap_or_default();
        // Per-tensor sums of elements up to 32 bits cannot overflow 64 bits:
        // a tensor has fewer than 2^31 elements.
        match &mut s.summary {
            Summary::UInt { sum, min, max } => {
                let (s_, lo, hi) = match dtype {
                    DType::U8 => sum_u8(bytes),
                    DType::U16 => ints::<2, u64>(bytes, |b| u64::from(u16::from_le_bytes(b))),
                    DType::U32 => ints::<4, u64>(bytes, |b| u64::from(u32::from_le_bytes(b))),
                    _ => ints::<8, u64>(bytes, u64::from_le_bytes),
                };
                *sum += s_;
                fold(min, lo, std::cmp::min);
                fold(max, hi, std::cmp::max);
            }
            Summary::Int { sum, min, max } => {
                let (s_, lo, hi) = match dtype {
                    DType::I8 => ints::<1, i64>(bytes, |b| i64::from(i8::from_le_bytes(b))),
                    DType::I16 => ints::<2, i64>(bytes, |b| i64::from(i16::from_le_bytes(b))),
                    DType::I32 => ints::<4, i64>(bytes, |b| i64::from(i32::from_le_bytes(b))),
                    _ => ints::<8, i64>(bytes, i64::from_le_bytes),
                };
                *sum += s_;
                fold(min, lo, std::cmp::min);
                fold(max, hi, std::cmp::max);
            }
            Summary::Float { sum, min, max, nan } => {
                let f = match dtype {
                    DType::F16 => floats::<2>(bytes, |b| half::f16::from_le_bytes(b).to_f64()),
                    DType::BF16 => floats::<2>(bytes, |b| half::bf16::from_le_bytes(b).to_f64()),
                    DType::F32 => floats::<4>(bytes, |b| f64::from(f32::from_le_bytes(b))),
                    _ => floats::<8>(bytes, f64::from_le_bytes),
                };
                *sum += f.sum;
                fold(min, f.min, f64::min);
                fold(max, f.max, f64::max);
                *nan += f.nan;
            }
            Summary::Bool { trues } => {
                *trues += bytes.iter().map(|&b| u64::from(b != 0)).sum::<u64>();
            }
            Summary::Complex { re, im, nan } => {
                let (r, i, n) = match dtype {
                    DType::Complex64 => complex::<4>(bytes, |b| f64::from(f32::from_le_bytes(b))),
                    _ => complex::<8>(bytes, f64::from_le_bytes),
                };
                *re += r;
                *im += i;
                *nan += n;
            }
            Summary::String => {}
        }
        RecordKind::Tensor
    }
}

/// Slice equality without a call to `memcmp` for these few numbers.
#[inline]
fn same_dims(a: &[usize], b: &[usize]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

fn fold<T: Copy>(acc: &mut Option<T>, v: Option<T>, pick: fn(T, T) -> T) {
    if let Some(v) = v {
        *acc = Some(acc.map_or(v, |a| pick(a, v)));
    }
}

/// Sum, min, max of bytes as unsigned values, in one pass the compiler
/// vectorises: 32 lanes of minima and maxima, and sums of byte pairs in
/// 16-bit lanes of 64-bit words, flushed before they can overflow.
fn sum_u8(bytes: &[u8]) -> (u128, Option<u64>, Option<u64>) {
    const LANES: usize = 32;
    /// 128 blocks add at most 128 · 2 · 255 < 2^16 to a 16-bit lane.
    const FLUSH: usize = 128;
    const LOW: u64 = 0x00ff_00ff_00ff_00ff;
    if bytes.is_empty() {
        return (0, None, None);
    }
    let mut min = [u8::MAX; LANES];
    let mut max = [u8::MIN; LANES];
    let mut sum = 0u64;
    let whole = bytes.len() - bytes.len() % LANES;
    for run in bytes[..whole].chunks(LANES * FLUSH) {
        let mut acc = [0u64; LANES / 8];
        for block in run.chunks_exact(LANES) {
            for (a, word) in acc.iter_mut().zip(block.chunks_exact(8)) {
                let mut w = [0u8; 8];
                w.copy_from_slice(word);
                let w = u64::from_le_bytes(w);
                *a += (w & LOW) + ((w >> 8) & LOW);
            }
            for ((lo, hi), &b) in min.iter_mut().zip(max.iter_mut()).zip(block) {
                *lo = (*lo).min(b);
                *hi = (*hi).max(b);
            }
        }
        for a in acc {
            sum += (a & 0xffff) + ((a >> 16) & 0xffff) + ((a >> 32) & 0xffff) + (a >> 48);
        }
    }
    let mut lo = min.iter().copied().min().unwrap_or(u8::MAX);
    let mut hi = max.iter().copied().max().unwrap_or(u8::MIN);
    for &b in &bytes[whole..] {
        sum += u64::from(b);
        lo = lo.min(b);
        hi = hi.max(b);
    }
    (u128::from(sum), Some(u64::from(lo)), Some(u64::from(hi)))
}

/// Sum, min and max of little-endian integers of `N` bytes, widened to `T`.
fn ints<const N: usize, T>(
    bytes: &[u8],
    conv: impl Fn([u8; N]) -> T,
) -> (T::Sum, Option<T>, Option<T>)
where
    T: Widen,
{
    let mut sum = T::Sum::default();
    let mut min: Option<T> = None;
    let mut max: Option<T> = None;
    for c in bytes.chunks_exact(N) {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        let v = conv(a);
        sum = T::add(sum, v);
        min = Some(min.map_or(v, |m| m.min(v)));
        max = Some(max.map_or(v, |m| m.max(v)));
    }
    (sum, min, max)
}

/// Integers summed exactly in 128 bits.
trait Widen: Copy + Ord {
    type Sum: Default + Copy;
    fn add(sum: Self::Sum, v: Self) -> Self::Sum;
}

impl Widen for u64 {
    type Sum = u128;
    #[inline]
    fn add(sum: u128, v: u64) -> u128 {
        sum + u128::from(v)
    }
}

impl Widen for i64 {
    type Sum = i128;
    #[inline]
    fn add(sum: i128, v: i64) -> i128 {
        sum + i128::from(v)
    }
}

struct FloatTally {
    sum: f64,
    min: Option<f64>,
    max: Option<f64>,
    nan: u64,
}

fn floats<const N: usize>(bytes: &[u8], conv: impl Fn([u8; N]) -> f64) -> FloatTally {
    // Four lanes, branch-free: NaNs add nothing and lose every comparison.
    // The lanes are combined in a fixed order, so the sum is the same on
    // every run.
    const LANES: usize = 4;
    let mut sum = [0.0f64; LANES];
    let mut min = [f64::INFINITY; LANES];
    let mut max = [f64::NEG_INFINITY; LANES];
    let mut nan = 0u64;
    let mut step = |lane: usize, c: &[u8]| {
        let mut a = [0u8; N];
        a.copy_from_slice(c);
        let v = conv(a);
        let is_nan = v.is_nan();
        nan += u64::from(is_nan);
        sum[lane] += if is_nan { 0.0 } else { v };
        min[lane] = if v < min[lane] { v } else { min[lane] };
        max[lane] = if v > max[lane] { v } else { max[lane] };
    };
    let mut groups = bytes.chunks_exact(N * LANES);
    for g in &mut groups {
        for (lane, c) in g.chunks_exact(N).enumerate() {
            step(lane, c);
        }
    }
    for c in groups.remainder().chunks_exact(N) {
        step(0, c);
    }
    let seen = (bytes.len() / N) as u64 > nan;
    let lo = min
        .iter()
        .copied()
        .fold(f64::INFINITY, |a, b| if b < a { b } else { a });
    let hi = max
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, |a, b| if b > a { b } else { a });
    FloatTally {
        sum: (sum[0] + sum[1]) + (sum[2] + sum[3]),
        min: seen.then_some(lo),
        max: seen.then_some(hi),
        nan,
    }
}

fn complex<const N: usize>(bytes: &[u8], conv: impl Fn([u8; N]) -> f64) -> (f64, f64, u64) {
    let (mut re, mut im, mut nan) = (0.0, 0.0, 0u64);
    for pair in bytes.chunks_exact(2 * N) {
        let (mut a, mut b) = ([0u8; N], [0u8; N]);
        a.copy_from_slice(&pair[..N]);
        b.copy_from_slice(&pair[N..]);
        let (r, i) = (conv(a), conv(b));
        if r.is_nan() || i.is_nan() {
            nan += 1;
        } else {
            re += r;
            im += i;
        }
    }
    (re, im, nan)
}

/// The tensor of a payload laid out exactly as `tf.io.serialize_tensor`
/// writes a fixed-size dtype: `dtype`, `tensor_shape` (one `dim` with only a
/// `size` per dimension, empty for size 0), then `tensor_content` holding
/// every element (absent when there are none). Anything else — other
/// fields, other orders, typed values, strings, an invalid tensor — gives
/// `None`, and the general decoder (which accepts all of it, or says what is
/// wrong) runs instead. What this accepts, the general decoder decodes to
/// the same tensor; a test checks it on valid and damaged payloads.
fn canonical(payload: &[u8]) -> Option<TensorView<'_>> {
    fn varint(buf: &mut &[u8]) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = buf.split_first()?;
            *buf = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(value);
            }
        }
        None
    }
    fn field<'a>(buf: &mut &'a [u8], key: u8) -> Option<&'a [u8]> {
        let (&k, rest) = buf.split_first()?;
        if k != key {
            return None;
        }
        let mut rest = rest;
        let len = usize::try_from(varint(&mut rest)?).ok()?;
        let body = rest.get(..len)?;
        *buf = rest.get(len..)?;
        Some(body)
    }
    let mut p = payload;
    let (&0x08, mut rest) = p.split_first()? else {
        return None;
    };
    let code = i32::try_from(varint(&mut rest)?).ok()?;
    let dtype = DType::from_code(code).ok()?;
    dtype.size()?;
    p = rest;
    let mut shape = field(&mut p, 0x12)?;
    let mut dims = Dims::new();
    while !shape.is_empty() {
        let dim = field(&mut shape, 0x12)?;
        let size = if dim.is_empty() {
            0
        } else {
            let (&0x08, mut rest) = dim.split_first()? else {
                return None;
            };
            let size = varint(&mut rest)?;
            if !rest.is_empty() || size > i64::MAX as u64 {
                return None;
            }
            usize::try_from(size).ok()?
        };
        dims.push(size);
    }
    let content = if p.is_empty() {
        &[][..]
    } else {
        let content = field(&mut p, 0x22)?;
        if !p.is_empty() || content.is_empty() {
            return None;
        }
        content
    };
    TensorView::new(dtype, &dims, content).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor;

    fn samples() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let tensors = vec![
            Tensor::from_slice(&[1.5f32, -2.0, 3.25], &[3]).unwrap(),
            Tensor::from_slice(&[7u8; 12], &[2, 3, 2]).unwrap(),
            Tensor::scalar(-5i64),
            Tensor::from_slice::<u16>(&[], &[4, 0]).unwrap(),
            Tensor::from_bools(&[true, false], &[2]).unwrap(),
            Tensor::from_slice(&[num_complex::Complex32::new(1.0, 2.0)], &[1, 1]).unwrap(),
            Tensor::from_slice(&[half::bf16::from_f32(2.5); 200], &[200]).unwrap(),
            Tensor::from_strings(&["a", "b"], &[2]).unwrap(),
        ];
        for t in &tensors {
            out.push(t.to_proto_bytes());
        }
        out
    }

    #[test]
    fn the_short_cut_agrees_with_the_decoder() {
        for payload in samples() {
            let general = TensorView::decode(&payload).unwrap();
            if general.dtype() != DType::String {
                assert_eq!(canonical(&payload).as_ref(), Some(&general));
            } else {
                assert!(canonical(&payload).is_none());
            }
            // Every single-byte change and every truncation: the short cut
            // declines or gives exactly what the decoder gives.
            for i in 0..payload.len() {
                for delta in [1u8, 0x80, 0xff, 0x07] {
                    let mut bad = payload.clone();
                    bad[i] = bad[i].wrapping_add(delta);
                    if let Some(t) = canonical(&bad) {
                        assert_eq!(Some(t), TensorView::decode(&bad).ok(), "byte {i} + {delta}");
                    }
                }
                if let Some(t) = canonical(&payload[..i]) {
                    assert_eq!(
                        Some(t),
                        TensorView::decode(&payload[..i]).ok(),
                        "cut at {i}"
                    );
                }
            }
        }
        // Typed values instead of content go to the decoder.
        let typed = [
            0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0x08, 0x01, 0x2a, 0x04, 0, 0, 0x80, 0x3f,
        ];
        assert!(canonical(&typed).is_none());
        let mut tally = Tally::default();
        assert_eq!(tally.add_payload(&typed, 0), RecordKind::Tensor);
        let f32s = tally.dtypes.iter().find(|(d, _)| *d == DType::F32);
        assert_eq!(
            f32s.map(|(_, s)| &s.summary),
            Some(&Summary::Float {
                sum: 1.0,
                min: Some(1.0),
                max: Some(1.0),
                nan: 0
            })
        );
    }
}
