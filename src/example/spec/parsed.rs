//! What parsing by a spec gives: a batch of columns, one per feature.
//!
//! Knows the spec's entries and the columns' buffers; knows nothing of
//! `Example` bytes, of how the buffers are filled, files, threads or
//! TFRecord framing.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use super::default::DefaultValue;
use super::entry::{Entry, EntryKind};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::tensor::{Dims, Tensor, TensorView};

/// One feature's values over a batch, in buffers reused from batch to batch.
#[derive(Debug, Clone, Default)]
pub(crate) struct ColumnData {
    /// Element bytes of fixed-size values, little-endian, kept in 8-byte
    /// words so that every element type is aligned.
    words: Vec<u64>,
    bytes_len: usize,
    /// String `k` is `string_data[string_offsets[k]..string_offsets[k + 1]]`.
    pub(super) string_data: Vec<u8>,
    pub(super) string_offsets: Vec<usize>,
    /// Variable-length features: record `i` holds values
    /// `row_splits[i]..row_splits[i + 1]`.
    pub(super) row_splits: Vec<i64>,
    /// `[n, ...shape]`, or `[n, longest row]` for variable-length features.
    pub(super) shape: Dims,
}

impl ColumnData {
    pub(super) fn set_bytes_len(&mut self, len: usize) {
        self.words.resize(len.div_ceil(8), 0);
        self.bytes_len = len;
    }

    pub(super) fn bytes_mut(&mut self) -> &mut [u8] {
        let len = self.bytes_len;
        bytemuck::cast_slice_mut::<u64, u8>(&mut self.words)
            .get_mut(..len)
            .unwrap_or_default()
    }

    fn bytes(&self) -> &[u8] {
        bytemuck::cast_slice::<u64, u8>(&self.words)
            .get(..self.bytes_len)
            .unwrap_or_default()
    }
}

/// The features of a batch of parsed `Example`s, one [`Column`] each; made
/// by [`ParseSpec::parse_batch`](super::ParseSpec::parse_batch) and by
/// [`Dataset::example_batches`](crate::pipeline::Dataset::example_batches).
#[derive(Debug, Clone, Default)]
pub struct ParsedBatch {
    entries: Arc<Vec<Entry>>,
    rows: usize,
    pub(super) columns: Vec<ColumnData>,
}

impl ParsedBatch {
    /// An empty batch, to fill with
    /// [`ParseSpec::parse_batch_into`](super::ParseSpec::parse_batch_into).
    pub fn new() -> Self {
        ParsedBatch::default()
    }

    /// Readies the buffers for `n` records of `entries`, keeping their
    /// allocations.
    pub(super) fn prepare(&mut self, entries: &Arc<Vec<Entry>>, n: usize) -> Result<()> {
        if !Arc::ptr_eq(&self.entries, entries) {
            self.entries = entries.clone();
            self.columns.resize_with(entries.len(), ColumnData::default);
            self.columns.truncate(entries.len());
        }
        self.rows = n;
        for (col, entry) in self.columns.iter_mut().zip(entries.iter()) {
            // String bytes are all overwritten, so the old ones stay rather
            // than being zeroed again for every batch.
            col.string_offsets.clear();
            col.row_splits.clear();
            col.shape.clear();
            if entry.kind == EntryKind::VarLen {
                col.set_bytes_len(0);
                continue;
            }
            col.shape.push(n);
            col.shape.extend_from_slice(&entry.shape);
            if entry.is_stacked() {
                let len = n
                    .checked_mul(entry.slot_bytes)
                    .ok_or_else(|| Error::invalid_input("batch size in bytes overflows"))?;
                col.set_bytes_len(len);
            } else {
                col.set_bytes_len(0);
            }
        }
        Ok(())
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when the batch holds no records.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The column of feature `name`.
    pub fn get(&self, name: &str) -> Option<Column<'_>> {
        let at = self.entries.iter().position(|e| e.name == name)?;
        self.column(at)
    }

    fn column(&self, at: usize) -> Option<Column<'_>> {
        Some(Column {
            entry: self.entries.get(at)?,
            data: self.columns.get(at)?,
            rows: self.rows,
        })
    }

    /// Every column, in the order of the spec.
    pub fn columns(&self) -> impl Iterator<Item = Column<'_>> + '_ {
        (0..self.entries.len()).filter_map(|at| self.column(at))
    }
}

