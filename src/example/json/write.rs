//! Printing records as JSON lines: an [`ExampleView`], a
//! [`SequenceExampleView`] or raw bytes, each as one line, in the form the
//! [module docs](super) describe, values read straight from the payload.
//!
//! Knows the views and the JSON form; knows nothing of reading JSON back,
//! of files, threads or TFRecord framing (lines go to any writer).

use std::io::{self, Write};

use crate::example::detect::{detect_parsed, Detected, RecordKind};
use crate::example::feature_kind::FeatureKind;
use crate::example::view::{
    ExampleView, FeatureListView, FeatureView, FeaturesView, SequenceExampleView,
};
use crate::json::write_base64;

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

pub(super) fn write_float<W: Write + ?Sized>(out: &mut W, v: f32) -> io::Result<()> {
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

/// One record's JSON line, as `tfrec cat` prints it.
#[cfg(test)]
pub(super) fn line_of(payload: &[u8]) -> String {
    let mut out = Vec::new();
    write_detected_json(&mut out, "f", 0, 0, payload).unwrap();
    String::from_utf8(out).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::example::owned::encode;
    use crate::proto::messages::{Example, Feature, SequenceExample};

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
}
