//! `tfrec`: inspect, pack, count and verify TFRecord files of tensors and
//! `tf.train.Example`s.
//!
//! This file holds the command table and the exit status; each command
//! lives in its own module, the pieces several share in `args`, `inputs`,
//! `order`, `output` and `progress`, which know nothing of the commands
//! that use them. The work itself is the library's: a command parses its
//! flags, calls the library and prints.

mod args;
mod cat;
mod convert;
mod count;
mod describe;
mod index;
mod inputs;
mod order;
mod output;
mod pack;
mod progress;
mod stats;
mod unpack;
mod verify;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::Failure;

/// Fast, checked TFRecord files of tensors.
#[derive(Parser)]
#[command(name = "tfrec", version, about, propagate_version = true)]
struct Cli {
    /// Read files with plain reads instead of memory-mapping them: for files
    /// rewritten in place while being read, or that live on a network file
    /// system. Output is the same either way (a mapped file cut short while
    /// read is an error, not a crash).
    #[arg(long, global = true)]
    no_mmap: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print records (tensors, Examples, SequenceExamples, raw bytes): one
    /// line each with the first values, or JSON lines.
    #[command(after_help = cat::LINE_FORMS)]
    Cat(cat::Args),
    /// Write tensors from .npy files, and tensors, Examples,
    /// SequenceExamples or raw records from JSON-lines files, into a
    /// TFRecord file.
    Pack(pack::Args),
    /// Write tensor records as `.npy` files, one per record or stacked per
    /// dtype and shape.
    Unpack(unpack::Args),
    /// Count records by walking the frame headers.
    Count(count::Args),
    /// Check every frame, both CRCs, and that every payload is a valid
    /// record of the kind the file holds (decided from its records, or --as).
    #[command(after_help = verify::KIND_RULE)]
    Verify(verify::Args),
    /// Report records per kind, what they hold and payload sizes; per dtype
    /// the tensors' counts, sums, ranges and shapes; per Example feature its
    /// kind and value counts.
    Stats(stats::Args),
    /// Write a `FILE.idx` sidecar (offset and length of every record).
    Index(index::Args),
    /// Re-shard, compress, decompress or shuffle records into a directory.
    Convert(convert::Args),
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    inputs::set_no_mmap(cli.no_mmap);
    let names = match &mut cli.command {
        Command::Cat(args) => Some(&mut args.files),
        Command::Unpack(args) => Some(&mut args.files),
        Command::Count(args) => Some(&mut args.files),
        Command::Verify(args) => Some(&mut args.files),
        Command::Stats(args) => Some(&mut args.files),
        Command::Index(args) => Some(&mut args.files),
        Command::Convert(args) => Some(&mut args.inputs),
        Command::Pack(_) => None,
    };
    // The shell expands globs over local files; globs over keys are
    // expanded here.
    if let Some(names) = names {
        match inputs::expand_object_globs(std::mem::take(names)) {
            Ok(expanded) => *names = expanded,
            Err(e) => {
                let _ = writeln!(io::stderr(), "tfrec: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let result = match cli.command {
        Command::Cat(args) => cat::run(args),
        Command::Pack(args) => pack::run(args),
        Command::Unpack(args) => unpack::run(args),
        Command::Count(args) => count::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Stats(args) => stats::run(args),
        Command::Index(args) => index::run(args),
        Command::Convert(args) => convert::run(args),
    };
    match result {
        Ok(()) | Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Reported) => ExitCode::from(1),
        Err(Failure::Error(msg)) => {
            let _ = writeln!(io::stderr(), "tfrec: {msg}");
            ExitCode::from(1)
        }
    }
}
