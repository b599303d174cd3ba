//! `tfrec pack`.

use std::fs;
use std::io::{self, BufRead, BufReader, Read};

use tfrec::{Compression, Tensor, Writer};

use crate::Failure;

/// Write tensors into a TFRecord file, one record each, byte-identical to
/// `tf.io.serialize_tensor`. The output appears only once complete.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Output file.
    #[arg(short, long)]
    output: String,
    /// Compression of the output.
    #[arg(long, value_enum, default_value = "none")]
    compression: CompressionArg,
    /// `.npy` files (one tensor each) or JSON-lines files in the
    /// `tfrec cat --jsonl` schema (one tensor per line); `-` for stdin.
    /// Recognised by content.
    #[arg(required = true)]
    inputs: Vec<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum CompressionArg {
    None,
    Gzip,
    Zlib,
}

impl From<CompressionArg> for Compression {
    fn from(c: CompressionArg) -> Compression {
        match c {
            CompressionArg::None => Compression::None,
            CompressionArg::Gzip => Compression::Gzip,
            CompressionArg::Zlib => Compression::Zlib,
        }
    }
}

const NPY_MAGIC: &[u8] = b"\x93NUMPY";

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    let mut writer = Writer::create_with(&args.output, args.compression.into())?;
    for name in &args.inputs {
        let raw: Box<dyn Read> = if name == "-" {
            Box::new(io::stdin())
        } else {
            Box::new(fs::File::open(name).map_err(|e| format!("{name}: {e}"))?)
        };
        let mut raw = BufReader::with_capacity(1 << 20, raw);
        // Decide by content; a pipe may deliver the magic in pieces.
        let mut prefix = Vec::with_capacity(NPY_MAGIC.len());
        (&mut raw)
            .take(NPY_MAGIC.len() as u64)
            .read_to_end(&mut prefix)
            .map_err(|e| format!("{name}: {e}"))?;
        let is_npy = prefix == NPY_MAGIC;
        let mut input: Box<dyn BufRead> = Box::new(io::Cursor::new(prefix).chain(raw));
        if is_npy {
            let mut bytes = Vec::new();
            input
                .read_to_end(&mut bytes)
                .map_err(|e| format!("{name}: {e}"))?;
            let tensor = tfrec::npy::read_npy(&bytes).map_err(|e| e.with_path(name))?;
            writer.write_tensor(&tensor)?;
        } else {
            pack_jsonl(name, input, &mut writer)?;
        }
    }
    // Dropping the writer on an error above removes the temporary file.
    writer.finish().map_err(|e| e.with_path(&args.output))?;
    Ok(())
}

fn pack_jsonl<S: tfrec::Sink>(
    name: &str,
    input: Box<dyn BufRead>,
    writer: &mut Writer<S>,
) -> Result<(), Failure> {
    for (lineno, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("{name}: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let tensor: Tensor = tfrec::json::tensor_from_json_line(&line)
            .map_err(|e| format!("{name}: line {}: {e}", lineno + 1))?;
        writer.write_tensor(&tensor)?;
    }
    Ok(())
}
