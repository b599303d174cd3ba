//! Files on disk: listing a directory and writing TFRecord files, plain or
//! compressed. Knows nothing of what the records hold.

use std::io::Write;
use std::path::{Path, PathBuf};

use tfrec::{Compression, Tensor, Writer};

/// Every entry of `dir`, hidden ones included, sorted; each name must be
/// UTF-8.
pub fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Like [`dir_entries`], but none when `dir` cannot be read (it does not
/// exist yet).
pub fn dir_entries_if_any(dir: &Path) -> Vec<String> {
    if std::fs::read_dir(dir).is_err() {
        return Vec::new();
    }
    dir_entries(dir)
}

/// `bytes` as a file compressed with `compression` holds them.
pub fn compress(bytes: &[u8], compression: Compression) -> Vec<u8> {
    match compression {
        Compression::None => bytes.to_vec(),
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(bytes).unwrap();
            e.finish().unwrap()
        }
        Compression::Zlib => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(bytes).unwrap();
            e.finish().unwrap()
        }
    }
}

/// Writes `part-00.tfrecord`, `part-01.tfrecord`, ... in `dir` with the
/// given record counts, record `i` of file `f` being `record(f, i)`;
/// returns their paths.
pub fn write_part_files(
    dir: &Path,
    counts: &[u64],
    compression: Compression,
    record: impl Fn(usize, u64) -> Tensor,
) -> Vec<PathBuf> {
    counts
        .iter()
        .enumerate()
        .map(|(f, &n)| {
            let path = dir.join(format!("part-{f:02}.tfrecord"));
            let mut w = Writer::create_with(&path, compression).unwrap();
            for i in 0..n {
                w.write_tensor(&record(f, i)).unwrap();
            }
            w.finish().unwrap()
        })
        .collect()
}
