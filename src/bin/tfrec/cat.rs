//! `tfrec cat`.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};

use tfrec::{DType, ReadOptions, TensorView};

use crate::{inputs, Failure};

/// Elements shown per record in the human-readable form.
const SHOW: usize = 8;

/// Print every record: index, dtype, shape and the first values, or one JSON
/// object per record with `--jsonl`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// One JSON object per record: {"file", "index", "offset", "dtype",
    /// "shape", "data"} with data as base64 of the little-endian bytes
    /// (string tensors: "strings", a list of base64 strings).
    #[arg(long)]
    jsonl: bool,
    /// TFRecord files (uncompressed, GZIP or ZLIB); `-` for stdin.
    #[arg(required = true)]
    files: Vec<String>,
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    cat_all(&args, &mut out)?;
    out.flush()?;
    Ok(())
}

fn cat_all(args: &Args, out: &mut impl Write) -> Result<(), Failure> {
    let mut line = String::new();
    for name in &args.files {
        let mut reader = inputs::open(name, ReadOptions::default())?;
        while let Some(record) = reader.next_record() {
            let record = record?;
            let tensor = record.decode().map_err(|e| e.with_path(name))?;
            if args.jsonl {
                tfrec::json::write_record_json(out, name, record.index, record.offset, &tensor)?;
            } else {
                line.clear();
                describe(&mut line, name, record.index, &tensor);
                out.write_all(line.as_bytes())?;
            }
        }
    }
    Ok(())
}

/// `FILE:INDEX  DTYPE[SHAPE]  [v0, v1, ...]`
fn describe(line: &mut String, name: &str, index: u64, t: &TensorView<'_>) {
    let shape: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
    let _ = write!(line, "{name}:{index}\t{}[{}]\t", t.dtype(), shape.join(","));
    let n = t.num_elements();
    let shown = n.min(SHOW);
    let values = first_values(t, shown);
    if t.rank() == 0 {
        line.push_str(values.first().map(String::as_str).unwrap_or(""));
    } else {
        line.push('[');
        line.push_str(&values.join(", "));
        if n > shown {
            let _ = write!(line, ", ... ({n} values)");
        }
        line.push(']');
    }
    line.push('\n');
}

fn first_values(t: &TensorView<'_>, k: usize) -> Vec<String> {
    use half::{bf16, f16};
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
