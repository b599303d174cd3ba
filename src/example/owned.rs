//! Building owned `Example`s and serializing them deterministically.
//!
//! [`encode`] writes what TensorFlow's C++ `SerializeToString` writes with
//! deterministic serialization on: fields in number order, map entries
//! sorted by the bytes of their names, each entry with both its key and
//! its value (even an empty name, even a `Feature` with no kind), repeated
//! floats and integers packed (and left out when empty), a set message
//! field written even when empty.
//!
//! Knows the prost messages and the wire format; knows nothing of parsing,
//! the views, files, threads or TFRecord framing.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::proto::messages::feature::Kind;
use crate::proto::messages::{
    BytesList, Example, Feature, FeatureList, FeatureLists, Features, FloatList, Int64List,
    SequenceExample,
};
use crate::proto::wire::{put_key, put_varint, varint_len, LEN};

/// A message [`encode`] can serialize: `Example`, `SequenceExample` and
/// their parts.
pub trait Deterministic: sealed::Sealed {
    /// Exact length of the serialization.
    fn deterministic_len(&self) -> usize;

    /// Appends the serialization to `out`.
    fn encode_deterministic(&self, out: &mut Vec<u8>, order: MapOrder);
}

mod sealed {
    pub trait Sealed {}
}

/// How [`encode_with`] orders map entries (feature names). The two orders
/// differ only where one name in a map is a prefix of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MapOrder {
    /// The order of TensorFlow's Python, whose default protobuf backend
    /// (upb) sorts names by their bytes, but puts a name *after* the names
    /// it is a prefix of (`"ab"`, `"a"`, `"b"`, `""`). What
    /// `SerializeToString(deterministic=True)` gives in a Python with
    /// TensorFlow installed, and so the default.
    #[default]
    Python,
    /// The order of C++ protobuf (and Python's pure-Python backend): by
    /// name bytes, a name before the names it is a prefix of (`""`, `"a"`,
    /// `"ab"`, `"b"`).
    Cpp,
}

/// Serializes `message` byte for byte as TensorFlow's Python does with
/// `SerializeToString(deterministic=True)`: see [`MapOrder::Python`] and
/// [`encode_with`].
///
/// ```
/// use tfrec::example::{self, Example, ExampleView};
///
/// let ex = Example::default().int64("b", [1]).float("a", [0.5]);
/// let bytes = example::encode(&ex);
/// assert_eq!(ExampleView::parse(&bytes)?.to_owned(), ex);
/// // Features are written sorted by name, whatever order they were added in.
/// let names: Vec<&str> = ExampleView::parse(&bytes)?.iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["a", "b"]);
/// # Ok::<(), tfrec::Error>(())
/// ```
pub fn encode<M: Deterministic + ?Sized>(message: &M) -> Vec<u8> {
    encode_with(message, MapOrder::default())
}

/// Serializes `message` deterministically with map entries in `order`:
/// fields in number order, each map entry with both its key and its value
/// (even an empty name, even a `Feature` with no kind), repeated floats and
/// integers packed (and left out when empty), a set message field written
/// even when empty.
///
/// ```
/// use tfrec::example::{self, Example, ExampleView, MapOrder};
///
/// let ex = Example::default().int64("a", [1]).int64("ab", [2]);
/// let names = |bytes: &[u8]| -> Vec<String> {
///     ExampleView::parse(bytes).unwrap().iter().map(|(n, _)| n.to_string()).collect()
/// };
/// assert_eq!(names(&example::encode_with(&ex, MapOrder::Python)), ["ab", "a"]);
/// assert_eq!(names(&example::encode_with(&ex, MapOrder::Cpp)), ["a", "ab"]);
/// ```
pub fn encode_with<M: Deterministic + ?Sized>(message: &M, order: MapOrder) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.deterministic_len());
    message.encode_deterministic(&mut out, order);
    out
}

/// The entries of `map` in `order`. A `BTreeMap` iterates in C++ order;
/// Python's differs only when some name is a prefix of another, and then
/// some name is a prefix of the next one in C++ order (any name between a
/// name and its extension starts with that name too).
fn ordered<V>(map: &BTreeMap<String, V>, order: MapOrder) -> Vec<(&String, &V)> {
    let mut entries: Vec<(&String, &V)> = map.iter().collect();
    let prefixed = entries
        .windows(2)
        .any(|w| w[1].0.as_bytes().starts_with(w[0].0.as_bytes()));
    if order == MapOrder::Python && prefixed {
        entries.sort_by(|(a, _), (b, _)| python_order(a.as_bytes(), b.as_bytes()));
    }
    entries
}

