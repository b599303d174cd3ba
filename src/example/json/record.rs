//! [`JsonRecord`]: any record read from a JSON line, its kind told by its
//! keys, and turned back into a payload.
//!
//! Knows the keys of each kind and the encoders; knows nothing of how
//! lines are printed, of files, threads or TFRecord framing.

use serde_json::Value;

use super::read::{example_from_json, object, raw_from_json, sequence_example_from_json};
use crate::error::{Error, Result};
use crate::example::detect::RecordKind;
use crate::example::owned::{encode_with, MapOrder};
use crate::proto::messages::{Example, SequenceExample};
use crate::tensor::Tensor;

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
    /// it, the examples as [`encode`](crate::example::encode) does, raw bytes as they are.
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
    use crate::error::ErrorKind;
    use crate::example::json::read::float_value;
    use crate::example::json::write::{line_of, write_float};
    use crate::example::owned::encode;
    use crate::proto::messages::Feature;
    use serde_json::json;

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
            &crate::tensor::Tensor::from_slice(&[1u16, 2], &[2])
                .unwrap()
                .to_proto_bytes(),
        );
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
