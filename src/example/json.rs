//! The JSON form of `Example`, `SequenceExample` and raw records, as
//! `tfrec cat` prints them and `tfrec pack` reads them.
//!
//! ```text
//! {"features": {"label": {"int64_list": [1]},
//!               "score": {"float_list": [0.5, "nan", "-inf"]},
//!               "id":    {"bytes_list": ["aW1nLTc="]},
//!               "none":  {}}}
//! {"context": {"length": {"int64_list": [2]}},
//!  "feature_lists": {"tokens": [{"int64_list": [5, 6]}, {"int64_list": [7]}]}}
//! {"raw": "iVBORw0KGgo="}
//! ```
//!
//! - An `Example` is `{"features": {name: feature, ...}}`.
//! - A feature is `{"int64_list": [...]}`, `{"float_list": [...]}`,
//!   `{"bytes_list": [...]}`, or `{}` when no kind is set.
//! - Integers are JSON integers, exact over the whole `int64` range.
//! - Floats are printed in the shortest form that reads back as the same
//!   `f32` (`0.1`, `1e-7`, `-0.0`) through a reader that parses the nearest
//!   `f64` and rounds it to `f32`, as this module, Python and TensorFlow
//!   do (for a few values that is the `f64` form: `7.038531e-26` prints as
//!   `7.038530691851209e-26`); NaN and the infinities are the strings
//!   `"nan"`, `"inf"` and `"-inf"` (every NaN prints as `"nan"` and reads
//!   back as the canonical quiet NaN, `0x7fc00000`).
//! - Byte strings are standard, padded base64.
//! - A `SequenceExample` is `{"context": features, "feature_lists":
//!   {name: [feature, ...], ...}}`; a part the message does not have is
//!   left out, so that reading the JSON back gives the same bytes.
//! - Records that are neither tensors nor examples are `{"raw": base64}`.
//!
//! Writers print names in the order the payload has them; readers accept
//! keys in any order, and ignore keys they do not know at the top level
//! (such as `"file"`, `"index"` and `"offset"`). Within a feature, unknown
//! keys are errors. An `Example` whose `features` field is absent prints
//! as `{"features": {}}` and reads back with an empty `features` (two
//! bytes, `0a 00`, where the original had none): the only case in which a
//! round trip changes bytes, and one [`RecordKind::detect`] never gives
//! (it calls the empty payload raw). [`example_from_json`] reads an object
//! without `"features"` as that featureless `Example`, but
//! [`JsonRecord::from_json`], which must tell kinds apart by their keys,
//! does not.

use std::io::{self, Write};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{Map, Value};

use super::detect::{detect_parsed, Detected};
use super::view::{FeatureKind, FeatureListView, FeatureView, FeaturesView};
use super::{encode_with, MapOrder, RecordKind, SequenceExample, SequenceExampleView};
use super::{Example, ExampleView, Feature, FeatureList, FeatureLists, Features};
use crate::error::{Error, Result};
use crate::json::{kind as json_kind, write_base64};
use crate::tensor::Tensor;

fn write_head<W: Write + ?Sized>(
    out: &mut W,
    file: &str,
    index: u64,
    offset: u64,
) -> io::Result<()> {
    out.write_all(b"{\"file\":")?;
    serde_json::to_writer(&mut *out, file)?;
    write!(out, ",\"index\":{index},\"offset\":{offset}")
}

fn write_float<W: Write + ?Sized>(out: &mut W, v: f32) -> io::Result<()> {
    if v.is_nan() {
        out.write_all(b"\"nan\"")
    } else if v.is_infinite() {
        out.write_all(if v > 0.0 { b"\"inf\"" } else { b"\"-inf\"" })
    } else {
        // `Debug` is the shortest representation that reads back as `v`
        // when read as an `f32`, always with a `.` or an exponent (so
        // `-0.0` keeps its sign). JSON readers, ours included, read a
        // number as the nearest `f64` and round that to `f32`, and for a
        // few values the two roundings land on a neighbour (`7.038531e-26`
        // is one): those are printed as the `f64` equal to `v` instead.
        let mut buf = [0u8; 64];
        let mut cursor = io::Cursor::new(&mut buf[..]);
        write!(cursor, "{v:?}")?;
        let len = cursor.position() as usize;
        let text = buf.get(..len).unwrap_or_default();
        let reads_back = std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
            .is_some_and(|wide| (wide as f32).to_bits() == v.to_bits());
        if reads_back {
            out.write_all(text)
        } else {
            write!(out, "{:?}", f64::from(v))
        }
    }
}

