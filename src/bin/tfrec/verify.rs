//! `tfrec verify`.

use std::io::{self, Write};

use tfrec::verify;

use crate::{inputs, progress, Failure};

/// Check every frame, both CRCs, and that every payload decodes as a valid
/// tensor. Exit 0 when all files are sound; otherwise one line per problem
/// on stderr (file, record index, byte offset, kind) and exit 1.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// TFRecord files (uncompressed, GZIP or ZLIB); `-` for stdin.
    #[arg(required = true)]
    files: Vec<String>,
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let bar = progress::bytes_bar(progress::total_size(&args.files), "verify");
    let tick = |n: u64| bar.inc(n);
    let mut problems = 0usize;
    let mut summary = Vec::new();
    for name in &args.files {
        let report = if name == "-" {
            inputs::open(name, inputs::options())
                .map(|mut reader| verify::verify_reader(&mut reader, &tick))
        } else {
            verify::verify_file(name, inputs::options(), &tick)
        };
        match report {
            Ok(report) => {
                for p in &report.problems {
                    bar.suspend(|| crate::warn(p));
                }
                problems += report.problems.len();
                let verdict = if report.is_ok() { "ok" } else { "FAILED" };
                summary.push(format!(
                    "{name}\t{verdict}\t{} records\t{} bytes",
                    report.records, report.bytes
                ));
            }
            Err(e) => {
                problems += 1;
                bar.suspend(|| crate::warn(&e));
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
