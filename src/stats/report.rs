//! [`Stats`] written out: one line of JSON, or a table for people. Knows
//! nothing of reading records, files or threads.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::example::FeatureKind;

use super::features::{FeatureKinds, FeatureListStats, FeatureStats, KindCounts};
use super::summary::{DTypeStats, Summary};
use super::totals::Stats;

impl Stats {
    /// One line of JSON:
    /// `{"records": N, "bytes": B, "holds": KIND, "sizes": {"min": .., "mean": .., "max": .., "empty": ..}, "dtypes": {NAME: {"tensors": .., "elements": .., "sum": .., "min": .., "max": ..}, ...}, "shapes": {"[d0, d1]": count, ...}}`.
    ///
    /// Integer sums are exact JSON integers, however large. Complex sums are
    /// `[re, im]` with `min` and `max` `null`; bool sums count `true`, with
    /// `min`/`max` 0 or 1; string dtypes carry only `tensors` and
    /// `elements`. Non-finite numbers and the minimum and maximum of no
    /// elements are `null`.
    ///
    /// `holds` is what the records hold all together ([`Stats::kind`]):
    /// `tensor`, `example`, `sequence_example` or `raw`. `sizes` gives the
    /// smallest, mean and largest payload in bytes (`null` without records)
    /// and the number of empty payloads.
    ///
    /// When some record is not a tensor, three keys follow (`dtypes` and
    /// `shapes` then describe the tensors among the records):
    ///
    /// - `"kinds": {"tensor": N, "example": N, "sequence_example": N, "raw": N}`;
    /// - `"features": {NAME: {"kind": K, "records": N, "value_counts": {"V": N, ...}}}`
    ///   for the features of `Example`s and `SequenceExample` contexts: the
    ///   kind (`int64_list`, `float_list`, `bytes_list` or `none`) the
    ///   feature had in most records, the records that carry it, and how
    ///   many records had it with `V` values. A name seen with several kinds
    ///   also has `"kinds": {K: N, ...}`, records per kind;
    /// - `"feature_lists": {NAME: {"kind": K, "records": N, "lengths": {"L": N, ...}}}`
    ///   for `SequenceExample` feature lists: the kind most steps had (`null`
    ///   if the list never had a step; `"kinds"`, steps per kind, when
    ///   there were several), the records that carry it, and how many
    ///   records had it with `L` steps.
    ///
    /// ```
    /// use tfrec::example::{self, Example, Feature, SequenceExample};
    /// use tfrec::stats::Stats;
    ///
    /// let mut s = Stats::new();
    /// for payload in [
    ///     example::encode(&Example::default().int64("id", [7]).float("x", [0.5, 1.0])),
    ///     example::encode(&Example::default().int64("id", [8])),
    ///     example::encode(&SequenceExample::default()
    ///         .context_feature("id", Feature::default())
    ///         .feature_list("t", [Feature::int64_list([1]), Feature::int64_list([2, 3])])),
    /// ] {
    ///     s.add_record(&payload, payload.len() as u64 + 16)?;
    /// }
    /// let json = s.to_json();
    /// assert!(json.ends_with(
    ///     r#""kinds": {"tensor": 0, "example": 2, "sequence_example": 1, "raw": 0}, "features": {"id": {"kind": "int64_list", "kinds": {"int64_list": 2, "none": 1}, "records": 3, "value_counts": {"0": 1, "1": 2}}, "x": {"kind": "float_list", "records": 1, "value_counts": {"2": 1}}}, "feature_lists": {"t": {"kind": "int64_list", "records": 1, "lengths": {"2": 1}}}}"#
    /// ), "{json}");
    /// # Ok::<(), tfrec::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "{{\"records\": {}, \"bytes\": {}, \"holds\": \"{}\", \"sizes\": {{\"min\": {}, \"mean\": {}, \"max\": {}, \"empty\": {}}}, \"dtypes\": {{",
            self.records,
            self.bytes,
            self.kind(),
            json_opt(self.sizes.min),
            self.sizes.mean(self.records).map_or_else(|| "null".into(), json_f64),
            json_opt(self.sizes.max),
            self.sizes.empty,
        );
        for (i, (dtype, s)) in self.dtypes.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(
                out,
                "\"{}\": {{\"tensors\": {}, \"elements\": {}",
                dtype.name(),
                s.tensors,
                s.elements
            );
            let (sum, min, max) = json_values(s);
            if let Some(sum) = sum {
                let _ = write!(out, ", \"sum\": {sum}, \"min\": {min}, \"max\": {max}");
            }
            out.push('}');
        }
        out.push_str("}, \"shapes\": {");
        for (i, (shape, n)) in self.shapes.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "\"{}\": {n}", shape_key(shape));
        }
        out.push('}');
        if !self.kinds.only_tensors() {
            write_features_json(&mut out, &self.kinds, &self.features, &self.feature_lists);
        }
        out.push('}');
        out
    }

    /// A table for people: totals, one row per dtype, one per shape. When
    /// some records are not tensors: records per kind, then one row per
    /// feature (kind, records, `VALUES:RECORDS` pairs) and one per feature
    /// list (kind, records, `STEPS:RECORDS` pairs); the dtype and shape
    /// tables only if there were tensors.
    pub fn to_text(&self) -> String {
        let mut rows = vec![[
            "dtype".to_string(),
            "tensors".into(),
            "elements".into(),
            "sum".into(),
            "min".into(),
            "max".into(),
            "NaN".into(),
        ]];
        for (dtype, s) in &self.dtypes {
            let (sum, min, max) = json_values(s);
            let nan = match s.summary {
                Summary::Float { nan, .. } | Summary::Complex { nan, .. } => nan.to_string(),
                _ => String::new(),
            };
            let dash = |v: String| if v == "null" { "-".to_string() } else { v };
            rows.push([
                dtype.name().to_string(),
                s.tensors.to_string(),
                s.elements.to_string(),
                sum.map_or_else(|| "-".into(), dash),
                dash(min),
                dash(max),
                nan,
            ]);
        }
        let mut out = String::new();
        let _ = writeln!(out, "records\t{}", self.records);
        let _ = writeln!(out, "bytes\t{}", self.bytes);
        let _ = writeln!(out, "holds\t{}", self.kind());
        if let (Some(min), Some(mean), Some(max)) = (
            self.sizes.min,
            self.sizes.mean(self.records),
            self.sizes.max,
        ) {
            let _ = writeln!(
                out,
                "sizes\tmin {min}  mean {mean:.1}  max {max}  empty {}",
                self.sizes.empty
            );
        }
        let only_tensors = self.kinds.only_tensors();
        if only_tensors || self.kinds.tensor > 0 {
            out.push('\n');
            write_table(&mut out, &rows);
            out.push('\n');
            let mut shape_rows = vec![["shape".to_string(), "tensors".to_string()]];
            for (shape, n) in &self.shapes {
                shape_rows.push([shape_key(shape), n.to_string()]);
            }
            write_table(&mut out, &shape_rows);
        }
        if !only_tensors {
            out.push('\n');
            write_features_text(&mut out, &self.kinds, &self.features, &self.feature_lists);
        }
        out
    }
}

