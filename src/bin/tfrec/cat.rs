//! `tfrec cat`: records printed one line each, or as JSON lines.
//!
//! Holds no logic the library lacks: the library reads, detects and
//! decodes the records and writes their JSON; the one-line forms are
//! worded by `describe`.

use std::io::{self, BufWriter, Write};
use std::time::Duration;

use tfrec::example::json::{write_example_json, write_raw_json, write_sequence_example_json};
use tfrec::example::{ExampleView, RecordKind, SequenceExampleView};
use tfrec::read::Follow;
use tfrec::{Reader, TensorView};

use crate::args::{parse_shard, AsKind};
use crate::order::Order;
use crate::output::{warn, Failure};
use crate::{describe, inputs};

/// How `tfrec cat` prints records without `--jsonl` (its help's epilogue).
pub(crate) const LINE_FORMS: &str = "\
Each record is read as what it holds (--as forces a kind) and printed on one line:
  tensor           FILE:INDEX<TAB>DTYPE[SHAPE]<TAB>[v0, v1, ...]
  Example          FILE:INDEX<TAB>example<TAB>NAME=int64[3] [1, 2, 3]; NAME=float[0] []; NAME=none
  SequenceExample  FILE:INDEX<TAB>sequence_example<TAB>context: NAME=...<TAB>feature_lists: NAME=steps[S] STEP | STEP | ...
  anything else    FILE:INDEX<TAB>raw<TAB>N bytes<TAB>b\"...\"
A feature is KIND[N] (int64, float, bytes; `none` when no kind is set) and its first 8 values;
a byte string shows its first 32 bytes, a feature list its first 4 steps; names are escaped
like Rust strings; (none) stands for no features or lists.";

/// Print every record, one line each, or one JSON object per record with
/// `--jsonl`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// One JSON object per record, "file", "index" and "offset" first.
    /// Tensors: "dtype", "shape", "data" (base64 of the little-endian
    /// bytes; string tensors "strings", a list of base64). Examples:
    /// "features": {NAME: {"int64_list": [ints]} | {"float_list": [numbers,
    /// "nan", "inf", "-inf"]} | {"bytes_list": [base64, ...]} | {}}.
    /// SequenceExamples: "context" (like "features") and "feature_lists":
    /// {NAME: [feature, ...]}. Anything else: "raw", base64 of the payload.
    #[arg(long)]
    jsonl: bool,
    /// Read every record as this kind instead of detecting it; a record
    /// that is not one is an error (with --skip-corrupt: reported and
    /// skipped). Detection calls a record a tensor only if it is a valid
    /// TensorProto, an Example or SequenceExample only if it has no unknown
    /// fields, and anything else raw.
    #[arg(long = "as", value_enum, value_name = "KIND")]
    as_kind: Option<AsKind>,
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
    /// the kind --as asks for) is reported on stderr with its file, offset,
    /// size and reason; the exit status stays 0 unless --max-skipped is
    /// exceeded.
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
    pub(crate) files: Vec<String>,
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    cat_all(&args, &mut out)?;
    out.flush()?;
    Ok(())
}

fn cat_all(args: &Args, out: &mut impl Write) -> Result<(), Failure> {
    if let Some(order) = Order::asked(args.shuffle, args.shard, args.epoch) {
        return cat_ordered(args, &order, out);
    }
    let mut line = String::new();
    for name in &args.files {
        let mut reader = open(args, name)?;
        while let Some(record) = reader.next_record() {
            let record = record?;
            print_record(
                args,
                out,
                &mut line,
                name,
                record.index,
                record.offset,
                &record.payload,
            )?;
            if args.follow {
                out.flush()?;
            }
        }
    }
    Ok(())
}

/// One record read as what `--as` asks for, or as what it holds.
enum Shown<'a> {
    Tensor(TensorView<'a>),
    Example(ExampleView<'a>),
    SequenceExample(SequenceExampleView<'a>),
    Raw(&'a [u8]),
}

fn read_as(payload: &[u8], as_kind: Option<AsKind>) -> tfrec::Result<Shown<'_>> {
    let kind = match as_kind {
        Some(AsKind::Tensor) => return TensorView::decode(payload).map(Shown::Tensor),
        Some(AsKind::Example) => return ExampleView::parse(payload).map(Shown::Example),
        Some(AsKind::Sequence) => {
            return SequenceExampleView::parse(payload).map(Shown::SequenceExample)
        }
        Some(AsKind::Raw) => return Ok(Shown::Raw(payload)),
        None => RecordKind::detect(payload),
    };
    // Detection parsed the payload already; should a second parse fail
    // all the same, the record is shown raw rather than lost.
    let shown = match kind {
        RecordKind::Tensor => TensorView::decode(payload).ok().map(Shown::Tensor),
        RecordKind::Example => ExampleView::parse(payload).ok().map(Shown::Example),
        RecordKind::SequenceExample => SequenceExampleView::parse(payload)
            .ok()
            .map(Shown::SequenceExample),
        RecordKind::Raw => None,
    };
    Ok(shown.unwrap_or(Shown::Raw(payload)))
}

/// Prints one record, or with --skip-corrupt reports one that is not the
/// kind asked for.
fn print_record(
    args: &Args,
    out: &mut impl Write,
    line: &mut String,
    name: &str,
    index: u64,
    offset: u64,
    payload: &[u8],
) -> Result<(), Failure> {
    let shown = match read_as(payload, args.as_kind) {
        Ok(shown) => shown,
        Err(e) => {
            let e = e.at_record(offset, index).with_path(name);
            if args.skip_corrupt {
                out.flush()?;
                warn(&format!("tfrec: {e}"));
                return Ok(());
            }
            return Err(e.into());
        }
    };
    if args.jsonl {
        match &shown {
            Shown::Tensor(t) => tfrec::json::write_record_json(out, name, index, offset, t)?,
            Shown::Example(ex) => write_example_json(out, name, index, offset, ex)?,
            Shown::SequenceExample(seq) => {
                write_sequence_example_json(out, name, index, offset, seq)?
            }
            Shown::Raw(bytes) => write_raw_json(out, name, index, offset, bytes)?,
        }
    } else {
        line.clear();
        match &shown {
            Shown::Tensor(t) => describe::tensor(line, name, index, t),
            Shown::Example(ex) => describe::example(line, name, index, ex),
            Shown::SequenceExample(seq) => describe::sequence_example(line, name, index, seq),
            Shown::Raw(bytes) => describe::raw(line, name, index, bytes),
        }
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Opens one input with the policies the flags ask for.
fn open(args: &Args, name: &str) -> Result<Reader, Failure> {
    let options = inputs::options_skipping(args.skip_corrupt, args.max_skipped);
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
    Ok(inputs::report_skips(reader))
}

/// The records in a dataset's order for one rank and epoch.
fn cat_ordered(args: &Args, order: &Order, out: &mut impl Write) -> Result<(), Failure> {
    let mut line = String::new();
    order.for_each(&args.files, |id, offset, payload| {
        let name = args.files.get(id.file).map_or("", String::as_str);
        print_record(args, out, &mut line, name, id.index, offset, payload)
    })
}
