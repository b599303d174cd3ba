//! `tfrec verify`.
//!
//! Holds no logic the library lacks: `tfrec::verify` checks the files; this
//! module prints its problems and summaries.

use std::io::{self, Write};

use tfrec::example::RecordKind;
use tfrec::verify;

use crate::args::AsKind;
use crate::output::{warn, Failure};
use crate::{inputs, progress};

/// How `tfrec verify` decides what a file holds (its help's epilogue).
pub(crate) const KIND_RULE: &str = "\
What a file holds is decided from its records, each detected as `tfrec cat` does (a valid
TensorProto is a tensor; an Example or SequenceExample must have no unknown fields), empty
payloads ignored (an empty payload is a valid Example, SequenceExample and raw record):
  tensor            more than half of the non-empty records are tensors;
  example           more than half are Examples or SequenceExamples, and Examples outnumber
                    SequenceExamples (records with feature lists);
  sequence_example  as above, with at least as many SequenceExamples as Examples
                    (an Example is a valid SequenceExample without feature lists);
  raw               otherwise (a mixed file, or no non-empty records).
Every record is then checked against that kind: framing and both CRCs always, and a tensor
within the decode bounds, an Example or a SequenceExample without unknown fields (raw: nothing
more). A record of another kind is a problem. --as forces the kind.
Summary line per file on stdout: FILE<TAB>ok|FAILED<TAB>KIND<TAB>N records<TAB>B bytes.";

/// Check every frame, both CRCs, and that every payload is a valid record
/// of the kind the file holds (tensor, example, sequence_example or raw;
/// decided from its records, see below). Exit 0 when all files are sound;
/// otherwise one line per problem on stderr (file, record index, byte
/// offset, what is wrong) and exit 1.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Check every record as this kind instead of the kind decided from
    /// the records; a record that is not one is a problem.
    #[arg(long = "as", value_enum, value_name = "KIND")]
    as_kind: Option<AsKind>,
    /// TFRecord files (uncompressed, GZIP or ZLIB); `-` for stdin.
    #[arg(required = true)]
    pub(crate) files: Vec<String>,
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let bar = progress::bytes_bar(progress::total_size(&args.files), "verify");
    let tick = |n: u64| bar.inc(n);
    let kind = args.as_kind.map(RecordKind::from);
    let mut problems = 0usize;
    let mut summary = Vec::new();
    for name in &args.files {
        let report = if name == "-" {
            inputs::open(name, inputs::options())
                .map(|mut reader| verify::verify_reader_as(&mut reader, kind, &tick))
        } else {
            verify::verify_file_as(name, inputs::options(), kind, &tick)
        };
        match report {
            Ok(report) => {
                for p in &report.problems {
                    bar.suspend(|| warn(p));
                }
                problems += report.problems.len();
                let verdict = if report.is_ok() { "ok" } else { "FAILED" };
                summary.push(format!(
                    "{name}\t{verdict}\t{}\t{} records\t{} bytes",
                    report.kind, report.records, report.bytes
                ));
            }
            Err(e) => {
                problems += 1;
                bar.suspend(|| warn(&e));
                summary.push(format!("{name}\tFAILED"));
            }
        }
    }
    bar.finish_and_clear();
    let mut out = io::stdout().lock();
    for line in summary {
        writeln!(out, "{line}")?;
    }
    if problems == 0 {
        Ok(())
    } else {
        Err(Failure::Reported)
    }
}
