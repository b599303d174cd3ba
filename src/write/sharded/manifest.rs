//! The JSON manifest of a sharded job.
//!
//! Knows nothing of files, records or threads.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde_json::{json, Map, Value};

use crate::compression::Compression;
use crate::error::{Error, Result};

/// The identifier in a manifest's `"format"` field.
pub const MANIFEST_FORMAT: &str = "tfrec.shards.v1";

/// One shard as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardInfo {
    /// File name, relative to the manifest's directory.
    pub name: String,
    /// File name of its `.idx` sidecar, if one was written.
    pub index: Option<String>,
    /// Records in the shard.
    pub records: u64,
    /// Size of the file in bytes (compressed size for compressed shards).
    pub bytes: u64,
    /// Bytes of its frames before compression (equal to `bytes` when
    /// uncompressed); the offsets in the sidecar count these.
    pub frame_bytes: u64,
    /// Plain (unmasked) CRC32C of the file's bytes as stored.
    pub crc32c: u32,
}

/// What a sharded job wrote: written last, atomically, as
/// `{stem}.manifest.json` beside the shards.
///
/// ```json
/// {
///   "format": "tfrec.shards.v1",
///   "stem": "train",
///   "compression": "none",
///   "records": 3,
///   "bytes": 120,
///   "frame_bytes": 120,
///   "shards": [
///     {"name": "train-00000-of-00002.tfrecord", "index": "train-00000-of-00002.tfrecord.idx",
///      "records": 2, "bytes": 80, "frame_bytes": 80, "crc32c": 3735928559},
///     ...
///   ]
/// }
/// ```
///
/// When the manifest exists, every shard it lists is complete and matches
/// it; [`check`](Manifest::check) confirms that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The shards' common stem.
    pub stem: String,
    /// Compression of every shard.
    pub compression: Compression,
    /// The shards, in index order.
    pub shards: Vec<ShardInfo>,
}

impl Manifest {
    /// The manifest's file name for `stem`.
    pub fn file_name(stem: &str) -> String {
        format!("{stem}.manifest.json")
    }

    /// Records in all shards.
    pub fn records(&self) -> u64 {
        self.shards.iter().map(|s| s.records).sum()
    }

    /// Bytes of all shard files.
    pub fn bytes(&self) -> u64 {
        self.shards.iter().map(|s| s.bytes).sum()
    }

    /// Bytes of all frames before compression.
    pub fn frame_bytes(&self) -> u64 {
        self.shards.iter().map(|s| s.frame_bytes).sum()
    }

