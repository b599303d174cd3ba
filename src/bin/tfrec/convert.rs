//! `tfrec convert`: records copied, shuffled or salvaged into shards.
//!
//! Holds no logic the library lacks: it turns flags into calls on the
//! sharded writer and readers, and shows progress.

use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use indicatif::ProgressBar;
use tfrec::write::sharded::ShardOptions;
use tfrec::{Reader, Result as TfResult};

use crate::args::{CompressionArg, ShardingArgs};
use crate::output::{report, Failure};
use crate::{inputs, progress};

/// Copy the records of TFRecord files into shards
/// `{stem}-{i:05}-of-{n:05}.tfrecord` in DIR (`.tfrecord.gz` with
/// --compression gzip, `.tfrecord.deflate` with zlib: the suffixes Beam and
/// gzip recognise), each with a sidecar named after it plus `.idx`
/// (`offset length` per record), and `{stem}.manifest.json` last. Every
/// record is kept byte for byte (any payload, not only tensors); input
/// compression is detected by content. Shards are written under hidden
/// temporary names and renamed into place only when complete; temporary
/// files a killed run of the same stem left in DIR are removed first.
/// Prints `MANIFEST<TAB>N shards<TAB>R records<TAB>B bytes`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Output directory (created if missing).
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
    #[command(flatten)]
    sharding: ShardingArgs,
    /// Compression of the output shards; it sets their suffix: none
    /// `.tfrecord`, gzip `.tfrecord.gz`, zlib `.tfrecord.deflate` (a zlib
    /// stream, as TensorFlow's ZLIB; Beam reads `.deflate` files as one).
    #[arg(long, value_enum, default_value = "none")]
    compression: CompressionArg,
    /// Shuffle all records with this seed (the same seed and inputs give the
    /// same output). Compressed and piped inputs are spooled, decompressed,
    /// to a hidden file in DIR first.
    #[arg(long, value_name = "SEED")]
    shuffle: Option<u64>,
    /// Salvage damaged inputs: skip damaged records (going on at the next
    /// sound frame) instead of failing; each skipped stretch is reported on
    /// stderr. The exit status stays 0 unless --max-skipped is exceeded.
    #[arg(long)]
    skip_corrupt: bool,
    /// With --skip-corrupt: fail once more than N damaged stretches have
    /// been skipped in one input.
    #[arg(long, value_name = "N", requires = "skip_corrupt")]
    max_skipped: Option<u64>,
    /// TFRecord files (uncompressed, GZIP or ZLIB); `-` for stdin.
    #[arg(required = true)]
    pub(crate) inputs: Vec<String>,
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    // A missing input is reported before anything is created.
    for name in args.inputs.iter().filter(|n| n.as_str() != "-") {
        inputs::check_exists(name)?;
    }
    let stem = args.sharding.stem_for(&args.inputs[0]);
    let options = ShardOptions::new(args.sharding.sharding()).compression(args.compression.into());
    let mut writer = args.sharding.writer(&args.out_dir, &stem, options)?;
    let bar = progress::bytes_bar(progress::total_size(&args.inputs), "convert");
    let tick = |n: u64| bar.inc(n);
    match args.shuffle {
        Some(seed) => {
            let mut readers = Vec::with_capacity(args.inputs.len());
            for name in &args.inputs {
                readers.push(open(name, None, &args)?);
            }
            writer.copy_shuffled(&mut readers, seed, &tick)?;
        }
        None => {
            for name in &args.inputs {
                if is_regular(name) && !args.skip_corrupt {
                    writer.copy_file(name, &tick)?;
                } else {
                    // Progress comes from the bytes read off the stream.
                    let mut reader = open(name, Some(&bar), &args)?;
                    writer.copy_from(&mut reader, &|_| {})?;
                }
            }
        }
    }
    let manifest = writer.finish()?;
    bar.finish_and_clear();
    report(&args.out_dir, &manifest)
}

fn is_regular(name: &str) -> bool {
    name != "-" && std::fs::metadata(name).is_ok_and(|m| m.is_file())
}

/// Opens an input: regular files with [`Reader::open`]; stdin and other
/// streams once, as streams, advancing `bar` (when given) by the bytes read
/// from them.
fn open(name: &str, bar: Option<&ProgressBar>, args: &Args) -> TfResult<Reader> {
    let options = inputs::options_skipping(args.skip_corrupt, args.max_skipped);
    open_with(name, bar, options).map(inputs::report_skips)
}

fn open_with(
    name: &str,
    bar: Option<&ProgressBar>,
    options: tfrec::ReadOptions,
) -> TfResult<Reader> {
    let counted = |r: Box<dyn Read + Send>| -> Box<dyn Read + Send> {
        match bar {
            Some(bar) => Box::new(Counting {
                inner: r,
                bar: bar.clone(),
            }),
            None => r,
        }
    };
    if name == "-" {
        return Reader::from_read_with(counted(Box::new(io::stdin())), options)
            .map(|r| r.with_path("-"))
            .map_err(|e| e.with_path("-"));
    }
    if is_regular(name) || tfrec::storage::is_remote(name) {
        return Reader::open_with(name, options);
    }
    // Read once, as a stream: a pipe cannot be opened twice.
    let file = File::open(name).map_err(|e| tfrec::Error::from(e).with_path(name))?;
    Reader::from_read_with(counted(Box::new(file)), options)
        .map(|r| r.with_path(name))
        .map_err(|e| e.with_path(name))
}

struct Counting {
    inner: Box<dyn Read + Send>,
    bar: ProgressBar,
}

impl Read for Counting {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}
