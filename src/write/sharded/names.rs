//! Shard file names: `{stem}-{i:05}-of-{n:05}` and a suffix telling the
//! compression, the names TensorFlow, Beam and `gzip -t` expect.
//!
//! Knows nothing of files, records or threads.

use crate::compression::Compression;

/// The suffix of a shard's name: `.tfrecord` when uncompressed,
/// `.tfrecord.gz` for GZIP and `.tfrecord.deflate` for ZLIB.
///
/// `.gz` is what Beam's `ReadFromTFRecord` and `gzip` recognise. Beam
/// reads a file ending in `.deflate` as a zlib stream (RFC 1950, the
/// format of TensorFlow's `compression_type="ZLIB"`), so both kinds of
/// compressed shards read without naming their compression; `tfrec`
/// recognises compression by content whatever the name.
///
/// ```
/// use tfrec::write::sharded::shard_suffix;
/// use tfrec::Compression;
/// assert_eq!(shard_suffix(Compression::Gzip), ".tfrecord.gz");
/// assert_eq!(shard_suffix(Compression::Zlib), ".tfrecord.deflate");
/// ```
pub fn shard_suffix(compression: Compression) -> &'static str {
    match compression {
        Compression::None => ".tfrecord",
        Compression::Gzip => ".tfrecord.gz",
        Compression::Zlib => ".tfrecord.deflate",
    }
}

/// The final name of uncompressed shard `index` of `count`:
/// `{stem}-{index:05}-of-{count:05}.tfrecord`.
///
/// ```
/// assert_eq!(tfrec::write::sharded::shard_name("train", 3, 10), "train-00003-of-00010.tfrecord");
/// ```
pub fn shard_name(stem: &str, index: u64, count: u64) -> String {
    shard_name_for(stem, index, count, Compression::None)
}

/// The final name of shard `index` of `count` with `compression`:
/// `{stem}-{index:05}-of-{count:05}` and its [`shard_suffix`].
///
/// ```
/// use tfrec::write::sharded::shard_name_for;
/// use tfrec::Compression;
/// assert_eq!(shard_name_for("train", 3, 10, Compression::Gzip), "train-00003-of-00010.tfrecord.gz");
/// ```
pub fn shard_name_for(stem: &str, index: u64, count: u64, compression: Compression) -> String {
    format!(
        "{stem}-{index:05}-of-{count:05}{}",
        shard_suffix(compression)
    )
}

/// For a shard name of `stem` (any compression's suffix) or its `.idx`,
/// the count `n` and the compression its name says.
pub(super) fn parse_shard_name(name: &str, stem: &str) -> Option<(u64, Compression)> {
    let rest = name.strip_prefix(stem)?.strip_prefix('-')?;
    let rest = rest.strip_suffix(".idx").unwrap_or(rest);
    let (rest, compression) = [Compression::None, Compression::Gzip, Compression::Zlib]
        .into_iter()
        .find_map(|c| rest.strip_suffix(shard_suffix(c)).map(|r| (r, c)))?;
    let (index, count) = rest.split_once("-of-")?;
    let digits = |s: &str| s.len() >= 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(index) || !digits(count) {
        return None;
    }
    Some((count.parse().ok()?, compression))
}

/// True for the temporary files a job writing `stem` makes.
pub(super) fn is_temp_of(name: &str, stem: &str) -> bool {
    let Some(rest) = name
        .strip_prefix('.')
        .and_then(|n| n.strip_prefix(stem))
        .filter(|_| name.ends_with(".tmp"))
    else {
        return false;
    };
    if let Some(rest) = rest.strip_prefix('-') {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        digits >= 5 && rest[digits..].starts_with(".tfrecord.")
    } else {
        rest.starts_with(".manifest.json.") || rest.starts_with(".spool.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names() {
        for yes in [
            ".data-00000.tfrecord.abc123.tmp",
            ".data-123456.tfrecord.idx.x.tmp",
            ".data.manifest.json.Zz9.tmp",
            ".data.spool.q.tmp",
        ] {
            assert!(is_temp_of(yes, "data"), "{yes}");
        }
        for no in [
            "data-00000-of-00001.tfrecord",
            ".data-00000-of-00001.tfrecord.abc.tmp",
            ".data-x-00000.tfrecord.abc.tmp",
            ".data-0000.tfrecord.abc.tmp",
            ".data-00000.tfrecord.abc",
            ".other-00000.tfrecord.abc.tmp",
            ".data.manifest.json",
            "data.spool.q.tmp",
        ] {
            assert!(!is_temp_of(no, "data"), "{no}");
        }
    }

    #[test]
    fn shard_names() {
        let yes = [
            ("data-00001-of-00004.tfrecord", 4, Compression::None),
            (
                "data-00001-of-123456.tfrecord.idx",
                123456,
                Compression::None,
            ),
            ("data-00001-of-00004.tfrecord.gz", 4, Compression::Gzip),
            ("data-00001-of-00004.tfrecord.gz.idx", 4, Compression::Gzip),
            ("data-00003-of-00004.tfrecord.deflate", 4, Compression::Zlib),
        ];
        for (name, count, compression) in yes {
            assert_eq!(
                parse_shard_name(name, "data"),
                Some((count, compression)),
                "{name}"
            );
        }
        for no in [
            "data-1-of-4.tfrecord",
            "data-00001-of-00004.tfrecord.tmp",
            "datax-00001-of-00004.tfrecord",
            "data-x-00001-of-00004.tfrecord",
            "data-00001-of-00004.tfrecord.zz",
            "data-00001-of-00004.tfrecord.idx.idx",
            "data.manifest.json",
        ] {
            assert_eq!(parse_shard_name(no, "data"), None, "{no}");
        }
        for c in [Compression::None, Compression::Gzip, Compression::Zlib] {
            let name = shard_name_for("data", 7, 9, c);
            assert_eq!(parse_shard_name(&name, "data"), Some((9, c)), "{name}");
        }
    }
}