fn write_feature<W: Write + ?Sized>(out: &mut W, feature: FeatureView<'_>) -> io::Result<()> {
    if feature.kind() == FeatureKind::None {
        return out.write_all(b"{}");
    }
    write!(out, "{{\"{}\":[", feature.kind().name())?;
    if let Some(values) = feature.bytes_list() {
        for (i, v) in values.enumerate() {
            out.write_all(if i > 0 { b",\"" } else { b"\"" })?;
            write_base64(out, v)?;
            out.write_all(b"\"")?;
        }
    } else if let Some(values) = feature.float_list() {
        for (i, v) in values.enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            write_float(out, v)?;
        }
    } else if let Some(values) = feature.int64_list() {
        for (i, v) in values.enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            write!(out, "{v}")?;
        }
    }
    out.write_all(b"]}")
}

fn write_features<W: Write + ?Sized>(out: &mut W, features: &FeaturesView<'_>) -> io::Result<()> {
    out.write_all(b"{")?;
    for (i, (name, feature)) in features.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, name)?;
        out.write_all(b":")?;
        write_feature(out, feature)?;
    }
    out.write_all(b"}")
}

fn write_feature_list<W: Write + ?Sized>(out: &mut W, list: FeatureListView<'_>) -> io::Result<()> {
    out.write_all(b"[")?;
    for (i, feature) in list.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write_feature(out, feature)?;
    }
    out.write_all(b"]")
}

/// Writes an `Example` as one line of JSON: `file`, `index`, `offset`,
/// then `features`, ending with `\n`. Like
/// [`crate::json::write_record_json`], it writes in small pieces: give it
/// a buffered writer.
///
/// ```
/// use tfrec::example::{self, json, Example, ExampleView};
///
/// let payload = example::encode(&Example::default().int64("n", [1, -2]).float("x", [0.1, f32::NAN]));
/// let mut line = Vec::new();
/// json::write_example_json(&mut line, "a.tfrecord", 0, 0, &ExampleView::parse(&payload)?)?;
/// assert_eq!(
///     String::from_utf8(line)?,
///     "{\"file\":\"a.tfrecord\",\"index\":0,\"offset\":0,\
///      \"features\":{\"n\":{\"int64_list\":[1,-2]},\"x\":{\"float_list\":[0.1,\"nan\"]}}}\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_example_json<W: Write + ?Sized>(
    out: &mut W,
    file: &str,
    index: u64,
    offset: u64,
    example: &ExampleView<'_>,
) -> io::Result<()> {
    write_head(out, file, index, offset)?;
    out.write_all(b",\"features\":")?;
    write_features(out, example.features())?;
    out.write_all(b"}\n")
}

/// Writes a `SequenceExample` as one line of JSON: `file`, `index`,
/// `offset`, then `context` and `feature_lists` (each only if the message
/// has it), ending with `\n`.
///
/// ```
/// use tfrec::example::{self, json, Feature, SequenceExample, SequenceExampleView};
///
/// let seq = SequenceExample::default()
///     .feature_list("t", [Feature::int64_list([5]), Feature::default()]);
/// let payload = example::encode(&seq);
/// let mut line = Vec::new();
/// json::write_sequence_example_json(&mut line, "s", 1, 9, &SequenceExampleView::parse(&payload)?)?;
/// assert_eq!(
///     String::from_utf8(line)?,
///     "{\"file\":\"s\",\"index\":1,\"offset\":9,\"feature_lists\":{\"t\":[{\"int64_list\":[5]},{}]}}\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_sequence_example_json<W: Write + ?Sized>(
    out: &mut W,
    file: &str,
    index: u64,
    offset: u64,
    example: &SequenceExampleView<'_>,
) -> io::Result<()> {
    write_head(out, file, index, offset)?;
    if example.has_context() {
        out.write_all(b",\"context\":")?;
        write_features(out, example.context())?;
    }
    if example.has_feature_lists() {
        out.write_all(b",\"feature_lists\":{")?;
        for (i, (name, list)) in example.feature_lists().iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            serde_json::to_writer(&mut *out, name)?;
            out.write_all(b":")?;
            write_feature_list(out, list)?;
        }
        out.write_all(b"}")?;
    }
    out.write_all(b"}\n")
}

