//! `tfrec stats`.
//!
//! Holds no logic the library lacks: `tfrec::stats` gathers, merges and
//! words the statistics, `tfrec::verify` checks `--as`; this module prints
//! them and reports what does not fit.

use std::io::{self, Write};

use tfrec::example::RecordKind;
use tfrec::stats::{self, Stats};
use tfrec::verify;

use crate::args::AsKind;
use crate::output::{warn, Failure};
use crate::{inputs, progress};

/// Read every record (in parallel) and report records, bytes, what the
/// records hold (`holds`: tensor, example, sequence_example or raw, by the
/// rule `tfrec verify --help` gives), payload sizes (smallest, mean,
/// largest, empty), and per dtype the tensors, elements, sum, min and max
/// (exact integers for integer dtypes, f64 for floats with NaNs left out,
/// the count of true for bool), plus how many tensors had each shape.
///
/// Records that are not tensors are counted by kind (example,
/// sequence_example, raw: anything else, invalid tensors included), and for
/// each feature name of Examples and SequenceExample contexts: its kind,
/// the records that carry it, and how many records had it with each number
/// of values; for each feature list: its kind, the records that carry it,
/// and how many had each number of steps. Records of no known kind are no
/// error: only damaged framing is.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// One line of JSON: {"records": N, "bytes": B, "holds": KIND, "sizes":
    /// {"min", "mean", "max", "empty"}, "dtypes": {NAME: {"tensors",
    /// "elements", "sum", "min", "max"}}, "shapes": {"[d0, d1]": N}};
    /// when some records are not tensors, also "kinds": {"tensor": N,
    /// "example": N, "sequence_example": N, "raw": N}, "features": {NAME:
    /// {"kind": K, "records": N, "value_counts": {"V": N}}} (and "kinds":
    /// {K: N} for a name seen with several kinds), "feature_lists": {NAME:
    /// {"kind": K, "records": N, "lengths": {"L": N}}}.
    #[arg(long)]
    json: bool,
    /// Also check that every record is this kind, as `tfrec verify --as`
    /// does: each record that is not is reported on stderr (file, record
    /// index, offset) and the exit status is 1; the statistics are still
    /// printed.
    #[arg(long = "as", value_enum, value_name = "KIND")]
    as_kind: Option<AsKind>,
    /// TFRecord files (uncompressed, GZIP or ZLIB); `-` for stdin. The
    /// statistics cover all of them together.
    #[arg(required = true)]
    pub(crate) files: Vec<String>,
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let bar = progress::bytes_bar(progress::total_size(&args.files), "stats");
    let tick = |n: u64| bar.inc(n);
    let mut total = Stats::new();
    let mut misfits = 0usize;
    for name in &args.files {
        let one = match args.as_kind.map(RecordKind::from) {
            Some(kind) => stats_as(name, kind, &tick, &mut misfits),
            None => stats_one(name, &tick),
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
    if misfits > 0 {
        return Err(Failure::Reported);
    }
    Ok(())
}

fn stats_one(name: &str, tick: &(dyn Fn(u64) + Sync)) -> tfrec::Result<Stats> {
    if name == "-" {
        inputs::open(name, inputs::options())
            .and_then(|mut reader| stats::stats_reader(&mut reader, tick))
    } else {
        stats::stats_file(name, tick)
    }
}

/// Statistics of one input after checking its records against `kind`;
/// stdin, read once, is tallied from the records kept in memory.
fn stats_as(
    name: &str,
    kind: RecordKind,
    tick: &(dyn Fn(u64) + Sync),
    misfits: &mut usize,
) -> tfrec::Result<Stats> {
    let report = if name == "-" {
        // Stdin can be read only once: keep its records for the tally.
        let mut data = Vec::new();
        let mut reader = inputs::open(name, inputs::options())?;
        let mut writer = tfrec::Writer::new(&mut data);
        while let Some(record) = reader.next_record() {
            writer.write_record(&record?.payload)?;
        }
        writer.finish()?;
        let report = verify::verify_bytes_as(&data, Some(kind), &|_| {});
        let mut again = tfrec::Reader::from_read(io::Cursor::new(data))?.with_path("-");
        let stats = stats::stats_reader(&mut again, tick)?;
        report_misfits(&report, name, misfits);
        return Ok(stats);
    } else {
        verify::verify_file_as(name, inputs::options(), Some(kind), &|_| {})?
    };
    report_misfits(&report, name, misfits);
    stats::stats_file(name, tick)
}

/// Reports the records that are not the kind asked for; damaged framing is
/// left to the tally, which stops on it.
fn report_misfits(report: &verify::Report, name: &str, misfits: &mut usize) {
    for p in &report.problems {
        if matches!(
            p.kind(),
            tfrec::ErrorKind::InvalidTensor { .. }
                | tfrec::ErrorKind::UnsupportedDType { .. }
                | tfrec::ErrorKind::InvalidExample { .. }
        ) {
            if p.path().is_some() {
                warn(&format!("tfrec: {p}"));
            } else {
                warn(&format!("tfrec: {name}: {p}"));
            }
            *misfits += 1;
        }
    }
}