fn write_table<const N: usize>(out: &mut String, rows: &[[String; N]]) {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// `[128, 128, 3]`; `[]` for a scalar.
pub fn shape_key(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", dims.join(", "))
}

/// A JSON number for a float: shortest round-trip form, `null` when not finite.
fn json_f64(x: f64) -> String {
    if x.is_finite() {
        format!("{x:?}")
    } else {
        "null".into()
    }
}

fn json_opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "null".into(), |v| v.to_string())
}

/// (sum, min, max) as JSON values; no sum for strings.
fn json_values(s: &DTypeStats) -> (Option<String>, String, String) {
    match &s.summary {
        Summary::Int { sum, min, max } => (Some(sum.to_string()), json_opt(*min), json_opt(*max)),
        Summary::UInt { sum, min, max } => (Some(sum.to_string()), json_opt(*min), json_opt(*max)),
        Summary::Float { sum, min, max, .. } => (
            Some(json_f64(*sum)),
            min.map_or_else(|| "null".into(), json_f64),
            max.map_or_else(|| "null".into(), json_f64),
        ),
        Summary::Bool { trues } => {
            let (min, max) = if s.elements == 0 {
                ("null".into(), "null".into())
            } else {
                (
                    u8::from(*trues == s.elements).to_string(),
                    u8::from(*trues > 0).to_string(),
                )
            };
            (Some(trues.to_string()), min, max)
        }
        Summary::Complex { re, im, .. } => (
            Some(format!("[{}, {}]", json_f64(*re), json_f64(*im))),
            "null".into(),
            "null".into(),
        ),
        Summary::String => (None, String::new(), String::new()),
    }
}