/// Writes an opaque record as one line of JSON: `file`, `index`, `offset`,
/// then `raw`, the payload in base64, ending with `\n`.
///
/// ```
/// use tfrec::example::json;
/// let mut line = Vec::new();
/// json::write_raw_json(&mut line, "r", 2, 32, b"hi")?;
/// assert_eq!(line, b"{\"file\":\"r\",\"index\":2,\"offset\":32,\"raw\":\"aGk=\"}\n");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_raw_json<W: Write + ?Sized>(
    out: &mut W,
    file: &str,
    index: u64,
    offset: u64,
    payload: &[u8],
) -> io::Result<()> {
    write_head(out, file, index, offset)?;
    out.write_all(b",\"raw\":\"")?;
    write_base64(out, payload)?;
    out.write_all(b"\"}\n")
}

/// Detects what `payload` holds ([`RecordKind::detect`]) and writes it as
/// one line of JSON in the matching form: a tensor as
/// [`crate::json::write_record_json`] does, an example, a sequence
/// example, or raw bytes. Returns the kind written.
///
/// ```
/// use tfrec::example::{self, json, Example, RecordKind};
/// use tfrec::Tensor;
///
/// let mut out = Vec::new();
/// let tensor = Tensor::scalar(7u8).to_proto_bytes();
/// let ex = example::encode(&Example::default().bytes("b", ["x"]));
/// assert_eq!(json::write_detected_json(&mut out, "f", 0, 0, &tensor)?, RecordKind::Tensor);
/// assert_eq!(json::write_detected_json(&mut out, "f", 1, 0, &ex)?, RecordKind::Example);
/// assert_eq!(json::write_detected_json(&mut out, "f", 2, 0, b"?")?, RecordKind::Raw);
/// let lines: Vec<&str> = std::str::from_utf8(&out)?.lines().collect();
/// assert!(lines[1].ends_with("\"features\":{\"b\":{\"bytes_list\":[\"eA==\"]}}}"));
/// assert!(lines[2].ends_with("\"raw\":\"Pw==\"}"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_detected_json<W: Write + ?Sized>(
    out: &mut W,
    file: &str,
    index: u64,
    offset: u64,
    payload: &[u8],
) -> io::Result<RecordKind> {
    let detected = detect_parsed(payload);
    match &detected {
        Detected::Tensor(t) => crate::json::write_record_json(out, file, index, offset, t)?,
        Detected::Example(ex) => write_example_json(out, file, index, offset, ex)?,
        Detected::SequenceExample(seq) => {
            write_sequence_example_json(out, file, index, offset, seq)?
        }
        Detected::Raw => write_raw_json(out, file, index, offset, payload)?,
    }
    Ok(detected.kind())
}

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

fn invalid(place: &str, what: impl std::fmt::Display) -> Error {
    Error::invalid_input(format!("{place}: {what}"))
}

fn int64_value(value: &Value, place: &str, i: usize) -> Result<i64> {
    match value {
        Value::Number(n) => n.as_i64().ok_or_else(|| {
            let why = if n.is_u64() {
                "out of int64 range"
            } else {
                "not an integer"
            };
            invalid(place, format_args!("int64_list value {i} ({n}) is {why}"))
        }),
        other => Err(invalid(
            place,
            format_args!(
                "int64_list value {i} is {}, not an integer",
                json_kind(other)
            ),
        )),
    }
}

