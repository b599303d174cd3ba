//! `tfrec cat`.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write};
use std::time::Duration;

use tfrec::index::IndexSource;
use tfrec::pipeline::{Dataset, IterState};
use tfrec::read::{CorruptionPolicy, Follow};
use tfrec::{DType, Reader, TensorView};

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
    /// Skip damaged records instead of stopping at the first: go on at the
    /// next sound frame. Each skipped stretch (and each record that is not
    /// a valid tensor) is reported on stderr with its file, offset, size and
    /// reason; the exit status stays 0 unless --max-skipped is exceeded.
    #[arg(long, conflicts_with_all = ["shuffle", "shard", "epoch"])]
    skip_corrupt: bool,
    /// With --skip-corrupt: fail (exit 1) once more than N damaged stretches
    /// have been skipped in one file.
    #[arg(long, value_name = "N", requires = "skip_corrupt")]
    max_skipped: Option<u64>,
    /// Follow files still being written, like `tail -f`: at the end of a
    /// file, or in a record not yet whole, wait for more instead of ending.
    /// Uncompressed files only; stdin waits by itself.
    #[arg(long, conflicts_with_all = ["shuffle", "shard", "epoch"])]
    follow: bool,
    /// With --follow: stop once a file has not grown for SECS seconds (at a
    /// record boundary that is a clean end; inside a record, a truncated
    /// record error). Default: wait forever.
    #[arg(long, value_name = "SECS", requires = "follow")]
    idle_timeout: Option<f64>,
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
        let mut reader = open(args, name)?;
        while let Some(record) = reader.next_record() {
            let record = record?;
            let tensor = match record.decode() {
                Ok(tensor) => tensor,
                Err(e) if args.skip_corrupt => {
                    out.flush()?;
                    crate::warn(&format!("tfrec: {}", e.with_path(name)));
                    continue;
                }
                Err(e) => return Err(e.with_path(name).into()),
            };
            if args.jsonl {
                tfrec::json::write_record_json(out, name, record.index, record.offset, &tensor)?;
            } else {
                line.clear();
                describe(&mut line, name, record.index, &tensor);
                out.write_all(line.as_bytes())?;
            }
            if args.follow {
                out.flush()?;
            }
        }
    }
    Ok(())
}

/// Opens one input with the policies the flags ask for.
fn open(args: &Args, name: &str) -> Result<Reader, Failure> {
    let mut options = inputs::options();
    if args.skip_corrupt {
        options = options.corruption(CorruptionPolicy::Skip);
        if let Some(limit) = args.max_skipped {
            options = options.max_skipped(limit);
        }
    }
    let reader = if args.follow && name != "-" {
        let mut follow = Follow::new();
        if let Some(secs) = args.idle_timeout {
            let idle = Duration::try_from_secs_f64(secs)
                .map_err(|e| Failure::Error(format!("--idle-timeout {secs}: {e}")))?;
            follow = follow.idle_timeout(idle);
        }
        Reader::follow(name, options, follow)?
    } else {
        inputs::open(name, options)?
    };
    Ok(reader.on_skip(|skipped| crate::warn(&format!("tfrec: {skipped}"))))
}

/// The records in a dataset's order for one rank and epoch.
fn cat_ordered(args: &Args, out: &mut impl Write) -> Result<(), Failure> {
    if args.files.iter().any(|f| f == "-") {
        return Err(Failure::Error(
            "-: stdin cannot be shuffled or sharded (the order needs every record count first)"
                .into(),
        ));
    }
    let mut builder = Dataset::builder().files(&args.files).mmap(inputs::mmap());
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