/// upb's comparison of map keys: bytes of the common prefix, then the
/// longer key first.
fn python_order(a: &[u8], b: &[u8]) -> Ordering {
    let common = a.len().min(b.len());
    a[..common]
        .cmp(&b[..common])
        .then_with(|| b.len().cmp(&a.len()))
}

/// Length of a length-delimited field of `len` bytes, key included (all
/// field numbers here are below 16, so keys take one byte).
fn delimited(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

fn put_delimited_head(out: &mut Vec<u8>, field: u32, len: usize) {
    put_key(out, field, LEN);
    put_varint(out, len as u64);
}

impl sealed::Sealed for BytesList {}
impl Deterministic for BytesList {
    fn deterministic_len(&self) -> usize {
        self.value.iter().map(|v| delimited(v.len())).sum()
    }

    fn encode_deterministic(&self, out: &mut Vec<u8>, _: MapOrder) {
        for v in &self.value {
            put_delimited_head(out, 1, v.len());
            out.extend_from_slice(v);
        }
    }
}

impl sealed::Sealed for FloatList {}
impl Deterministic for FloatList {
    fn deterministic_len(&self) -> usize {
        match self.value.len() {
            0 => 0,
            n => delimited(4 * n),
        }
    }

    fn encode_deterministic(&self, out: &mut Vec<u8>, _: MapOrder) {
        if self.value.is_empty() {
            return;
        }
        put_delimited_head(out, 1, 4 * self.value.len());
        if cfg!(target_endian = "little") {
            out.extend_from_slice(bytemuck::cast_slice(&self.value));
        } else {
            for v in &self.value {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
}

impl sealed::Sealed for Int64List {}
impl Deterministic for Int64List {
    fn deterministic_len(&self) -> usize {
        match packed_varints_len(&self.value) {
            0 => 0,
            n => delimited(n),
        }
    }

    fn encode_deterministic(&self, out: &mut Vec<u8>, _: MapOrder) {
        if self.value.is_empty() {
            return;
        }
        put_delimited_head(out, 1, packed_varints_len(&self.value));
        for &v in &self.value {
            put_varint(out, v as u64);
        }
    }
}

fn packed_varints_len(values: &[i64]) -> usize {
    values.iter().map(|&v| varint_len(v as u64)).sum()
}

impl sealed::Sealed for Feature {}
impl Deterministic for Feature {
    fn deterministic_len(&self) -> usize {
        match &self.kind {
            None => 0,
            Some(Kind::BytesList(l)) => delimited(l.deterministic_len()),
            Some(Kind::FloatList(l)) => delimited(l.deterministic_len()),
            Some(Kind::Int64List(l)) => delimited(l.deterministic_len()),
        }
    }

    fn encode_deterministic(&self, out: &mut Vec<u8>, order: MapOrder) {
        match &self.kind {
            None => {}
            Some(Kind::BytesList(l)) => {
                put_delimited_head(out, 1, l.deterministic_len());
                l.encode_deterministic(out, order);
            }
            Some(Kind::FloatList(l)) => {
                put_delimited_head(out, 2, l.deterministic_len());
                l.encode_deterministic(out, order);
            }
            Some(Kind::Int64List(l)) => {
                put_delimited_head(out, 3, l.deterministic_len());
                l.encode_deterministic(out, order);
            }
        }
    }
}

/// A map entry: key (1) and value (2), both always written.
fn entry_len<V: Deterministic>(name: &str, value: &V) -> usize {
    delimited(name.len()) + delimited(value.deterministic_len())
}

fn put_entry<V: Deterministic>(out: &mut Vec<u8>, name: &str, value: &V, order: MapOrder) {
    put_delimited_head(out, 1, entry_len(name, value));
    put_delimited_head(out, 1, name.len());
    out.extend_from_slice(name.as_bytes());
    put_delimited_head(out, 2, value.deterministic_len());
    value.encode_deterministic(out, order);
}

impl sealed::Sealed for Features {}
impl Deterministic for Features {
    fn deterministic_len(&self) -> usize {
        // A BTreeMap<String, _> iterates in byte order of the names.
        self.feature
            .iter()
            .map(|(name, f)| delimited(entry_len(name, f)))
            .sum()
    }

    fn encode_deterministic(&self, out: &mut Vec<u8>, order: MapOrder) {
        for (name, f) in ordered(&self.feature, order) {
            put_entry(out, name, f, order);
        }
    }
}

impl sealed::Sealed for FeatureList {}
impl Deterministic for FeatureList {
    fn deterministic_len(&self) -> usize {
        self.feature
            .iter()
            .map(|f| delimited(f.deterministic_len()))
            .sum()
    }

    fn encode_deterministic(&self, out: &mut Vec<u8>, order: MapOrder) {
        for f in &self.feature {
            put_delimited_head(out, 1, f.deterministic_len());
            f.encode_deterministic(out, order);
        }
    }
}

impl sealed::Sealed for FeatureLists {}
impl Deterministic for FeatureLists {
    fn deterministic_len(&self) -> usize {
        self.feature_list
            .iter()
            .map(|(name, l)| delimited(entry_len(name, l)))
            .sum()
    }

    fn encode_deterministic(&self, out: &mut Vec<u8>, order: MapOrder) {
        for (name, l) in ordered(&self.feature_list, order) {
            put_entry(out, name, l, order);
        }
    }
}

impl sealed::Sealed for Example {}
impl Deterministic for Example {
    fn deterministic_len(&self) -> usize {
        self.features
            .as_ref()
            .map_or(0, |f| delimited(f.deterministic_len()))
    }

    fn encode_deterministic(&self, out: &mut Vec<u8>, order: MapOrder) {
        if let Some(f) = &self.features {
            put_delimited_head(out, 1, f.deterministic_len());
            f.encode_deterministic(out, order);
        }
    }
}

impl sealed::Sealed for SequenceExample {}
impl Deterministic for SequenceExample {
    fn deterministic_len(&self) -> usize {
        self.context
            .as_ref()
            .map_or(0, |f| delimited(f.deterministic_len()))
            + self
                .feature_lists
                .as_ref()
                .map_or(0, |l| delimited(l.deterministic_len()))
    }

    fn encode_deterministic(&self, out: &mut Vec<u8>, order: MapOrder) {
        if let Some(f) = &self.context {
            put_delimited_head(out, 1, f.deterministic_len());
            f.encode_deterministic(out, order);
        }
        if let Some(l) = &self.feature_lists {
            put_delimited_head(out, 2, l.deterministic_len());
            l.encode_deterministic(out, order);
        }
    }
}

impl Feature {
    /// A feature holding an `int64_list`.
    ///
    /// ```
    /// use tfrec::example::{Feature, FeatureKind};
    /// assert_eq!(FeatureKind::of(&Feature::int64_list([1, 2])), FeatureKind::Int64);
    /// ```
    pub fn int64_list(values: impl IntoIterator<Item = i64>) -> Feature {
        Feature {
            kind: Some(Kind::Int64List(Int64List {
                value: values.into_iter().collect(),
            })),
        }
    }

    /// A feature holding a `float_list`.
    pub fn float_list(values: impl IntoIterator<Item = f32>) -> Feature {
        Feature {
            kind: Some(Kind::FloatList(FloatList {
                value: values.into_iter().collect(),
            })),
        }
    }

    /// A feature holding a `bytes_list`.
    pub fn bytes_list<B: AsRef<[u8]>>(values: impl IntoIterator<Item = B>) -> Feature {
        Feature {
            kind: Some(Kind::BytesList(BytesList {
                value: values.into_iter().map(|v| v.as_ref().to_vec()).collect(),
            })),
        }
    }
}

impl Example {
    /// Adds (or replaces) feature `name` as an `int64_list`.
    ///
    /// ```
    /// use tfrec::example::Example;
    /// let ex = Example::default()
    ///     .int64("label", [3])
    ///     .float("weights", [0.25, 0.75])
    ///     .bytes("image", [b"\x89PNG...".as_slice()]);
    /// assert_eq!(ex.feature_names().collect::<Vec<_>>(), ["image", "label", "weights"]);
    /// ```
    pub fn int64(self, name: impl Into<String>, values: impl IntoIterator<Item = i64>) -> Self {
        self.with_feature(name, Feature::int64_list(values))
    }

    /// Adds (or replaces) feature `name` as a `float_list`.
    pub fn float(self, name: impl Into<String>, values: impl IntoIterator<Item = f32>) -> Self {
        self.with_feature(name, Feature::float_list(values))
    }

    /// Adds (or replaces) feature `name` as a `bytes_list`.
    pub fn bytes<B: AsRef<[u8]>>(
        self,
        name: impl Into<String>,
        values: impl IntoIterator<Item = B>,
    ) -> Self {
        self.with_feature(name, Feature::bytes_list(values))
    }

    /// Adds (or replaces) feature `name`.
    pub fn with_feature(mut self, name: impl Into<String>, feature: Feature) -> Self {
        self.features
            .get_or_insert_with(Features::default)
            .feature
            .insert(name.into(), feature);
        self
    }

    /// The feature called `name`.
    pub fn get(&self, name: &str) -> Option<&Feature> {
        self.features.as_ref()?.feature.get(name)
    }

    /// The feature names, sorted.
    pub fn feature_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.features
            .iter()
            .flat_map(|f| f.feature.keys().map(String::as_str))
    }

    /// Serializes deterministically; see [`encode`].
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }
}

impl SequenceExample {
    /// Adds (or replaces) context feature `name`.
    pub fn context_feature(mut self, name: impl Into<String>, feature: Feature) -> Self {
        self.context
            .get_or_insert_with(Features::default)
            .feature
            .insert(name.into(), feature);
        self
    }

    /// Adds (or replaces) the feature list `name`, one feature per step.
    ///
    /// ```
    /// use tfrec::example::{Feature, SequenceExample};
    /// let seq = SequenceExample::default()
    ///     .context_feature("id", Feature::bytes_list(["clip-7"]))
    ///     .feature_list("frames", [Feature::float_list([0.1, 0.2]), Feature::float_list([0.3, 0.4])]);
    /// assert_eq!(seq.feature_lists.unwrap().feature_list["frames"].feature.len(), 2);
    /// ```
    pub fn feature_list(
        mut self,
        name: impl Into<String>,
        features: impl IntoIterator<Item = Feature>,
    ) -> Self {
        self.feature_lists
            .get_or_insert_with(FeatureLists::default)
            .feature_list
            .insert(
                name.into(),
                FeatureList {
                    feature: features.into_iter().collect(),
                },
            );
        self
    }

    /// Serializes deterministically; see [`encode`].
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn known_bytes_from_tensorflow() {
        // tf.train.Example(features=tf.train.Features(feature={
        //   '': Feature(), 'b': Feature(float_list=FloatList()),
        //   'a': Feature(int64_list=Int64List(value=[1, -1]))}))
        // .SerializeToString(deterministic=True): with the pure-Python
        // backend (C++ order) '' comes first, with the default one last.
        let ex = Example::default()
            .with_feature("", Feature::default())
            .float("b", [])
            .int64("a", [1, -1]);
        assert_eq!(
            hex(&encode_with(&ex, MapOrder::Cpp)),
            "0a25\
             0a040a001200\
             0a140a0161120f1a0d0a0b01ffffffffffffffffff01\
             0a070a016212021200"
        );
        assert_eq!(
            hex(&encode(&ex)),
            "0a25\
             0a140a0161120f1a0d0a0b01ffffffffffffffffff01\
             0a070a016212021200\
             0a040a001200"
        );
        // FloatList(value=[nan, -0.0, inf])
        let floats = FloatList {
            value: vec![f32::NAN, -0.0, f32::INFINITY],
        };
        assert_eq!(hex(&encode(&floats)), "0a0c0000c07f000000800000807f");
        assert!(encode(&Example::default()).is_empty());
        assert_eq!(
            encode(&Example {
                features: Some(Features::default())
            }),
            [0x0a, 0x00]
        );
    }

    #[test]
    fn lengths_are_exact() {
        let ex = Example::default()
            .bytes("big", [vec![7u8; 300]])
            .int64("ints", [i64::MIN, -1, 0, 1, i64::MAX])
            .float("f", (0..40).map(|i| i as f32));
        let seq = SequenceExample::default()
            .context_feature("c", Feature::default())
            .feature_list("l", [Feature::int64_list([]), Feature::default()])
            .feature_list("empty", []);
        for (len, bytes) in [
            (ex.deterministic_len(), encode(&ex)),
            (seq.deterministic_len(), encode(&seq)),
        ] {
            assert_eq!(len, bytes.len());
        }
    }

    #[test]
    fn names_sort_in_either_order() {
        let ex = Example::default()
            .int64("ab", [])
            .int64("b", [])
            .int64("", [])
            .int64("a", [])
            .int64("\u{e9}", [])
            .int64("Z", []);
        let names = |order| -> Vec<String> {
            let bytes = encode_with(&ex, order);
            let view = super::super::ExampleView::parse(&bytes).unwrap();
            view.iter().map(|(n, _)| n.to_string()).collect()
        };
        assert_eq!(names(MapOrder::Cpp), ["", "Z", "a", "ab", "b", "\u{e9}"]);
        assert_eq!(names(MapOrder::Python), ["Z", "ab", "a", "b", "\u{e9}", ""]);
    }
}