fn float_value(value: &Value, place: &str, i: usize) -> Result<f32> {
    match value {
        Value::Number(n) => {
            let wide = n.as_f64().unwrap_or(f64::NAN);
            let v = wide as f32;
            if v.is_infinite() || wide.is_nan() {
                return Err(invalid(
                    place,
                    format_args!("float_list value {i} ({n}) is out of float32 range"),
                ));
            }
            Ok(v)
        }
        Value::String(s) => match s.as_str() {
            "nan" => Ok(f32::NAN),
            "inf" => Ok(f32::INFINITY),
            "-inf" => Ok(f32::NEG_INFINITY),
            _ => Err(invalid(
                place,
                format_args!(
                    "float_list value {i} is the string {s:?}; only \"nan\", \"inf\" and \"-inf\" are"
                ),
            )),
        },
        other => Err(invalid(
            place,
            format_args!("float_list value {i} is {}, not a number", json_kind(other)),
        )),
    }
}

fn bytes_value(value: &Value, place: &str, i: usize) -> Result<Vec<u8>> {
    match value {
        Value::String(s) => STANDARD.decode(s).map_err(|e| {
            invalid(
                place,
                format_args!("bytes_list value {i}: invalid base64: {e}"),
            )
        }),
        other => Err(invalid(
            place,
            format_args!(
                "bytes_list value {i} is {}, not a base64 string",
                json_kind(other)
            ),
        )),
    }
}

/// A feature from its JSON object; `place` names it in errors.
fn feature_from_json(value: &Value, place: &str) -> Result<Feature> {
    let Value::Object(object) = value else {
        return Err(invalid(
            place,
            format_args!("is {}, not an object", json_kind(value)),
        ));
    };
    let mut entries = object.iter();
    let (Some((key, list)), None) = (entries.next(), entries.next()) else {
        if object.is_empty() {
            return Ok(Feature::default());
        }
        return Err(invalid(
            place,
            "has more than one key; a feature is one of int64_list, float_list, bytes_list",
        ));
    };
    let Value::Array(items) = list else {
        return Err(invalid(
            place,
            format_args!("{key:?} is {}, not a list", json_kind(list)),
        ));
    };
    match key.as_str() {
        "int64_list" => {
            let values = items
                .iter()
                .enumerate()
                .map(|(i, v)| int64_value(v, place, i))
                .collect::<Result<Vec<_>>>()?;
            Ok(Feature::int64_list(values))
        }
        "float_list" => {
            let values = items
                .iter()
                .enumerate()
                .map(|(i, v)| float_value(v, place, i))
                .collect::<Result<Vec<_>>>()?;
            Ok(Feature::float_list(values))
        }
        "bytes_list" => {
            let values = items
                .iter()
                .enumerate()
                .map(|(i, v)| bytes_value(v, place, i))
                .collect::<Result<Vec<_>>>()?;
            Ok(Feature {
                kind: Some(super::Kind::BytesList(super::BytesList { value: values })),
            })
        }
        other => Err(invalid(
            place,
            format_args!(
                "unknown key {other:?}; a feature is one of int64_list, float_list, bytes_list"
            ),
        )),
    }
}

fn features_from_json(value: &Value, what: &str) -> Result<Features> {
    let Value::Object(object) = value else {
        return Err(Error::invalid_input(format!(
            "{what:?} is {}, not an object",
            json_kind(value)
        )));
    };
    let mut feature = std::collections::BTreeMap::new();
    for (name, f) in object {
        let place = format!("feature {name:?}");
        feature.insert(name.clone(), feature_from_json(f, &place)?);
    }
    Ok(Features { feature })
}

fn object<'v>(value: &'v Value, what: &str) -> Result<&'v Map<String, Value>> {
    match value {
        Value::Object(object) => Ok(object),
        other => Err(Error::invalid_input(format!(
            "{what} JSON is {}, not an object",
            json_kind(other)
        ))),
    }
}

