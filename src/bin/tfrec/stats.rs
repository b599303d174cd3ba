//! `tfrec stats`.

use std::io::{self, Write};

use tfrec::stats::{self, Stats};

use crate::{inputs, progress, Failure};

/// Read every record (in parallel) and report records, bytes, and per
/// dtype the tensors, elements, sum, min and max (exact integers for integer
/// dtypes, f64 for floats with NaNs left out, the count of true for bool),
/// plus how many tensors had each shape.
///
/// Records that are not tensors are counted by kind (example,
/// sequence_example, raw: anything else, invalid tensors included), and for
/// each feature name of Examples and SequenceExample contexts: its kind,
/// the records that carry it, and how many records had it with each number
/// of values; for each feature list: its kind, the records that carry it,
/// and how many had each number of steps.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// One line of JSON: {"records": N, "bytes": B, "dtypes": {NAME:
    /// {"tensors", "elements", "sum", "min", "max"}}, "shapes": {"[d0, d1]": N}};
    /// when some records are not tensors, also "kinds": {"tensor": N,
    /// "example": N, "sequence_example": N, "raw": N}, "features": {NAME:
    /// {"kind": K, "records": N, "value_counts": {"V": N}}} (and "kinds":
    /// {K: N} for a name seen with several kinds), "feature_lists": {NAME:
    /// {"kind": K, "records": N, "lengths": {"L": N}}}.
    #[arg(long)]
    json: bool,
    /// TFRecord files (uncompressed, GZIP or ZLIB); `-` for stdin. The
    /// statistics cover all of them together.
    #[arg(required = true)]
    files: Vec<String>,
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let bar = progress::bytes_bar(progress::total_size(&args.files), "stats");
    let tick = |n: u64| bar.inc(n);
    let mut total = Stats::new();
    for name in &args.files {
        let one = if name == "-" {
            inputs::open(name, inputs::options())
                .and_then(|mut reader| stats::stats_reader(&mut reader, &tick))
        } else {
            stats::stats_file(name, &tick)
        };
        let merged = one.and_then(|s| total.merge(&s));
        if let Err(e) = merged {
            bar.finish_and_clear();
            return Err(e.into());
        }
    }
    bar.finish_and_clear();
    let mut out = io::stdout().lock();
    if args.json {
        writeln!(out, "{}", total.to_json())?;
    } else {
        out.write_all(total.to_text().as_bytes())?;
    }
    out.flush()?;
    Ok(())
}