// ---------------------------------------------------------------------------
// Records that are not tensors
// ---------------------------------------------------------------------------

fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

fn json_histogram(out: &mut String, histogram: &BTreeMap<u64, u64>) {
    out.push('{');
    for (i, (k, n)) in histogram.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "\"{k}\": {n}");
    }
    out.push('}');
}

/// `"kind": .., ("kinds": {..}, )` for a feature or a list.
fn json_kinds(out: &mut String, kind: Option<FeatureKind>, kinds: &FeatureKinds) {
    match kind {
        Some(k) => {
            let _ = write!(out, "\"kind\": \"{}\"", k.name());
        }
        None => out.push_str("\"kind\": null"),
    }
    if kinds.iter().count() > 1 {
        out.push_str(", \"kinds\": {");
        for (i, (k, n)) in kinds.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "\"{}\": {n}", k.name());
        }
        out.push('}');
    }
}

/// `, "kinds": {..}, "features": {..}, "feature_lists": {..}`
fn write_features_json(
    out: &mut String,
    kinds: &KindCounts,
    features: &BTreeMap<String, FeatureStats>,
    lists: &BTreeMap<String, FeatureListStats>,
) {
    out.push_str(", \"kinds\": {");
    for (i, (kind, n)) in kinds.iter().into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "\"{}\": {n}", kind.name());
    }
    out.push_str("}, \"features\": {");
    for (i, (name, s)) in features.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{}: {{", json_string(name));
        json_kinds(out, Some(s.kind()), &s.kinds);
        let _ = write!(out, ", \"records\": {}, \"value_counts\": ", s.records);
        json_histogram(out, &s.value_counts);
        out.push('}');
    }
    out.push_str("}, \"feature_lists\": {");
    for (i, (name, s)) in lists.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{}: {{", json_string(name));
        json_kinds(out, s.kind(), &s.kinds);
        let _ = write!(out, ", \"records\": {}, \"lengths\": ", s.records);
        json_histogram(out, &s.lengths);
        out.push('}');
    }
    out.push('}');
}

/// `int64_list`, or `int64_list 3, none 1` when a name had several kinds.
fn text_kinds(kind: Option<FeatureKind>, kinds: &FeatureKinds) -> String {
    if kinds.iter().count() > 1 {
        let parts: Vec<String> = kinds
            .iter()
            .map(|(k, n)| format!("{} {n}", k.name()))
            .collect();
        parts.join(", ")
    } else {
        kind.map_or_else(|| "-".to_string(), |k| k.name().to_string())
    }
}

/// `1:10, 16:9` (value → records).
fn text_histogram(histogram: &BTreeMap<u64, u64>) -> String {
    let parts: Vec<String> = histogram.iter().map(|(k, n)| format!("{k}:{n}")).collect();
    parts.join(", ")
}

/// The tables `to_text` adds when some records are not tensors.
fn write_features_text(
    out: &mut String,
    kinds: &KindCounts,
    features: &BTreeMap<String, FeatureStats>,
    lists: &BTreeMap<String, FeatureListStats>,
) {
    let mut kind_rows = vec![["kind".to_string(), "records".to_string()]];
    for (kind, n) in kinds.iter() {
        kind_rows.push([kind.name().to_string(), n.to_string()]);
    }
    write_table(out, &kind_rows);
    if !features.is_empty() {
        out.push('\n');
        let mut rows = vec![[
            "feature".to_string(),
            "kind".into(),
            "records".into(),
            "values:records".into(),
        ]];
        for (name, s) in features {
            rows.push([
                name.escape_debug().to_string(),
                text_kinds(Some(s.kind()), &s.kinds),
                s.records.to_string(),
                text_histogram(&s.value_counts),
            ]);
        }
        write_table(out, &rows);
    }
    if !lists.is_empty() {
        out.push('\n');
        let mut rows = vec![[
            "feature_list".to_string(),
            "kind".into(),
            "records".into(),
            "steps:records".into(),
        ]];
        for (name, s) in lists {
            rows.push([
                name.escape_debug().to_string(),
                text_kinds(s.kind(), &s.kinds),
                s.records.to_string(),
                text_histogram(&s.lengths),
            ]);
        }
        write_table(out, &rows);
    }
}