/// The strings of a string column: every value's bytes one after another
/// in one buffer, and offsets (one more than there are strings) where each
/// starts and ends, as Arrow lays out a binary array.
#[derive(Debug, Clone, Copy)]
pub struct Strings<'b> {
    data: &'b [u8],
    offsets: &'b [usize],
}

impl<'b> Strings<'b> {
    /// Number of strings.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// String `k`.
    pub fn get(&self, k: usize) -> Option<&'b [u8]> {
        let start = *self.offsets.get(k)?;
        let end = *self.offsets.get(k + 1)?;
        self.data.get(start..end)
    }

    /// The strings in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'b [u8]> + 'b {
        let (data, offsets) = (self.data, self.offsets);
        offsets
            .windows(2)
            .map(move |w| data.get(w[0]..w[1]).unwrap_or_default())
    }

    /// All the bytes, one string after another.
    pub fn data(&self) -> &'b [u8] {
        self.data
    }

    /// Where each string starts, and the end of the last: `len() + 1`
    /// offsets into [`data`](Strings::data), the first 0.
    pub fn offsets(&self) -> &'b [usize] {
        self.offsets
    }

    /// Strings `from..to`.
    fn range(&self, from: usize, to: usize) -> Strings<'b> {
        Strings {
            data: self.data,
            offsets: self.offsets.get(from..=to).unwrap_or(&[0]),
        }
    }
}

/// TensorFlow's `SparseTensor` triple for a variable-length feature, as
/// `tf.io.VarLenFeature` gives it: value `k` sits at
/// `indices[k * rank..(k + 1) * rank]` of a tensor of `dense_shape`.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseTensor {
    /// `[nnz, rank]` indices in row-major order: `(record, position)` pairs
    /// for a batch, one position each for a single record.
    pub indices: Vec<i64>,
    /// The values, 1-D.
    pub values: Tensor,
    /// `[n, longest row]` for a batch, `[values]` for a single record.
    pub dense_shape: Vec<i64>,
}

impl SparseTensor {
    /// Dimensions of each index: 2 for a batch, 1 for a single record.
    pub fn rank(&self) -> usize {
        self.dense_shape.len()
    }
}

/// One feature of a [`ParsedBatch`].
///
/// Fixed and tensor features are dense: one value of the spec's shape per
/// record, stacked into `[n, ...shape]`. Variable-length features are
/// ragged: the values of all records one after another, record `i`'s being
/// `row_splits()[i]..row_splits()[i + 1]` (the layout of TensorFlow's
/// `RaggedTensor`). Numeric values are in one little-endian buffer
/// ([`bytes`](Column::bytes), [`values`](Column::values)), strings in one
/// byte buffer with offsets ([`strings`](Column::strings)).
///
/// ```
/// use tfrec::example::{self, Example, ParseSpec};
/// use tfrec::DType;
///
/// let spec = ParseSpec::new().var_len("ids", DType::String);
/// let a = example::encode(&Example::default().bytes("ids", ["x", "yz"]));
/// let b = example::encode(&Example::default());
/// let c = example::encode(&Example::default().bytes("ids", ["w"]));
/// let batch = spec.parse_batch(&[&a, &b, &c])?;
/// let ids = batch.get("ids").unwrap();
/// assert!(ids.is_ragged());
/// assert_eq!(ids.shape(), [3, 2]);                 // records, longest row
/// assert_eq!(ids.row_splits().unwrap(), [0, 2, 2, 3]);
/// let strings = ids.strings().unwrap();
/// assert_eq!((strings.data(), strings.offsets()), (&b"xyzw"[..], &[0, 1, 3, 4][..]));
/// let padded = ids.to_dense(None)?;                // [3, 2], padded with b""
/// let all: Vec<&[u8]> = padded.strings().unwrap().collect();
/// assert_eq!(all, [&b"x"[..], b"yz", b"", b"", b"w", b""]);
/// # Ok::<(), tfrec::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Column<'b> {
    entry: &'b Entry,
    data: &'b ColumnData,
    rows: usize,
}

