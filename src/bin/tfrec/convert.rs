//! `tfrec convert`, and the sharding options it shares with `tfrec pack`.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use tfrec::write::sharded::{self, Manifest, ShardOptions, ShardedWriter, Sharding};
use tfrec::{Reader, Result as TfResult};

use crate::pack::CompressionArg;
use crate::{progress, Failure};

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

/// How to split output into shards (`convert`, `pack --out-dir`).
#[derive(clap::Args)]
pub(crate) struct ShardingArgs {
    /// File name stem of the shards [default: the first input's name
    /// without its extensions and any -NNNNN-of-NNNNN suffix; `data` for
    /// stdin].
    #[arg(long, value_name = "NAME", value_parser = parse_stem)]
    pub(crate) stem: Option<String>,
    /// Exactly N shards; record i goes to shard i % N [default: 1 shard].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000),
          conflicts_with_all = ["records_per_shard", "bytes_per_shard"])]
    pub(crate) shards: Option<u64>,
    /// A new shard every N records.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..),
          conflicts_with = "bytes_per_shard")]
    pub(crate) records_per_shard: Option<u64>,
    /// A new shard before a record would take the shard past SIZE bytes of
    /// (uncompressed) frames; a bigger record gets a shard of its own. SIZE
    /// is bytes, or a number with K, M, G, T (powers of 1024; also KiB,
    /// MiB, ...) or KB, MB, GB, TB (powers of 1000): 100M, 1G, 64KiB.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) bytes_per_shard: Option<u64>,
    /// Do not fsync files and the directory (scratch output: a crash of the
    /// machine may lose data; a killed process still leaves only whole
    /// files under final names).
    #[arg(long)]
    pub(crate) no_fsync: bool,
}

impl ShardingArgs {
    pub(crate) fn sharding(&self) -> Sharding {
        match (self.shards, self.records_per_shard, self.bytes_per_shard) {
            (_, Some(n), _) => Sharding::RecordsPerShard(n),
            (_, _, Some(n)) => Sharding::BytesPerShard(n),
            (Some(n), _, _) => Sharding::Shards(n),
            (None, None, None) => Sharding::Shards(1),
        }
    }

    /// The stem given, or one made from the first input's name.
    pub(crate) fn stem_for(&self, first_input: &str) -> String {
        self.stem
            .clone()
            .unwrap_or_else(|| default_stem(first_input))
    }

    /// Opens the writer, after removing what killed jobs of the stem left.
    pub(crate) fn writer(
        &self,
        out_dir: &Path,
        stem: &str,
        options: ShardOptions,
    ) -> TfResult<ShardedWriter> {
        if out_dir.is_dir() {
            sharded::cleanup(out_dir, stem)?;
        }
        ShardedWriter::create(out_dir, stem, options.sync(!self.no_fsync))
    }
}

pub(crate) fn run(args: Args) -> Result<(), Failure> {
    // A missing input is reported before anything is created.
    for name in args.inputs.iter().filter(|n| n.as_str() != "-") {
        crate::inputs::check_exists(name)?;
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

/// One line on stdout: where the manifest is, and what the job wrote.
pub(crate) fn report(out_dir: &Path, manifest: &Manifest) -> Result<(), Failure> {
    let path = out_dir.join(Manifest::file_name(&manifest.stem));
    writeln!(
        io::stdout().lock(),
        "{}\t{} shards\t{} records\t{} bytes",
        path.display(),
        manifest.shards.len(),
        manifest.records(),
        manifest.bytes()
    )?;
    Ok(())
}

fn is_regular(name: &str) -> bool {
    name != "-" && std::fs::metadata(name).is_ok_and(|m| m.is_file())
}

/// Opens an input: regular files with [`Reader::open`]; stdin and other
/// streams once, as streams, advancing `bar` (when given) by the bytes read
/// from them.
fn open(name: &str, bar: Option<&ProgressBar>, args: &Args) -> TfResult<Reader> {
    let options = crate::inputs::options_skipping(args.skip_corrupt, args.max_skipped);
    open_with(name, bar, options).map(crate::inputs::report_skips)
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

/// The stem for outputs made from `input`: its file name without TFRecord
/// and compression extensions and without a `-NNNNN-of-NNNNN` shard suffix;
/// `data` for stdin or when nothing is left.
pub(crate) fn default_stem(input: &str) -> String {
    const EXTENSIONS: [&str; 12] = [
        "tfrecord",
        "tfrecords",
        "tfrec",
        "records",
        "gz",
        "gzip",
        "zlib",
        "deflate",
        "zz",
        "npy",
        "jsonl",
        "json",
    ];
    let name = match Path::new(input).file_name().and_then(|n| n.to_str()) {
        Some(n) if input != "-" => n,
        _ => return "data".to_string(),
    };
    let mut stem = name;
    while let Some((base, ext)) = stem.rsplit_once('.') {
        if base.is_empty() || !EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) {
            break;
        }
        stem = base;
    }
    if let Some((base, of)) = stem.rsplit_once("-of-") {
        if let Some((base, index)) = base.rsplit_once('-') {
            let digits = |s: &str| s.len() >= 5 && s.bytes().all(|b| b.is_ascii_digit());
            if digits(index) && digits(of) && !base.is_empty() {
                stem = base;
            }
        }
    }
    if parse_stem(stem).is_ok() {
        stem.to_string()
    } else {
        "data".to_string()
    }
}

fn parse_stem(s: &str) -> Result<String, String> {
    if s.is_empty() || s.starts_with('.') || s.contains(['/', '\\', '\0']) {
        return Err("a stem must be a non-empty file name, not starting with '.'".into());
    }
    Ok(s.to_string())
}

/// Parses SIZE: bytes, or a number with a unit (K/M/G/T and KiB.. are
/// powers of 1024, KB/MB/GB/TB powers of 1000), case-insensitive.
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = s.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a size such as 1048576, 100M, 1G or 64KiB"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => {
            return Err(format!(
                "{s:?}: unknown unit {unit:?} (use K, M, G, T, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
            ))
        }
    };
    let size = number
        .checked_mul(scale)
        .ok_or_else(|| format!("{s:?} is too large"))?;
    if size == 0 {
        return Err("the size must be at least 1 byte".into());
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        for (text, want) in [
            ("1", 1),
            ("4096", 4096),
            ("100M", 100 << 20),
            ("1G", 1 << 30),
            ("64KiB", 64 << 10),
            ("64kib", 64 << 10),
            ("2MB", 2_000_000),
            ("3 GiB", 3 << 30),
            ("1T", 1 << 40),
            ("7b", 7),
        ] {
            assert_eq!(parse_size(text), Ok(want), "{text}");
        }
        for bad in [
            "",
            "M",
            "0",
            "0K",
            "1.5G",
            "-1",
            "10X",
            "99999999999999999999",
            "20000000T",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stems() {
        for (input, want) in [
            ("images.tfrecord", "images"),
            ("dir/images.gz.tfrecord", "images"),
            ("train-00003-of-00010.tfrecord.gz", "train"),
            ("train-00003-of-00010.tfrecord.deflate", "train"),
            ("train-00003-of-00010.tfrecord", "train"),
            ("a.b.tfrecord", "a.b"),
            ("x.npy", "x"),
            ("-", "data"),
            (".tfrecord", "data"),
            ("noext", "noext"),
            ("-00001-of-00002.tfrecord", "-00001-of-00002"),
        ] {
            assert_eq!(default_stem(input), want, "{input}");
        }
    }
}
