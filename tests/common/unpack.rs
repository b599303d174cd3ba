//! Running `tfrec unpack` and the fixtures its tests share
//! (`tests/cli_unpack.rs`, `tests/interop_unpack.rs`). Knows nothing of
//! TensorFlow.

use std::path::{Path, PathBuf};

use tfrec::{bf16, Compression, DType, Reader, Tensor, Writer};

use super::cli::{self, Run};
use super::files::dir_entries;

/// Runs `tfrec ARGS` in the current directory with `stdin` fed to it.
pub fn tfrec_with_stdin(args: &[&str], stdin: &[u8]) -> Run {
    cli::tfrec_with_stdin(Path::new("."), args, stdin)
}

/// Runs `tfrec ARGS`, which must succeed quietly; returns its stdout.
pub fn ok(args: &[&str]) -> String {
    tfrec_with_stdin(args, b"").success().text().to_string()
}

/// Runs `tfrec ARGS`, which must fail with exit 1 and one line on stderr;
/// returns that line.
pub fn fails(args: &[&str]) -> String {
    let run = tfrec_with_stdin(args, b"");
    run.fails_with_one_line(&[]).trim_end().to_string()
}

/// Unpacks `input` into `out` with bfloat16 widened to float32.
pub fn unpack_bf16_as_float32(out: &Path, input: &Path) {
    ok(&[
        "unpack",
        "--bf16-as",
        "float32",
        "--out-dir",
        s(out),
        s(input),
    ]);
}

pub fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

pub fn write_records(path: &Path, tensors: &[Tensor], compression: Compression) {
    let mut w = Writer::create_with(path, compression).unwrap();
    for t in tensors {
        w.write_tensor(t).unwrap();
    }
    w.finish().unwrap();
}

/// The visible `.npy` files of `dir`, sorted; and every entry (hidden ones
/// too) must be one of them.
pub fn npy_files(dir: &Path) -> Vec<PathBuf> {
    let names = dir_entries(dir);
    assert!(
        names
            .iter()
            .all(|n| !n.starts_with('.') && n.ends_with(".npy")),
        "{names:?}"
    );
    names.iter().map(|n| dir.join(n)).collect()
}

/// TensorFlow's own files (testdata/, written by `tf.io.serialize_tensor`)
/// without the records `.npy` cannot hold exactly: each string tensor with
/// an element ending in NUL. Returns the tensors and the file.
pub fn tensorflow_file(dir: &Path, name: &str) -> (Vec<Tensor>, PathBuf) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name);
    let mut reader = Reader::open(&source).unwrap();
    let path = dir.join("tf.tfrecord");
    let mut w = Writer::create(&path).unwrap();
    let mut tensors = Vec::new();
    let mut refused = Vec::new();
    for record in reader.records() {
        let record = record.unwrap();
        let t = Tensor::decode(&record.payload).unwrap();
        if tfrec::npy::check_lossless(&t).is_err() && t.dtype() == DType::String {
            refused.push(record.index);
            continue;
        }
        w.write_record(&record.payload).unwrap();
        tensors.push(t);
    }
    w.finish().unwrap();
    assert_eq!(refused, [38, 39], "the NUL-ended string records of {name}");
    (tensors, path)
}

/// What `--bf16-as float32` turns `t` into: every bit kept, NaN payloads
/// (signalling ones too) included.
pub fn widened(t: &Tensor) -> Tensor {
    if t.dtype() != DType::BF16 {
        return t.clone();
    }
    let wide: Vec<f32> = t
        .to_vec::<bf16>()
        .unwrap()
        .iter()
        .map(|b| f32::from_bits(u32::from(b.to_bits()) << 16))
        .collect();
    Tensor::from_slice(&wide, t.shape()).unwrap()
}