    /// The manifest as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        let shards: Vec<Value> = self
            .shards
            .iter()
            .map(|s| {
                json!({
                    "name": s.name,
                    "index": s.index,
                    "records": s.records,
                    "bytes": s.bytes,
                    "frame_bytes": s.frame_bytes,
                    "crc32c": s.crc32c,
                })
            })
            .collect();
        let value = json!({
            "format": MANIFEST_FORMAT,
            "stem": self.stem,
            "compression": self.compression.name(),
            "records": self.records(),
            "bytes": self.bytes(),
            "frame_bytes": self.frame_bytes(),
            "shards": shards,
        });
        let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Parses a manifest, checking that its totals add up.
    pub fn from_json(text: &str) -> Result<Manifest> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid_input(format!("manifest is not JSON: {e}")))?;
        let top = value
            .as_object()
            .ok_or_else(|| Error::invalid_input("manifest is not a JSON object"))?;
        let format = string(top, "format")?;
        if format != MANIFEST_FORMAT {
            return Err(Error::invalid_input(format!(
                "manifest format {format:?}, expected {MANIFEST_FORMAT:?}"
            )));
        }
        let compression: Compression = string(top, "compression")?.parse()?;
        let list = top
            .get("shards")
            .and_then(Value::as_array)
            .ok_or_else(|| Error::invalid_input("manifest has no \"shards\" list"))?;
        let mut shards = Vec::with_capacity(list.len());
        for item in list {
            let s = item
                .as_object()
                .ok_or_else(|| Error::invalid_input("manifest shard is not an object"))?;
            let crc32c = u32::try_from(number(s, "crc32c")?)
                .map_err(|_| Error::invalid_input("manifest crc32c exceeds 32 bits"))?;
            let index = match s.get("index") {
                None | Some(Value::Null) => None,
                Some(_) => Some(string(s, "index")?.to_string()),
            };
            shards.push(ShardInfo {
                name: string(s, "name")?.to_string(),
                index,
                records: number(s, "records")?,
                bytes: number(s, "bytes")?,
                frame_bytes: number(s, "frame_bytes")?,
                crc32c,
            });
        }
        let manifest = Manifest {
            stem: string(top, "stem")?.to_string(),
            compression,
            shards,
        };
        for (key, total) in [
            ("records", manifest.records()),
            ("bytes", manifest.bytes()),
            ("frame_bytes", manifest.frame_bytes()),
        ] {
            if number(top, key)? != total {
                return Err(Error::invalid_input(format!(
                    "manifest {key:?} is not the sum over its shards ({total})"
                )));
            }
        }
        Ok(manifest)
    }

    /// Reads and parses a manifest file.
    pub fn read(path: impl AsRef<Path>) -> Result<Manifest> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::from(e).with_path(path))?;
        Manifest::from_json(&text).map_err(|e| e.with_path(path))
    }

    /// Checks that every shard listed is in `dir` with the listed size and
    /// CRC32C, and that every sidecar listed exists.
    pub fn check(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        for shard in &self.shards {
            let path = dir.join(&shard.name);
            let (len, crc) = file_crc32c(&path).map_err(|e| Error::from(e).with_path(&path))?;
            if len != shard.bytes || crc != shard.crc32c {
                return Err(Error::invalid_input(format!(
                    "{} bytes with crc32c {crc:#010x}, the manifest says {} bytes with crc32c {:#010x}",
                    len, shard.bytes, shard.crc32c
                ))
                .with_path(&path));
            }
            if let Some(index) = &shard.index {
                let path = dir.join(index);
                std::fs::metadata(&path).map_err(|e| Error::from(e).with_path(&path))?;
            }
        }
        Ok(())
    }
}

/// Length and CRC32C of a file's bytes.
pub(crate) fn file_crc32c(path: &Path) -> std::io::Result<(u64, u32)> {
    let mut file = File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut len, mut crc) = (0u64, 0u32);
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => return Ok((len, crc)),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        crc = crc32c::crc32c_append(crc, &buf[..n]);
        len += n as u64;
    }
}

fn string<'v>(obj: &'v Map<String, Value>, key: &str) -> Result<&'v str> {
    obj.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid_input(format!("manifest has no string {key:?}")))
}

fn number(obj: &Map<String, Value>, key: &str) -> Result<u64> {
    obj.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| Error::invalid_input(format!("manifest has no unsigned integer {key:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            stem: "train".into(),
            compression: Compression::Gzip,
            shards: vec![
                ShardInfo {
                    name: "train-00000-of-00002.tfrecord".into(),
                    index: Some("train-00000-of-00002.tfrecord.idx".into()),
                    records: 2,
                    bytes: 50,
                    frame_bytes: 80,
                    crc32c: u32::MAX,
                },
                ShardInfo {
                    name: "train-00001-of-00002.tfrecord".into(),
                    index: None,
                    records: 0,
                    bytes: 20,
                    frame_bytes: 0,
                    crc32c: 0,
                },
            ],
        }
    }

    #[test]
    fn json_round_trip() {
        let m = sample();
        let text = m.to_json();
        assert_eq!(Manifest::from_json(&text).unwrap(), m);
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["records"], 2);
        assert_eq!(v["bytes"], 70);
        assert_eq!(v["compression"], "gzip");
        assert_eq!(v["shards"][0]["crc32c"], u64::from(u32::MAX));
    }

    #[test]
    fn inconsistent_manifests_are_rejected() {
        let text = sample().to_json();
        for (from, to) in [
            (
                "\"records\": 2,\n  \"shards\"",
                "\"records\": 3,\n  \"shards\"",
            ),
            ("tfrec.shards.v1", "other"),
            ("\"gzip\"", "\"brotli\""),
            ("4294967295", "4294967296"),
        ] {
            let bad = text.replacen(from, to, 1);
            assert_ne!(bad, text, "{from}");
            assert!(Manifest::from_json(&bad).is_err(), "{from}");
        }
        assert!(Manifest::from_json("[]").is_err());
        assert!(Manifest::from_json("{").is_err());
    }
}
