//! The JSON form of a tensor, as `tfrec cat --jsonl` prints it and
//! `tfrec pack` reads it.
//!
//! Knows nothing of files, readers or threads.
//!
//! A tensor is an object with exactly these keys:
//!
//! ```text
//! {"dtype": "float32", "shape": [2, 3], "data": "AACAPwAAAEAAAEBA..."}
//! {"dtype": "string",  "shape": [2],    "strings": ["Y2F0", "ZG9n"]}
//! ```
//!
//! - `dtype` is [`DType::name`]: `float16`, `bfloat16`, `float32`,
//!   `float64`, `int8` ... `int64`, `uint8` ... `uint64`, `bool`,
//!   `complex64`, `complex128` or `string`;
//! - `shape` is a list of non-negative integers, `[]` for a scalar;
//! - `data` is standard, padded base64 of the little-endian, C-order element
//!   bytes ([`TensorView::bytes`]); string tensors carry `strings` instead,
//!   the base64 of each element, so any bytes (NUL, non-UTF-8) survive.
//!
//! Records printed by `tfrec cat --jsonl` put `"file"`, `"index"` and
//! `"offset"` first (see [`write_record_json`]); readers ignore keys they do
//! not know.

use std::borrow::Cow;
use std::io::{self, Write};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{Map, Value};

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::{Tensor, TensorView};

/// Input bytes base64-encoded per step by [`write_record_json`]: a multiple
/// of 3 so that only the last step can produce padding.
const BASE64_CHUNK: usize = 3 * 1024;

/// The `dtype`, `shape` and `data` (or `strings`) keys of a tensor.
///
/// `serde_json`'s map keeps keys sorted, so a record built by inserting
/// `file`, `index` and `offset` into this map does not print them first;
/// use [`write_record_json`] for that.
///
/// ```
/// use tfrec::{json, Tensor};
///
/// let t = Tensor::from_slice(&[1u8, 2, 3], &[3])?;
/// let map = json::tensor_to_json(&t);
/// assert_eq!(map["dtype"], "uint8");
/// assert_eq!(map["shape"], serde_json::json!([3]));
/// assert_eq!(map["data"], "AQID");
/// # Ok::<(), tfrec::Error>(())
/// ```
pub fn tensor_to_json(tensor: &TensorView<'_>) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("dtype".into(), Value::from(tensor.dtype().name()));
    map.insert(
        "shape".into(),
        Value::Array(tensor.shape().iter().map(|&d| Value::from(d)).collect()),
    );
    if let Some(strings) = tensor.strings() {
        let strings = strings.map(|s| Value::String(STANDARD.encode(s))).collect();
        map.insert("strings".into(), Value::Array(strings));
    } else {
        let bytes = tensor.bytes().unwrap_or_default();
        map.insert("data".into(), Value::String(STANDARD.encode(bytes)));
    }
    map
}

/// Writes one record as a line of JSON, keys in the order `file`, `index`,
/// `offset`, `dtype`, `shape`, `data` (or `strings`), ending with `\n`.
///
/// The line is written straight to `out` without building a
/// [`serde_json::Value`]; pass a [`std::io::BufWriter`] (or a reused
/// `Vec<u8>`) rather than an unbuffered file or stdout, since the line goes
/// out in several small writes.
///
/// ```
/// use tfrec::{json, Tensor};
///
/// let mut line = Vec::new();
/// let t = Tensor::from_strings(&["cat"], &[1])?;
/// json::write_record_json(&mut line, "a \"b\".tfrecord", 2, 40, &t)?;
/// assert_eq!(
///     String::from_utf8(line)?,
///     "{\"file\":\"a \\\"b\\\".tfrecord\",\"index\":2,\"offset\":40,\
///      \"dtype\":\"string\",\"shape\":[1],\"strings\":[\"Y2F0\"]}\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_record_json<W: Write + ?Sized>(
    out: &mut W,
    file: &str,
    index: u64,
    offset: u64,
    tensor: &TensorView<'_>,
) -> io::Result<()> {
    out.write_all(b"{\"file\":")?;
    serde_json::to_writer(&mut *out, file)?;
    write!(
        out,
        ",\"index\":{index},\"offset\":{offset},\"dtype\":\"{}\",\"shape\":[",
        tensor.dtype().name()
    )?;
    for (i, dim) in tensor.shape().iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write!(out, "{dim}")?;
    }
    if let Some(strings) = tensor.strings() {
        out.write_all(b"],\"strings\":[")?;
        for (i, s) in strings.enumerate() {
            out.write_all(if i > 0 { b",\"" } else { b"\"" })?;
            write_base64(out, s)?;
            out.write_all(b"\"")?;
        }
        out.write_all(b"]}\n")
    } else {
        out.write_all(b"],\"data\":\"")?;
        write_base64(out, tensor.bytes().unwrap_or_default())?;
        out.write_all(b"\"}\n")
    }
}

