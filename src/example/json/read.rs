//! Reading owned messages from their JSON form: an [`Example`], a
//! [`SequenceExample`] or a raw payload from a JSON value, in the form the
//! [module docs](super) describe. Errors name the feature at fault.
//!
//! Knows the JSON form and the prost messages; knows nothing of telling
//! kinds apart, of the views, files, threads or TFRecord framing.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::json::kind as json_kind;
use crate::proto::messages::feature::Kind;
use crate::proto::messages::{
    BytesList, Example, Feature, FeatureList, FeatureLists, Features, SequenceExample,
};

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

pub(super) fn float_value(value: &Value, place: &str, i: usize) -> Result<f32> {
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
                kind: Some(Kind::BytesList(BytesList { value: values })),
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

pub(super) fn object<'v>(value: &'v Value, what: &str) -> Result<&'v Map<String, Value>> {
    match value {
        Value::Object(object) => Ok(object),
        other => Err(Error::invalid_input(format!(
            "{what} JSON is {}, not an object",
            json_kind(other)
        ))),
    }
}

/// An `Example` from its JSON object (see the [module docs](super)).
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

/// A `SequenceExample` from its JSON object (see the [module docs](super)):
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_in_any_order_and_floats_as_integers() {
        let value = json!({
            "features": {"b": {"float_list": [1, -2, 3.5, "nan", "inf"]}, "a": {}},
            "offset": 5, "file": "x"
        });
        let ex = example_from_json(&value).unwrap();
        let f = ex.get("b").unwrap();
        let Some(Kind::FloatList(list)) = &f.kind else {
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
}
