//! [`FeatureView`]: one feature's kind and values, read from the payload
//! when asked: borrowed byte strings, floats as a borrowed slice when
//! aligned, copies into a caller's buffer, tensors decoded in place.
//!
//! Knows where parsing found the feature's values and reads them through
//! the value iterators; knows nothing of names, lookups, files, threads or
//! TFRecord framing.

use std::borrow::Cow;
use std::fmt;

use super::index::{merge_feature, Acc};
use super::values::{BytesValues, FloatValues, Int64Values, ListValues};
use crate::error::{Error, Result};
use crate::example::feature_kind::FeatureKind;
use crate::example::wire::Value;
use crate::proto::messages::feature::Kind;
use crate::proto::messages::{BytesList, Feature, FloatList, Int64List};
use crate::tensor::TensorView;

/// One feature: its kind and its values, read from the payload on demand.
///
/// Cheap to copy. Typed access returns `None` when the feature holds
/// another kind.
#[derive(Clone, Copy)]
pub struct FeatureView<'a> {
    /// A map entry whose `Feature` messages are its values (`nested`), or
    /// one `Feature` message.
    body: &'a [u8],
    nested: bool,
    kind: FeatureKind,
    /// Offset in `body` of the first list field of the run that counts.
    run_start: usize,
    len: usize,
}