/// An `Example` from its JSON object (see the [module docs](self)).
/// Without a `"features"` key the message has no features field (the
/// empty payload); other keys are ignored. Errors name the feature at
/// fault.
///
/// ```
/// use tfrec::example::{json, Example};
///
/// let value = serde_json::json!({
///     "file": "x.tfrecord", "index": 3, "offset": 0,
///     "features": {"y": {"float_list": [1.5, "-inf"]}, "n": {"int64_list": [-9]}}
/// });
/// let ex = json::example_from_json(&value)?;
/// assert_eq!(ex, Example::default().float("y", [1.5, f32::NEG_INFINITY]).int64("n", [-9]));
///
/// let bad = serde_json::json!({"features": {"n": {"int64_list": [1.5]}}});
/// let err = json::example_from_json(&bad).unwrap_err();
/// assert!(err.to_string().contains("feature \"n\": int64_list value 0 (1.5) is not an integer"));
/// # Ok::<(), tfrec::Error>(())
/// ```
pub fn example_from_json(value: &Value) -> Result<Example> {
    let features = object(value, "Example")?
        .get("features")
        .map(|f| features_from_json(f, "features"))
        .transpose()?;
    Ok(Example { features })
}

/// A `SequenceExample` from its JSON object (see the [module docs](self)):
/// `"context"` and `"feature_lists"` are each optional, the message
/// lacking that part when the key is absent. Other keys are ignored.
///
/// ```
/// use tfrec::example::{json, Feature, SequenceExample};
///
/// let value = serde_json::json!({"feature_lists": {"t": [{"bytes_list": ["YQ=="]}, {}]}});
/// let seq = json::sequence_example_from_json(&value)?;
/// assert_eq!(seq, SequenceExample::default().feature_list("t", [Feature::bytes_list(["a"]), Feature::default()]));
/// # Ok::<(), tfrec::Error>(())
/// ```
pub fn sequence_example_from_json(value: &Value) -> Result<SequenceExample> {
    let object = object(value, "SequenceExample")?;
    let context = object
        .get("context")
        .map(|c| features_from_json(c, "context"))
        .transpose()?;
    let feature_lists = match object.get("feature_lists") {
        None => None,
        Some(Value::Object(lists)) => {
            let mut feature_list = std::collections::BTreeMap::new();
            for (name, steps) in lists {
                let Value::Array(steps) = steps else {
                    return Err(Error::invalid_input(format!(
                        "feature list {name:?} is {}, not a list",
                        json_kind(steps)
                    )));
                };
                let feature = steps
                    .iter()
                    .enumerate()
                    .map(|(i, f)| feature_from_json(f, &format!("feature list {name:?} step {i}")))
                    .collect::<Result<Vec<_>>>()?;
                feature_list.insert(name.clone(), FeatureList { feature });
            }
            Some(FeatureLists { feature_list })
        }
        Some(other) => {
            return Err(Error::invalid_input(format!(
                "\"feature_lists\" is {}, not an object",
                json_kind(other)
            )))
        }
    };
    Ok(SequenceExample {
        context,
        feature_lists,
    })
}

/// The payload of a raw record, `{"raw": base64}`. Other keys are ignored.
pub fn raw_from_json(value: &Value) -> Result<Vec<u8>> {
    match object(value, "raw record")?.get("raw") {
        Some(Value::String(s)) => STANDARD
            .decode(s)
            .map_err(|e| Error::invalid_input(format!("invalid base64 in \"raw\": {e}"))),
        Some(other) => Err(Error::invalid_input(format!(
            "\"raw\" is {}, not a base64 string",
            json_kind(other)
        ))),
        None => Err(Error::invalid_input("raw record JSON has no \"raw\"")),
    }
}

/// Any record read from JSON: what one line of `tfrec cat` output holds.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonRecord {
    /// A tensor (`"dtype"`, see [`crate::json`]).
    Tensor(Tensor),
    /// An `Example` (`"features"`).
    Example(Example),
    /// A `SequenceExample` (`"context"` and/or `"feature_lists"`).
    SequenceExample(SequenceExample),
    /// Opaque bytes (`"raw"`).
    Raw(Vec<u8>),
}