/// Base64 of `bytes`, encoded through a stack buffer.
pub(crate) fn write_base64<W: Write + ?Sized>(out: &mut W, bytes: &[u8]) -> io::Result<()> {
    let mut buf = [0u8; BASE64_CHUNK / 3 * 4];
    for chunk in bytes.chunks(BASE64_CHUNK) {
        let n = STANDARD
            .encode_slice(chunk, &mut buf)
            .map_err(io::Error::other)?;
        out.write_all(buf.get(..n).unwrap_or_default())?;
    }
    Ok(())
}

/// A tensor from its JSON object.
///
/// Keys other than `dtype`, `shape`, `data` and `strings` (such as `file`,
/// `index`, `offset`) are ignored. Fails, naming the problem, when the
/// dtype is unknown, the shape is not a list of non-negative integers, the
/// tensor does not carry exactly the one of `data`/`strings` its dtype
/// needs, the base64 is invalid, the byte length or string count does not
/// match the shape, or a bool byte is not 0 or 1.
///
/// ```
/// use tfrec::json;
///
/// let value = serde_json::json!({"dtype": "int16", "shape": [2], "data": "AQD//w=="});
/// let t = json::tensor_from_json(&value)?;
/// assert_eq!(t.to_vec::<i16>()?, [1, -1]);
///
/// let bad = serde_json::json!({"dtype": "int16", "shape": [3], "data": "AQD//w=="});
/// assert!(json::tensor_from_json(&bad).is_err()); // 4 bytes, 6 expected
/// # Ok::<(), tfrec::Error>(())
/// ```
pub fn tensor_from_json(value: &Value) -> Result<Tensor> {
    let Value::Object(object) = value else {
        return Err(Error::invalid_input(format!(
            "tensor JSON is {}, not an object",
            kind(value)
        )));
    };
    let dtype: DType = match object.get("dtype") {
        Some(Value::String(name)) => name.parse()?,
        Some(other) => {
            return Err(Error::invalid_input(format!(
                "tensor JSON \"dtype\" is {}, not a string",
                kind(other)
            )))
        }
        None => return Err(Error::invalid_input("tensor JSON has no \"dtype\"")),
    };
    let shape = match object.get("shape") {
        Some(Value::Array(dims)) => dims.iter().map(dimension).collect::<Result<Vec<_>>>()?,
        Some(other) => {
            return Err(Error::invalid_input(format!(
                "tensor JSON \"shape\" is {}, not a list",
                kind(other)
            )))
        }
        None => return Err(Error::invalid_input("tensor JSON has no \"shape\"")),
    };
    match (object.get("data"), object.get("strings")) {
        (Some(_), Some(_)) => Err(Error::invalid_input(
            "tensor JSON has both \"data\" and \"strings\"",
        )),
        (None, Some(strings)) if dtype == DType::String => {
            let Value::Array(items) = strings else {
                return Err(Error::invalid_input(format!(
                    "tensor JSON \"strings\" is {}, not a list",
                    kind(strings)
                )));
            };
            let strings = items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(text) => STANDARD.decode(text).map(Cow::Owned).map_err(|e| {
                        Error::invalid_input(format!(
                            "invalid base64 in \"strings\" element {i}: {e}"
                        ))
                    }),
                    other => Err(Error::invalid_input(format!(
                        "tensor JSON \"strings\" element {i} is {}, not a string",
                        kind(other)
                    ))),
                })
                .collect::<Result<Vec<_>>>()?;
            TensorView::from_strings(&shape, strings).map(Tensor::from)
        }
        (Some(data), None) if dtype != DType::String => {
            let Value::String(text) = data else {
                return Err(Error::invalid_input(format!(
                    "tensor JSON \"data\" is {}, not a base64 string",
                    kind(data)
                )));
            };
            let bytes = STANDARD
                .decode(text)
                .map_err(|e| Error::invalid_input(format!("invalid base64 in \"data\": {e}")))?;
            Tensor::from_bytes(dtype, &shape, bytes)
        }
        _ if dtype == DType::String => Err(Error::invalid_input(
            "string tensor JSON needs \"strings\" (a list of base64 strings), not \"data\"",
        )),
        _ => Err(Error::invalid_input(format!(
            "{dtype} tensor JSON needs \"data\" (base64 of the element bytes), not \"strings\""
        ))),
    }
}