impl<'a> FeatureView<'a> {
    /// A view of a feature found by parsing: `entry` is its map entry.
    pub(super) fn from_entry(
        entry: &'a [u8],
        kind: FeatureKind,
        run_start: usize,
        len: usize,
    ) -> FeatureView<'a> {
        FeatureView {
            body: entry,
            nested: true,
            kind,
            run_start,
            len,
        }
    }

    /// A view of one checked `Feature` message.
    pub(super) fn from_feature(feature: &'a [u8]) -> FeatureView<'a> {
        let mut acc = Acc::default();
        // Checked when the payload was parsed.
        let _ = merge_feature(&mut acc, feature, 0, false);
        FeatureView {
            body: feature,
            nested: false,
            kind: acc.kind,
            run_start: acc.run_start,
            len: acc.len,
        }
    }

    /// Which list the feature holds.
    pub fn kind(&self) -> FeatureKind {
        self.kind
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when there are no values (an empty list, or no kind).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn values(&self) -> ListValues<'a> {
        ListValues::new(self.body, self.nested, self.kind.field(), self.run_start)
    }

    fn wrong_kind(&self, wanted: FeatureKind) -> Error {
        Error::invalid_example(format!("feature is {}, not {wanted}", self.kind))
    }

    /// The byte strings of a `bytes_list`, borrowed from the payload.
    ///
    /// ```
    /// use tfrec::example::{self, Example, ExampleView};
    /// let payload = example::encode(&Example::default().bytes("ids", ["a", "bc"]));
    /// let view = ExampleView::parse(&payload)?;
    /// let ids: Vec<&[u8]> = view.get("ids").unwrap().bytes_list().unwrap().collect();
    /// assert_eq!(ids, [b"a".as_slice(), b"bc"]);
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn bytes_list(&self) -> Option<BytesValues<'a>> {
        (self.kind == FeatureKind::Bytes).then(|| BytesValues::new(self.values(), self.len))
    }

    /// The values of a `float_list`, decoded one by one.
    pub fn float_list(&self) -> Option<FloatValues<'a>> {
        (self.kind == FeatureKind::Float).then(|| FloatValues::new(self.values(), self.len))
    }

    /// The values of an `int64_list`, varints decoded in place.
    pub fn int64_list(&self) -> Option<Int64Values<'a>> {
        (self.kind == FeatureKind::Int64).then(|| Int64Values::new(self.values(), self.len))
    }

    /// The little-endian bytes of a `float_list` whose values are one packed
    /// run (as every encoder writes them), borrowed from the payload; `None`
    /// for another kind or when the values are spread over several fields.
    pub fn float_bytes(&self) -> Option<&'a [u8]> {
        if self.kind != FeatureKind::Float {
            return None;
        }
        if self.len == 0 {
            return Some(&[]);
        }
        let mut values = self.values();
        match (values.next(), values.next()) {
            (Some(Value::Len(packed)), None) => Some(packed),
            _ => None,
        }
    }

    /// The values of a `float_list` as a slice: borrowed from the payload
    /// when they are one packed run suitably aligned on a little-endian
    /// host, copied otherwise.
    ///
    /// ```
    /// use tfrec::example::{self, Example, ExampleView};
    /// let payload = example::encode(&Example::default().float("x", [1.5, -2.0]));
    /// let view = ExampleView::parse(&payload)?;
    /// assert_eq!(&view.get("x").unwrap().floats().unwrap()[..], [1.5, -2.0]);
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn floats(&self) -> Option<Cow<'a, [f32]>> {
        if let Some(bytes) = self.float_bytes() {
            if cfg!(target_endian = "little") {
                if let Ok(floats) = bytemuck::try_cast_slice::<u8, f32>(bytes) {
                    return Some(Cow::Borrowed(floats));
                }
            }
        }
        self.float_list().map(|values| Cow::Owned(values.collect()))
    }

    /// Writes the values of a `float_list` to the front of `out` and
    /// returns how many there are. Fails when the feature is of another
    /// kind or `out` is shorter than [`len`](FeatureView::len).
    ///
    /// ```
    /// use tfrec::example::{self, Example, ExampleView};
    /// let payload = example::encode(&Example::default().float("x", [1.0, 2.0]));
    /// let view = ExampleView::parse(&payload)?;
    /// let mut batch = [0f32; 4];
    /// let n = view.get("x").unwrap().copy_floats_into(&mut batch[1..])?;
    /// assert_eq!((n, batch), (2, [0.0, 1.0, 2.0, 0.0]));
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn copy_floats_into(&self, out: &mut [f32]) -> Result<usize> {
        if self.kind != FeatureKind::Float {
            return Err(self.wrong_kind(FeatureKind::Float));
        }
        let out = self.destination(out)?;
        let out_bytes = bytemuck::cast_slice_mut::<f32, u8>(out);
        match self.float_bytes() {
            Some(bytes) if cfg!(target_endian = "little") && bytes.len() == out_bytes.len() => {
                out_bytes.copy_from_slice(bytes);
            }
            _ => {
                for (slot, v) in out.iter_mut().zip(self.float_list().into_iter().flatten()) {
                    *slot = v;
                }
            }
        }
        Ok(self.len)
    }

    /// Writes the values of an `int64_list` to the front of `out` and
    /// returns how many there are. Fails when the feature is of another
    /// kind or `out` is shorter than [`len`](FeatureView::len).
    pub fn copy_int64s_into(&self, out: &mut [i64]) -> Result<usize> {
        if self.kind != FeatureKind::Int64 {
            return Err(self.wrong_kind(FeatureKind::Int64));
        }
        let out = self.destination(out)?;
        for (slot, v) in out.iter_mut().zip(self.int64_list().into_iter().flatten()) {
            *slot = v;
        }
        Ok(self.len)
    }

    fn destination<'o, T>(&self, out: &'o mut [T]) -> Result<&'o mut [T]> {
        let available = out.len();
        out.get_mut(..self.len).ok_or_else(|| {
            Error::invalid_example(format!(
                "feature has {} values, the buffer holds {available}",
                self.len
            ))
        })
    }

    /// Decodes value `i` of a `bytes_list` as a serialized `TensorProto`
    /// (what `tf.io.serialize_tensor` writes), borrowing from the payload.
    ///
    /// ```
    /// use tfrec::example::{self, Example, ExampleView};
    /// use tfrec::Tensor;
    /// let t = Tensor::from_slice(&[1i32, 2, 3, 4], &[2, 2])?;
    /// let payload = example::encode(&Example::default().bytes("t", [t.to_proto_bytes()]));
    /// let view = ExampleView::parse(&payload)?;
    /// let back = view.get("t").unwrap().tensor(0)?;
    /// assert_eq!(back, *t);
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn tensor(&self, i: usize) -> Result<TensorView<'a>> {
        let Some(mut values) = self.bytes_list() else {
            return Err(self.wrong_kind(FeatureKind::Bytes));
        };
        let Some(bytes) = values.nth(i) else {
            return Err(Error::invalid_example(format!(
                "feature has {} values, no value {i}",
                self.len
            )));
        };
        TensorView::decode(bytes)
    }

    /// Decodes every value of a `bytes_list` as a serialized `TensorProto`.
    pub fn decode_tensors(&self) -> Result<Vec<TensorView<'a>>> {
        let Some(values) = self.bytes_list() else {
            return Err(self.wrong_kind(FeatureKind::Bytes));
        };
        values.map(TensorView::decode).collect()
    }

    /// The prost message, values copied out.
    pub fn to_owned(&self) -> Feature {
        let kind = match self.kind {
            FeatureKind::None => None,
            FeatureKind::Bytes => Some(Kind::BytesList(BytesList {
                value: self
                    .bytes_list()
                    .into_iter()
                    .flatten()
                    .map(<[u8]>::to_vec)
                    .collect(),
            })),
            FeatureKind::Float => Some(Kind::FloatList(FloatList {
                value: self.floats().map(Cow::into_owned).unwrap_or_default(),
            })),
            FeatureKind::Int64 => Some(Kind::Int64List(Int64List {
                value: self.int64_list().into_iter().flatten().collect(),
            })),
        };
        Feature { kind }
    }
}

impl fmt::Debug for FeatureView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FeatureView")
            .field("kind", &self.kind)
            .field("len", &self.len)
            .finish()
    }
}