impl JsonRecord {
    /// Reads a record, its kind told by its keys: `"dtype"` a tensor,
    /// `"features"` an `Example`, `"context"` or `"feature_lists"` a
    /// `SequenceExample`, `"raw"` raw bytes. Keys of two kinds, or of
    /// none, are an error.
    ///
    /// ```
    /// use tfrec::example::json::JsonRecord;
    /// use tfrec::example::{self, Example};
    ///
    /// let line = r#"{"file": "a", "index": 0, "offset": 0, "features": {"k": {"int64_list": [1]}}}"#;
    /// let record = JsonRecord::from_json_line(line)?;
    /// assert_eq!(record, JsonRecord::Example(Example::default().int64("k", [1])));
    /// assert_eq!(record.to_payload(), example::encode(&Example::default().int64("k", [1])));
    /// assert!(JsonRecord::from_json_line(r#"{"feature": {}}"#).is_err());
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn from_json(value: &Value) -> Result<JsonRecord> {
        let object = object(value, "record")?;
        let has = |k: &str| object.contains_key(k);
        let kinds = [
            (has("dtype"), RecordKind::Tensor),
            (has("features"), RecordKind::Example),
            (
                has("context") || has("feature_lists"),
                RecordKind::SequenceExample,
            ),
            (has("raw"), RecordKind::Raw),
        ];
        let mut found = kinds
            .iter()
            .filter(|(present, _)| *present)
            .map(|(_, k)| *k);
        match (found.next(), found.next()) {
            (Some(RecordKind::Tensor), None) => {
                crate::json::tensor_from_json(value).map(JsonRecord::Tensor)
            }
            (Some(RecordKind::Example), None) => example_from_json(value).map(JsonRecord::Example),
            (Some(RecordKind::SequenceExample), None) => {
                sequence_example_from_json(value).map(JsonRecord::SequenceExample)
            }
            (Some(RecordKind::Raw), None) => raw_from_json(value).map(JsonRecord::Raw),
            (Some(a), Some(b)) => Err(Error::invalid_input(format!(
                "record JSON has keys of both a {} and a {} record",
                a.name(),
                b.name()
            ))),
            (None, _) => Err(Error::invalid_input(
                "record JSON has none of \"dtype\", \"features\", \"context\", \
                 \"feature_lists\" or \"raw\"",
            )),
        }
    }

    /// Parses one line of JSON; see [`from_json`](JsonRecord::from_json).
    pub fn from_json_line(line: &str) -> Result<JsonRecord> {
        let value: Value = serde_json::from_str(line)
            .map_err(|e| Error::invalid_input(format!("invalid JSON: {e}")))?;
        JsonRecord::from_json(&value)
    }

    /// The record's kind.
    pub fn kind(&self) -> RecordKind {
        match self {
            JsonRecord::Tensor(_) => RecordKind::Tensor,
            JsonRecord::Example(_) => RecordKind::Example,
            JsonRecord::SequenceExample(_) => RecordKind::SequenceExample,
            JsonRecord::Raw(_) => RecordKind::Raw,
        }
    }

    /// The record payload: the tensor as `tf.io.serialize_tensor` writes
    /// it, the examples as [`encode`](super::encode) does, raw bytes as they are.
    pub fn to_payload(&self) -> Vec<u8> {
        self.to_payload_with(MapOrder::default())
    }