/// Parses one line of JSON (as written by [`write_record_json`]) into a
/// tensor; see [`tensor_from_json`].
///
/// ```
/// use tfrec::{json, Tensor};
///
/// let t = Tensor::from_slice(&[1.5f64, -2.0], &[1, 2])?;
/// let mut line = Vec::new();
/// json::write_record_json(&mut line, "x.tfrecord", 0, 0, &t)?;
/// let back = json::tensor_from_json_line(std::str::from_utf8(&line)?)?;
/// assert_eq!(back, t);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn tensor_from_json_line(line: &str) -> Result<Tensor> {
    let value: Value = serde_json::from_str(line)
        .map_err(|e| Error::invalid_input(format!("invalid JSON: {e}")))?;
    tensor_from_json(&value)
}

fn dimension(value: &Value) -> Result<usize> {
    let Value::Number(n) = value else {
        return Err(Error::invalid_input(format!(
            "tensor JSON shape dimension is {}, not an integer",
            kind(value)
        )));
    };
    if let Some(d) = n.as_u64() {
        usize::try_from(d)
            .map_err(|_| Error::invalid_input(format!("shape dimension {d} is too large")))
    } else if n.as_i64().is_some() {
        Err(Error::invalid_input(format!(
            "shape dimension {n} is negative"
        )))
    } else {
        Err(Error::invalid_input(format!(
            "shape dimension {n} is not an integer"
        )))
    }
}