impl<'b> Column<'b> {
    /// The feature's name.
    pub fn name(&self) -> &'b str {
        &self.entry.name
    }

    /// The dtype of the values.
    pub fn dtype(&self) -> DType {
        self.entry.dtype
    }

    /// True for a variable-length feature.
    pub fn is_ragged(&self) -> bool {
        self.entry.kind == EntryKind::VarLen
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True for a batch of no records.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// `[n, ...shape]` for a dense column; `[n, longest row]` for a ragged
    /// one (the `dense_shape` of its [`SparseTensor`]).
    pub fn shape(&self) -> &'b [usize] {
        &self.data.shape
    }

    /// The shape of one record's value: the spec's for dense columns,
    /// empty for ragged ones.
    pub fn record_shape(&self) -> &'b [usize] {
        &self.entry.shape
    }

    /// Little-endian element bytes of every value, for fixed-size dtypes.
    pub fn bytes(&self) -> Option<&'b [u8]> {
        (self.dtype() != DType::String).then(|| self.data.bytes())
    }

    /// Every value (in C order, records one after another), when the column
    /// holds `T`: borrowed on little-endian hosts, where the buffers are
    /// aligned for every element type.
    pub fn values<T: Element>(&self) -> Option<Cow<'b, [T]>> {
        if T::DTYPE != self.dtype() {
            return None;
        }
        let bytes = self.data.bytes();
        if cfg!(target_endian = "little") {
            if let Ok(values) = bytemuck::try_cast_slice::<u8, T>(bytes) {
                return Some(Cow::Borrowed(values));
            }
        }
        TensorView::new(T::DTYPE, &[bytes.len() / T::DTYPE.size()?], bytes)
            .ok()?
            .to_vec::<T>()
            .ok()
            .map(Cow::Owned)
    }

    /// Every value of a string column.
    pub fn strings(&self) -> Option<Strings<'b>> {
        (self.dtype() == DType::String).then_some(Strings {
            data: &self.data.string_data,
            offsets: &self.data.string_offsets,
        })
    }

    /// For a ragged column, `len() + 1` boundaries: record `i` holds values
    /// `row_splits[i]..row_splits[i + 1]`.
    pub fn row_splits(&self) -> Option<&'b [i64]> {
        self.is_ragged().then_some(&self.data.row_splits[..])
    }

    /// Values `from..to` of the column as a tensor of `shape`.
    fn slice(&self, from: usize, to: usize, shape: &[usize]) -> Option<TensorView<'b>> {
        match self.strings() {
            Some(strings) => {
                let part = strings.range(from, to);
                TensorView::from_strings(shape, part.iter().map(Cow::Borrowed).collect()).ok()
            }
            None => {
                let size = self.dtype().size()?;
                let bytes = self.data.bytes().get(from * size..to * size)?;
                TensorView::new(self.dtype(), shape, bytes).ok()
            }
        }
    }

    /// The whole dense column as one tensor `[n, ...shape]`, borrowing the
    /// buffers; `None` for a ragged column.
    pub fn view(&self) -> Option<TensorView<'b>> {
        if self.is_ragged() {
            return None;
        }
        let per = self.entry.count;
        self.slice(0, self.rows.checked_mul(per)?, self.shape())
    }

    /// Record `i`'s value: a tensor of the spec's shape, or for a ragged
    /// column the record's values as a 1-D tensor.
    pub fn get(&self, i: usize) -> Option<TensorView<'b>> {
        if i >= self.rows {
            return None;
        }
        if self.is_ragged() {
            let splits = &self.data.row_splits;
            let from = usize::try_from(*splits.get(i)?).ok()?;
            let to = usize::try_from(*splits.get(i + 1)?).ok()?;
            return self.slice(from, to, &[to.checked_sub(from)?]);
        }
        let per = self.entry.count;
        self.slice(i * per, (i + 1) * per, &self.entry.shape)
    }

    /// A ragged column as TensorFlow's `SparseTensor` triple, exactly what
    /// `tf.io.parse_example` gives for a `tf.io.VarLenFeature`; `None` for
    /// a dense column.
    pub fn to_sparse(&self) -> Option<SparseTensor> {
        self.sparse(true)
    }

    pub(super) fn sparse(&self, batched: bool) -> Option<SparseTensor> {
        let splits = self.row_splits()?;
        let nnz = usize::try_from(*splits.last()?).ok()?;
        let mut indices = Vec::with_capacity(nnz * if batched { 2 } else { 1 });
        let mut longest = 0i64;
        for (row, w) in splits.windows(2).enumerate() {
            let len = w[1] - w[0];
            longest = longest.max(len);
            for j in 0..len {
                if batched {
                    indices.push(row as i64);
                }
                indices.push(j);
            }
        }
        let values = self.slice(0, nnz, &[nnz])?.into_owned();
        let dense_shape = if batched {
            vec![self.rows as i64, longest]
        } else {
            vec![nnz as i64]
        };
        Some(SparseTensor {
            indices,
            values,
            dense_shape,
        })
    }

    /// The column as a dense tensor: a dense column as it is; a ragged one
    /// as `[n, longest row]`, each row padded at its end with `pad` (a
    /// single value of the column's dtype), or with zeros (empty strings)
    /// when `None` — what `tf.sparse.to_dense` and `RaggedTensor.to_tensor`
    /// give.
    pub fn to_dense(&self, pad: Option<&DefaultValue>) -> Result<Tensor> {
        if !self.is_ragged() {
            return self
                .view()
                .map(TensorView::into_owned)
                .ok_or_else(|| Error::invalid_input("column buffers do not match its shape"));
        }
        let pad = match pad {
            None => None,
            Some(p) => match p.convert(self.dtype()) {
                Some(p) if p.len() == 1 => Some(p),
                _ => {
                    return Err(Error::invalid_input(format!(
                        "padding must be one {} value, not {} {} values",
                        self.dtype(),
                        p.len(),
                        p.dtype()
                    )))
                }
            },
        };
        let shape = [self.rows, self.data.shape.get(1).copied().unwrap_or(0)];
        let width = shape[1];
        let splits = &self.data.row_splits;
        let rows = splits.windows(2).map(|w| {
            let from = usize::try_from(w[0]).unwrap_or(0);
            (from, usize::try_from(w[1]).unwrap_or(from))
        });
        if let Some(strings) = self.strings() {
            let fill: &[u8] = match &pad {
                Some(DefaultValue::String(s)) => s.first().map_or(&[], Vec::as_slice),
                _ => &[],
            };
            let mut all: Vec<&[u8]> = Vec::with_capacity(self.rows.saturating_mul(width));
            for (from, to) in rows {
                all.extend(strings.range(from, to).iter());
                all.extend(std::iter::repeat_n(fill, width - (to - from)));
            }
            return Tensor::from_strings(&all, &shape);
        }
        let size = self.dtype().size().unwrap_or(0);
        let fill = pad.map(|p| p.le_bytes()).unwrap_or_else(|| vec![0; size]);
        let total = self
            .rows
            .checked_mul(width)
            .and_then(|n| n.checked_mul(size))
            .ok_or_else(|| Error::invalid_input("dense size overflows"))?;
        let mut out = Vec::with_capacity(total);
        let bytes = self.data.bytes();
        for (from, to) in rows {
            out.extend_from_slice(bytes.get(from * size..to * size).unwrap_or_default());
            for _ in to - from..width {
                out.extend_from_slice(&fill);
            }
        }
        Tensor::from_bytes(self.dtype(), &shape, out)
    }
}

