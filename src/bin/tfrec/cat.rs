//! `tfrec cat`.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};

use tfrec::index::IndexSource;
use tfrec::pipeline::{Dataset, IterState};
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
    /// Print the records in the order a dataset of these files shuffled
    /// with SEED visits them (a global permutation per epoch; compressed
    /// files stream through a shuffle buffer).
    #[arg(long, value_name = "SEED")]
    shuffle: Option<u64>,
    /// The epoch whose order to print (default 0).
    #[arg(long, value_name = "E")]
    epoch: Option<u64>,
    /// Print only the records of rank RANK of WORLD ranks, in that rank's
    /// order (after the shuffle).
    #[arg(long, value_name = "RANK/WORLD", value_parser = parse_shard)]
    shard: Option<(usize, usize)>,
    /// TFRecord files (uncompressed, GZIP or ZLIB); `-` for stdin.
    #[arg(required = true)]
    files: Vec<String>,
}

fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let (rank, world) = text
        .split_once('/')
        .ok_or_else(|| format!("expected RANK/WORLD, got {text:?}"))?;
    let rank: usize = rank.trim().parse().map_err(|e| format!("rank: {e}"))?;
    let world: usize = world.trim().parse().map_err(|e| format!("world: {e}"))?;
    if world == 0 || rank >= world {
        return Err(format!("rank {rank} must be below world size {world}"));
    }
    Ok((rank, world))
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    cat_all(&args, &mut out)?;
    out.flush()?;
    Ok(())
}

fn cat_all(args: &Args, out: &mut impl Write) -> Result<(), Failure> {
    if args.shuffle.is_some() || args.shard.is_some() || args.epoch.is_some() {
        return cat_ordered(args, out);
    }
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

/// The records in a dataset's order for one rank and epoch.
fn cat_ordered(args: &Args, out: &mut impl Write) -> Result<(), Failure> {
    if args.files.iter().any(|f| f == "-") {
        return Err(Failure::Error(
            "-: stdin cannot be shuffled or sharded (the order needs every record count first)"
                .into(),
        ));
    }
    let mut builder = Dataset::builder().files(&args.files);
    if let Some(seed) = args.shuffle {
        builder = builder.shuffle(seed);
    }
    if let Some((rank, world)) = args.shard {
        builder = builder.shard(rank, world);
    }
    let ds = builder.build()?;
    for file in 0..ds.paths().len() {
        if let Some(IndexSource::SidecarRejected { reason }) = ds.index(file).map(|i| i.source()) {
            crate::warn(&format!(
                "tfrec: {}: sidecar ignored, file rescanned: {reason}",
                args.files[file]
            ));
        }
    }
    let mut line = String::new();
    for sample in ds.samples(IterState::epoch_start(args.epoch.unwrap_or(0)))? {
        let sample = sample?;
        let name = &args.files[sample.id.file];
        if args.jsonl {
            tfrec::json::write_record_json(
                out,
                name,
                sample.id.index,
                sample.offset,
                &sample.tensor,
            )?;
        } else {
            line.clear();
            describe(&mut line, name, sample.id.index, &sample.tensor);
            out.write_all(line.as_bytes())?;
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
