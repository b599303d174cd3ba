//! Arguments more than one command takes, and their parsers: the sharding
//! options and output compression of `convert` and `pack --out-dir`, the
//! stem made from an input's name (also `unpack`), `--shard RANK/WORLD`
//! (`cat`, `unpack`) and the kinds `--as` can force (`cat`, `verify`,
//! `stats`).
//!
//! Knows nothing of what the commands do with them, and holds no logic the
//! library lacks: it parses flags and names the library's options.

use std::path::Path;

use tfrec::example::RecordKind;
use tfrec::write::sharded::{self, ShardOptions, ShardedWriter, Sharding};
use tfrec::{Compression, Result as TfResult};

/// `--compression` of `convert` and `pack`.
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

/// The kinds `--as` can force (`cat`, `verify`, `stats`).
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum AsKind {
    /// A `TensorProto` (`tf.io.serialize_tensor`).
    Tensor,
    /// A `tf.train.Example`.
    Example,
    /// A `tf.train.SequenceExample`.
    Sequence,
    /// Opaque bytes.
    Raw,
}

impl From<AsKind> for RecordKind {
    fn from(kind: AsKind) -> RecordKind {
        match kind {
            AsKind::Tensor => RecordKind::Tensor,
            AsKind::Example => RecordKind::Example,
            AsKind::Sequence => RecordKind::SequenceExample,
            AsKind::Raw => RecordKind::Raw,
        }
    }
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

/// Parses `--shard RANK/WORLD` (`cat`, `unpack`).
pub(crate) fn parse_shard(text: &str) -> Result<(usize, usize), String> {
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
