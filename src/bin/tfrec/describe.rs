//! The one-line, human-readable form of a record that `tfrec cat` prints:
//! `FILE:INDEX`, a tab, what the record is, a tab, its first values.
//!
//! Knows nothing of files, flags or reading: it words views the library
//! has decoded, and holds no logic the library lacks.

use std::fmt::Write as _;

use tfrec::example::{ExampleView, FeatureKind, FeatureView, FeaturesView, SequenceExampleView};
use tfrec::{DType, TensorView};

/// Values shown per tensor, feature or step.
const SHOW: usize = 8;
/// Steps shown per feature list.
const SHOW_STEPS: usize = 4;
/// Bytes shown of each byte string (and of a raw record).
const SHOW_BYTES: usize = 32;

/// `FILE:INDEX  DTYPE[SHAPE]  [v0, v1, ...]`
pub(crate) fn tensor(line: &mut String, name: &str, index: u64, t: &TensorView<'_>) {
    let shape: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
    let _ = write!(line, "{name}:{index}\t{}[{}]\t", t.dtype(), shape.join(","));
    let n = t.num_elements();
    let shown = n.min(SHOW);
    let values = first_values(t, shown);
    if t.rank() == 0 {
        line.push_str(values.first().map(String::as_str).unwrap_or(""));
    } else {
        push_list(line, &values, n);
    }
    line.push('\n');
}

/// `FILE:INDEX  example  NAME=KIND[N] [v0, ...]; NAME=...`
pub(crate) fn example(line: &mut String, name: &str, index: u64, ex: &ExampleView<'_>) {
    let _ = write!(line, "{name}:{index}\texample\t");
    features(line, ex.features());
    line.push('\n');
}

/// `FILE:INDEX  sequence_example  context: FEATURES  feature_lists: NAME=steps[S] STEP | STEP ...`
pub(crate) fn sequence_example(
    line: &mut String,
    name: &str,
    index: u64,
    seq: &SequenceExampleView<'_>,
) {
    let _ = write!(line, "{name}:{index}\tsequence_example\tcontext: ");
    features(line, seq.context());
    line.push_str("\tfeature_lists: ");
    if seq.feature_lists().is_empty() {
        line.push_str("(none)");
    }
    for (i, (list_name, list)) in seq.feature_lists().iter().enumerate() {
        if i > 0 {
            line.push_str("; ");
        }
        let _ = write!(line, "{}=steps[{}]", list_name.escape_debug(), list.len());
        for (k, step) in list.iter().take(SHOW_STEPS).enumerate() {
            line.push_str(if k == 0 { " " } else { " | " });
            feature(line, &step);
        }
        if list.len() > SHOW_STEPS {
            line.push_str(" | ...");
        }
    }
    line.push('\n');
}

/// `FILE:INDEX  raw  N bytes  b"..."`
pub(crate) fn raw(line: &mut String, name: &str, index: u64, payload: &[u8]) {
    let _ = write!(line, "{name}:{index}\traw\t{} bytes\t", payload.len());
    byte_string(line, payload);
    line.push('\n');
}

fn features(line: &mut String, features: &FeaturesView<'_>) {
    if features.is_empty() {
        line.push_str("(none)");
    }
    for (i, (name, f)) in features.iter().enumerate() {
        if i > 0 {
            line.push_str("; ");
        }
        let _ = write!(line, "{}=", name.escape_debug());
        feature(line, &f);
    }
}

/// `int64[3] [1, 2, 3]`, `float[0] []`, `none`.
fn feature(line: &mut String, f: &FeatureView<'_>) {
    let n = f.len();
    let values: Vec<String> = match f.kind() {
        FeatureKind::None => {
            line.push_str("none");
            return;
        }
        FeatureKind::Int64 => f
            .int64_list()
            .map(|v| v.take(SHOW).map(|x| x.to_string()).collect())
            .unwrap_or_default(),
        // Debug: shortest form, with an exponent for very large or small
        // values (1e-30, not thirty zeros).
        FeatureKind::Float => f
            .float_list()
            .map(|v| v.take(SHOW).map(|x| format!("{x:?}")).collect())
            .unwrap_or_default(),
        FeatureKind::Bytes => f
            .bytes_list()
            .map(|v| {
                v.take(SHOW)
                    .map(|b| {
                        let mut s = String::new();
                        byte_string(&mut s, b);
                        s
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    let kind = f.kind().name();
    let _ = write!(line, "{}[{n}] ", kind.strip_suffix("_list").unwrap_or(kind));
    push_list(line, &values, n);
}

/// `[v0, v1, ..., (N values)]` when only some of `n` values are given.
fn push_list(line: &mut String, values: &[String], n: usize) {
    line.push('[');
    line.push_str(&values.join(", "));
    if n > values.len() {
        let _ = write!(line, ", ... ({n} values)");
    }
    line.push(']');
}

/// `b"abc"`, or `b"first bytes"... (N bytes)` for a long one.
fn byte_string(line: &mut String, bytes: &[u8]) {
    let shown = bytes.get(..SHOW_BYTES).unwrap_or(bytes);
    let _ = write!(line, "b\"{}\"", shown.escape_ascii());
    if bytes.len() > shown.len() {
        let _ = write!(line, "... ({} bytes)", bytes.len());
    }
}

fn first_values(t: &TensorView<'_>, k: usize) -> Vec<String> {
    use tfrec::{bf16, f16};
    fn fmt_all<T: tfrec::Element>(
        t: &TensorView<'_>,
        k: usize,
        f: impl Fn(&T) -> String,
    ) -> Vec<String> {
        t.values::<T>()
            .map(|v| v.iter().take(k).map(f).collect())
            .unwrap_or_default()
    }
    match t.dtype() {
        DType::F16 => fmt_all::<f16>(t, k, |v| v.to_string()),
        DType::BF16 => fmt_all::<bf16>(t, k, |v| v.to_string()),
        DType::F32 => fmt_all::<f32>(t, k, |v| v.to_string()),
        DType::F64 => fmt_all::<f64>(t, k, |v| v.to_string()),
        DType::I8 => fmt_all::<i8>(t, k, |v| v.to_string()),
        DType::I16 => fmt_all::<i16>(t, k, |v| v.to_string()),
        DType::I32 => fmt_all::<i32>(t, k, |v| v.to_string()),
        DType::I64 => fmt_all::<i64>(t, k, |v| v.to_string()),
        DType::U8 => fmt_all::<u8>(t, k, |v| v.to_string()),
        DType::U16 => fmt_all::<u16>(t, k, |v| v.to_string()),
        DType::U32 => fmt_all::<u32>(t, k, |v| v.to_string()),
        DType::U64 => fmt_all::<u64>(t, k, |v| v.to_string()),
        DType::Complex64 => fmt_all::<tfrec::Complex32>(t, k, |v| format!("{}{:+}j", v.re, v.im)),
        DType::Complex128 => fmt_all::<tfrec::Complex64>(t, k, |v| format!("{}{:+}j", v.re, v.im)),
        DType::Bool => t
            .to_bools()
            .map(|v| v.iter().take(k).map(|b| b.to_string()).collect())
            .unwrap_or_default(),
        DType::String => t
            .strings()
            .map(|s| {
                s.take(k)
                    .map(|b| format!("b\"{}\"", b.escape_ascii()))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}