/// What kind of JSON value this is, for error messages that should not
/// echo a possibly huge value.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use half::{bf16, f16};
    use num_complex::{Complex32, Complex64};
    use serde_json::json;

    fn every_dtype() -> Vec<Tensor> {
        vec![
            Tensor::from_slice(&[f16::from_f32(0.5), f16::from_f32(-1.0)], &[2]).unwrap(),
            Tensor::from_slice(&[bf16::from_f32(1.0), bf16::from_f32(-3.0)], &[1, 2]).unwrap(),
            Tensor::from_slice(&[1.0f32, f32::NAN, f32::INFINITY], &[3]).unwrap(),
            Tensor::from_slice(&[1.0f64, -0.0], &[2, 1]).unwrap(),
            Tensor::from_slice(&[i8::MIN, i8::MAX], &[2]).unwrap(),
            Tensor::from_slice(&[i16::MIN, i16::MAX], &[2]).unwrap(),
            Tensor::from_slice(&[i32::MIN, i32::MAX], &[2]).unwrap(),
            Tensor::from_slice(&[i64::MIN, i64::MAX], &[2]).unwrap(),
            Tensor::from_slice(&[0u8, 1, 2, 3, 4, 5], &[2, 3]).unwrap(),
            Tensor::from_slice(&[u16::MAX], &[1]).unwrap(),
            Tensor::from_slice(&[u32::MAX, 0], &[2]).unwrap(),
            Tensor::from_slice(&[u64::MAX], &[1, 1, 1]).unwrap(),
            Tensor::from_bools(&[true, false, true], &[3]).unwrap(),
            Tensor::from_slice(&[Complex32::new(1.0, -2.0)], &[1]).unwrap(),
            Tensor::from_slice(&[Complex64::new(1.0, -2.0)], &[1]).unwrap(),
            Tensor::from_strings(&[&b"cat"[..], b"", b"\0\xff\xfe", b"a\0"], &[2, 2]).unwrap(),
        ]
    }

    fn reason(value: serde_json::Value) -> String {
        match tensor_from_json(&value) {
            Ok(t) => panic!("expected an error for {value}, got {t:?}"),
            Err(e) => match e.kind() {
                ErrorKind::InvalidInput { reason } | ErrorKind::InvalidTensor { reason } => {
                    reason.clone()
                }
                other => panic!("unexpected error kind {other:?}"),
            },
        }
    }

    fn record_line(file: &str, index: u64, offset: u64, t: &TensorView<'_>) -> String {
        let mut out = Vec::new();
        write_record_json(&mut out, file, index, offset, t).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_dtype_round_trips() {
        let tensors = every_dtype();
        let mut seen: Vec<DType> = tensors.iter().map(|t| t.dtype()).collect();
        seen.sort();
        assert_eq!(seen, DType::ALL);
        for t in tensors {
            let value = Value::Object(tensor_to_json(&t));
            assert_eq!(value["dtype"], t.dtype().name());
            let back = tensor_from_json(&value).unwrap();
            assert_eq!(back, t);
            assert_eq!(Value::Object(tensor_to_json(&back)), value);

            let line = record_line("f", 1, 2, &t);
            assert_eq!(tensor_from_json_line(&line).unwrap(), t);
            let mut parsed: Value = serde_json::from_str(&line).unwrap();
            let record = parsed.as_object_mut().unwrap();
            assert_eq!(record.remove("file"), Some(json!("f")));
            assert_eq!(record.remove("index"), Some(json!(1)));
            assert_eq!(record.remove("offset"), Some(json!(2)));
            assert_eq!(parsed, value);
        }
    }

    #[test]
    fn known_encodings() {
        let t = Tensor::from_slice(&[1.0f32, 2.0], &[2]).unwrap();
        assert_eq!(
            Value::Object(tensor_to_json(&t)),
            json!({"dtype": "float32", "shape": [2], "data": "AACAPwAAAEA="})
        );
        let t = Tensor::from_strings(&["cat", "", "\0"], &[3]).unwrap();
        assert_eq!(
            Value::Object(tensor_to_json(&t)),
            json!({"dtype": "string", "shape": [3], "strings": ["Y2F0", "", "AA=="]})
        );
    }

    #[test]
    fn record_keys_come_in_order() {
        let t = Tensor::from_slice(&[7u8], &[1]).unwrap();
        assert_eq!(
            record_line("a.tfrecord", 3, 1234, &t),
            "{\"file\":\"a.tfrecord\",\"index\":3,\"offset\":1234,\"dtype\":\"uint8\",\"shape\":[1],\"data\":\"Bw==\"}\n"
        );
        let s = Tensor::from_strings(&["x", "yz"], &[2, 1]).unwrap();
        assert_eq!(
            record_line("b", 0, 0, &s),
            "{\"file\":\"b\",\"index\":0,\"offset\":0,\"dtype\":\"string\",\"shape\":[2,1],\"strings\":[\"eA==\",\"eXo=\"]}\n"
        );
    }

    #[test]
    fn scalars_and_empty_tensors() {
        let scalar = Tensor::scalar(-1.5f64);
        let value = Value::Object(tensor_to_json(&scalar));
        assert_eq!(value["shape"], json!([]));
        assert_eq!(tensor_from_json(&value).unwrap(), scalar);

        let line = record_line("s", 0, 0, &Tensor::from_strings(&["only"], &[]).unwrap());
        assert!(
            line.contains("\"shape\":[],\"strings\":[\"b25seQ==\"]"),
            "{line}"
        );

        for t in [
            Tensor::from_slice::<i32>(&[], &[0]).unwrap(),
            Tensor::from_slice::<u8>(&[], &[3, 0, 2]).unwrap(),
            Tensor::from_strings::<&str>(&[], &[2, 0]).unwrap(),
        ] {
            let line = record_line("e", 0, 0, &t);
            assert!(
                line.contains("\"data\":\"\"") || line.contains("\"strings\":[]"),
                "{line}"
            );
            assert_eq!(tensor_from_json_line(&line).unwrap(), t);
        }
    }

    #[test]
    fn long_data_is_encoded_in_chunks_correctly() {
        for len in [
            BASE64_CHUNK - 1,
            BASE64_CHUNK,
            BASE64_CHUNK + 1,
            3 * BASE64_CHUNK + 2,
        ] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let t = Tensor::from_bytes(DType::U8, &[len], bytes.clone()).unwrap();
            let line = record_line("big", 0, 0, &t);
            let value: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(value["data"], STANDARD.encode(&bytes));
            let s = Tensor::from_strings(&[&bytes[..], b"x"], &[2]).unwrap();
            assert_eq!(
                tensor_from_json_line(&record_line("big", 0, 0, &s)).unwrap(),
                s
            );
        }
    }

    #[test]
    fn file_names_are_escaped() {
        let t = Tensor::scalar(1u8);
        for name in [
            "a\"b",
            "back\\slash",
            "new\nline",
            "tab\there",
            "\u{1}ctl",
            "caf\u{e9}/\u{1F600}.tfrecord",
            "",
        ] {
            let line = record_line(name, 9, 8, &t);
            assert_eq!(line.matches('\n').count(), 1, "{line}");
            assert!(line.ends_with("}\n"));
            let value: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(value["file"], name);
            assert_eq!(value["index"], 9);
            assert_eq!(tensor_from_json_line(&line).unwrap(), t);
        }
    }

    #[test]
    fn extra_keys_are_ignored() {
        let value = json!({"file": "x", "index": 1, "offset": 2, "dtype": "int8",
                           "shape": [1], "data": "/w==", "note": {"any": [1, 2]}});
        assert_eq!(
            tensor_from_json(&value).unwrap().to_vec::<i8>().unwrap(),
            [-1]
        );
    }

    #[test]
    fn bad_inputs_are_errors() {
        let cases = [
            (json!([1]), "not an object"),
            (json!({"shape": [1], "data": "AA=="}), "no \"dtype\""),
            (
                json!({"dtype": "float8", "shape": [1], "data": "AA=="}),
                "\"float8\"",
            ),
            (
                json!({"dtype": 1, "shape": [1], "data": "AA=="}),
                "not a string",
            ),
            (json!({"dtype": "uint8", "data": "AA=="}), "no \"shape\""),
            (
                json!({"dtype": "uint8", "shape": 1, "data": "AA=="}),
                "not a list",
            ),
            (
                json!({"dtype": "uint8", "shape": [-1], "data": "AA=="}),
                "-1 is negative",
            ),
            (
                json!({"dtype": "uint8", "shape": [1.5], "data": "AA=="}),
                "not an integer",
            ),
            (
                json!({"dtype": "uint8", "shape": ["1"], "data": "AA=="}),
                "not an integer",
            ),
            (
                json!({"dtype": "uint8", "shape": [2], "data": "AA=="}),
                "expected 2",
            ),
            (
                json!({"dtype": "float32", "shape": [], "data": "AAAA"}),
                "expected 4",
            ),
            (
                json!({"dtype": "uint8", "shape": [1], "data": "AA", }),
                "base64",
            ),
            (
                json!({"dtype": "uint8", "shape": [1], "data": "A!=="}),
                "base64",
            ),
            (
                json!({"dtype": "uint8", "shape": [1], "data": 0}),
                "not a base64 string",
            ),
            (json!({"dtype": "uint8", "shape": [1]}), "needs \"data\""),
            (
                json!({"dtype": "uint8", "shape": [1], "strings": ["AA=="]}),
                "needs \"data\"",
            ),
            (
                json!({"dtype": "uint8", "shape": [1], "data": "AA==", "strings": []}),
                "both",
            ),
            (
                json!({"dtype": "string", "shape": [1], "data": "AA=="}),
                "needs \"strings\"",
            ),
            (
                json!({"dtype": "string", "shape": [1]}),
                "needs \"strings\"",
            ),
            (
                json!({"dtype": "string", "shape": [2], "strings": ["AA=="]}),
                "expected 2",
            ),
            (
                json!({"dtype": "string", "shape": [1], "strings": ["*"]}),
                "element 0",
            ),
            (
                json!({"dtype": "string", "shape": [1], "strings": [1]}),
                "not a string",
            ),
            (
                json!({"dtype": "string", "shape": [1], "strings": "AA=="}),
                "not a list",
            ),
            (
                json!({"dtype": "bool", "shape": [1], "data": "Ag=="}),
                "not 0 or 1",
            ),
            (
                json!({"dtype": "uint8", "shape": [4294967296u64, 4294967296u64, 4294967296u64], "data": ""}),
                "overflows",
            ),
        ];
        for (value, why) in cases {
            let text = value.to_string();
            let got = reason(value);
            assert!(got.contains(why), "{text}: {got}");
        }
        let err = tensor_from_json_line("{\"dtype\": ").unwrap_err();
        assert!(err.to_string().contains("invalid JSON"), "{err}");
    }
}