    /// [`to_payload`](Self::to_payload) with the examples' feature names in
    /// `order`.
    pub fn to_payload_with(&self, order: MapOrder) -> Vec<u8> {
        match self {
            JsonRecord::Tensor(t) => t.to_proto_bytes(),
            JsonRecord::Example(ex) => encode_with(ex, order),
            JsonRecord::SequenceExample(seq) => encode_with(seq, order),
            JsonRecord::Raw(bytes) => bytes.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example::encode;
    use crate::ErrorKind;
    use serde_json::json;

    fn line_of(payload: &[u8]) -> String {
        let mut out = Vec::new();
        write_detected_json(&mut out, "f", 0, 0, payload).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn round_trip(payload: &[u8]) {
        let line = line_of(payload);
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        let record = JsonRecord::from_json_line(&line).unwrap();
        assert_eq!(record.to_payload(), payload, "{line}");
    }

    fn reason(value: Value) -> String {
        match JsonRecord::from_json(&value) {
            Ok(r) => panic!("expected an error for {value}, got {r:?}"),
            Err(e) => match e.kind() {
                ErrorKind::InvalidInput { reason } => reason.clone(),
                other => panic!("unexpected kind {other:?}"),
            },
        }
    }

    #[test]
    fn every_record_kind_round_trips_byte_for_byte() {
        let ex = Example::default()
            .int64("i", [i64::MIN, -1, 0, i64::MAX])
            .float(
                "f",
                [
                    0.1,
                    -0.0,
                    1e-45,
                    f32::MAX,
                    f32::INFINITY,
                    f32::NEG_INFINITY,
                    f32::NAN,
                ],
            )
            .bytes("b", [&b""[..], b"\0\xff", b"abc"])
            .with_feature("none", Feature::default())
            .float("empty", [])
            .with_feature("\u{1F600} \"q\"\n", Feature::int64_list([1]));
        round_trip(&encode(&ex));
        round_trip(&[0x0a, 0x00]);
        let seq = SequenceExample::default()
            .context_feature("c", Feature::bytes_list(["x"]))
            .feature_list("a", [Feature::float_list([1.0]), Feature::default()])
            .feature_list("empty", []);
        round_trip(&encode(&seq));
        round_trip(&encode(
            &SequenceExample::default().feature_list("only", [Feature::default()]),
        ));
        round_trip(b"");
        round_trip(b"not a message");
        round_trip(
            &crate::Tensor::from_slice(&[1u16, 2], &[2])
                .unwrap()
                .to_proto_bytes(),
        );
    }

    #[test]
    fn known_lines() {
        let ex = Example::default()
            .float(
                "f",
                [1.0, 0.1, 1e-7, 3e38, -0.0, f32::NAN, f32::NEG_INFINITY],
            )
            .int64("i", [5])
            .bytes("b", ["hi"])
            .with_feature("n", Feature::default());
        assert_eq!(
            line_of(&encode(&ex)),
            "{\"file\":\"f\",\"index\":0,\"offset\":0,\"features\":{\
             \"b\":{\"bytes_list\":[\"aGk=\"]},\
             \"f\":{\"float_list\":[1.0,0.1,1e-7,3e38,-0.0,\"nan\",\"-inf\"]},\
             \"i\":{\"int64_list\":[5]},\"n\":{}}}\n"
        );
        let seq = SequenceExample::default().context_feature("c", Feature::default());
        // Context only: the bytes are an Example's, and detect as one.
        assert_eq!(
            line_of(&encode(&seq)),
            "{\"file\":\"f\",\"index\":0,\"offset\":0,\"features\":{\"c\":{}}}\n"
        );
    }

    #[test]
    fn floats_that_double_rounding_would_change_print_as_f64() {
        let v = f32::from_bits(363_742_205);
        assert_eq!(format!("{v:?}"), "7.038531e-26");
        let wide: f64 = "7.038531e-26".parse().unwrap();
        assert_ne!((wide as f32).to_bits(), v.to_bits());
        let mut text = Vec::new();
        write_float(&mut text, v).unwrap();
        assert_eq!(text, b"7.038530691851209e-26");
    }

    #[test]
    fn keys_in_any_order_and_floats_as_integers() {
        let value = json!({
            "features": {"b": {"float_list": [1, -2, 3.5, "nan", "inf"]}, "a": {}},
            "offset": 5, "file": "x"
        });
        let ex = example_from_json(&value).unwrap();
        let f = ex.get("b").unwrap();
        let Some(super::super::Kind::FloatList(list)) = &f.kind else {
            panic!()
        };
        assert_eq!(list.value[..3], [1.0, -2.0, 3.5]);
        assert!(list.value[3].is_nan() && list.value[4] == f32::INFINITY);
        assert_eq!(ex.get("a"), Some(&Feature::default()));
    }

    #[test]
    fn sequence_parts_absent_stay_absent() {
        let seq = sequence_example_from_json(&json!({"context": {}})).unwrap();
        assert_eq!(seq.context, Some(Features::default()));
        assert_eq!(seq.feature_lists, None);
        let seq = sequence_example_from_json(&json!({})).unwrap();
        assert_eq!(seq, SequenceExample::default());
    }

    #[test]
    fn bad_inputs_name_the_feature() {
        let cases = [
            (json!([]), "not an object"),
            (json!({"index": 1}), "none of"),
            (
                json!({"features": {}, "raw": ""}),
                "both a example and a raw",
            ),
            (json!({"features": []}), "not an object"),
            (json!({"features": {"x": 1}}), "feature \"x\": is a number"),
            (
                json!({"features": {"x": {"int64_list": [1], "float_list": []}}}),
                "more than one key",
            ),
            (
                json!({"features": {"x": {"int_list": []}}}),
                "unknown key \"int_list\"",
            ),
            (json!({"features": {"x": {"int64_list": 1}}}), "not a list"),
            (
                json!({"features": {"x": {"int64_list": [1.0]}}}),
                "value 0 (1.0) is not an integer",
            ),
            (
                json!({"features": {"x": {"int64_list": [9223372036854775808u64]}}}),
                "out of int64 range",
            ),
            (
                json!({"features": {"x": {"int64_list": ["1"]}}}),
                "is a string, not an integer",
            ),
            (
                json!({"features": {"x": {"float_list": [1e39]}}}),
                "out of float32 range",
            ),
            (
                json!({"features": {"x": {"float_list": ["NaN"]}}}),
                "the string \"NaN\"",
            ),
            (
                json!({"features": {"x": {"float_list": [null]}}}),
                "null, not a number",
            ),
            (
                json!({"features": {"x": {"bytes_list": ["*"]}}}),
                "invalid base64",
            ),
            (
                json!({"features": {"x": {"bytes_list": [[]]}}}),
                "not a base64 string",
            ),
            (
                json!({"feature_lists": {"s": {}}}),
                "feature list \"s\" is an object",
            ),
            (
                json!({"feature_lists": {"s": [{}, {"x": []}]}}),
                "feature list \"s\" step 1: unknown key",
            ),
            (json!({"feature_lists": []}), "\"feature_lists\" is a list"),
            (
                json!({"context": {"c": {"bytes_list": [1]}}}),
                "feature \"c\": bytes_list value 0",
            ),
            (json!({"raw": 1}), "not a base64 string"),
            (json!({"raw": "!"}), "invalid base64"),
            (json!({"dtype": "uint8", "shape": [1]}), "needs \"data\""),
        ];
        for (value, why) in cases {
            let text = value.to_string();
            let got = reason(value);
            assert!(got.contains(why), "{text}: {got}");
        }
        assert!(JsonRecord::from_json_line("{").is_err());
    }

    #[test]
    fn floats_read_back_exactly() {
        // A spread of bit patterns through every exponent, and the edges.
        let mut bits: Vec<u32> = (0..=u32::MAX).step_by(65_521).collect();
        // Shortest f32 forms that an f64 reader rounds to a neighbour.
        bits.extend([363_742_205, 2_511_225_853]);
        bits.extend([
            0,
            1,
            0x7f7f_ffff,
            0x0080_0000,
            0x007f_ffff,
            0x8000_0001,
            0x3dcc_cccd,
        ]);
        for b in bits {
            let v = f32::from_bits(b);
            if !v.is_finite() {
                continue;
            }
            let mut text = Vec::new();
            write_float(&mut text, v).unwrap();
            let value: Value = serde_json::from_slice(&text).unwrap();
            let back = float_value(&value, "x", 0).unwrap();
            assert_eq!(back.to_bits(), b, "{}", String::from_utf8_lossy(&text));
        }
    }

    /// Every finite `f32` (a few minutes in release mode:
    /// `cargo test --release --lib every_float -- --ignored`).
    #[test]
    #[ignore]
    fn every_float_reads_back_exactly() {
        use rayon::prelude::*;
        (0..=u32::MAX)
            .into_par_iter()
            .for_each_init(Vec::new, |text, b| {
                let v = f32::from_bits(b);
                if v.is_finite() {
                    text.clear();
                    write_float(text, v).unwrap();
                    let value: Value = serde_json::from_slice(text).unwrap();
                    let back = float_value(&value, "x", 0).unwrap();
                    assert_eq!(back.to_bits(), b, "{}", String::from_utf8_lossy(text));
                }
            });
    }
}