impl fmt::Debug for Column<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Column")
            .field("name", &self.name())
            .field("dtype", &self.dtype())
            .field("ragged", &self.is_ragged())
            .field("shape", &self.shape())
            .finish()
    }
}

/// One parsed `Example`, as `tf.io.parse_single_example` gives it; made by
/// [`ParseSpec::parse`](super::ParseSpec::parse).
#[derive(Debug, Clone)]
pub struct Parsed {
    batch: ParsedBatch,
}

impl Parsed {
    pub(super) fn from_batch(batch: ParsedBatch) -> Parsed {
        Parsed { batch }
    }

    /// Feature `name`: a tensor of the spec's shape for fixed and tensor
    /// features; the values as a 1-D tensor for a variable-length one.
    pub fn get(&self, name: &str) -> Option<TensorView<'_>> {
        self.batch.get(name)?.get(0)
    }

    /// A variable-length feature as the `SparseTensor` that
    /// `tf.io.parse_single_example` gives: indices `[[0], [1], ...]`,
    /// dense shape `[number of values]`.
    pub fn sparse(&self, name: &str) -> Option<SparseTensor> {
        self.batch.get(name)?.sparse(false)
    }

    /// The feature names, in the order of the spec.
    pub fn names(&self) -> impl Iterator<Item = &str> + '_ {
        self.batch.columns().map(|c| c.name())
    }

    /// As a batch of one record.
    pub fn into_batch(self) -> ParsedBatch {
        self.batch
    }
}
