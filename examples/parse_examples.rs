//! Parses a file of `tf.train.Example`s into batched tensors, end to end:
//! the `Example` row of `benches/compare_tf.py`, against TensorFlow's
//! `TFRecordDataset(path).batch(256).map(lambda b: tf.io.parse_example(b, spec))`.
//!
//! The spec is the benchmark file's: `label` int64 scalar, `x` 16 floats,
//! `img` one byte string. Every batch is iterated and touched (labels,
//! every float, each string's length and first byte go into a checksum);
//! the record count and checksum are printed, and with `--time` the
//! wall time of building the dataset and of iterating it.
//!
//! ```sh
//! cargo build --release --example parse_examples
//! target/release/examples/parse_examples FILE [--batch 256] [--threads N] [--prefetch K] [--pread] [--time]
//! ```

mod common;

use std::error::Error;
use std::time::Instant;

use tfrec::example::ParseSpec;
use tfrec::pipeline::{Dataset, IterState};
use tfrec::DType;

use common::arg;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut path = None;
    let mut skip = false;
    for a in &args {
        if skip {
            skip = false;
        } else if matches!(a.as_str(), "--batch" | "--threads" | "--prefetch") {
            skip = true;
        } else if !a.starts_with("--") {
            path = Some(a.clone());
        }
    }
    let path = path.ok_or(
        "usage: parse_examples FILE [--batch N] [--threads N] [--prefetch K] [--pread] [--time]",
    )?;
    let batch: usize = arg(&args, "--batch", 256)?;
    let threads: usize = arg(&args, "--threads", 0)?;
    let prefetch: usize = arg(&args, "--prefetch", 2)?;
    let mmap = !args.iter().any(|a| a == "--pread");
    let timed = args.iter().any(|a| a == "--time");

    let spec = ParseSpec::new()
        .fixed("label", DType::I64, &[], None)
        .fixed("x", DType::F32, &[16], None)
        .fixed("img", DType::String, &[], None);
    let t0 = Instant::now();
    let ds = Dataset::builder()
        .file(&path)
        .batch(batch)
        .threads(threads)
        .prefetch(prefetch)
        .mmap(mmap)
        .build()?;
    let built = t0.elapsed();

    let (mut records, mut check) = (0u64, 0u64);
    for b in ds.example_batches(&spec, IterState::default())? {
        let b = b?;
        records += b.len() as u64;
        let label = b
            .get("label")
            .and_then(|c| c.values::<i64>())
            .ok_or("no label")?;
        check = label.iter().fold(check, |c, &v| c.wrapping_add(v as u64));
        let x = b.get("x").and_then(|c| c.values::<f32>()).ok_or("no x")?;
        check = x
            .iter()
            .fold(check, |c, v| c.rotate_left(1) ^ u64::from(v.to_bits()));
        let img = b.get("img").and_then(|c| c.strings()).ok_or("no img")?;
        for s in img.iter() {
            check = check.wrapping_add(s.len() as u64 + u64::from(s.first().copied().unwrap_or(0)));
        }
    }
    println!("records {records} checksum {check:016x}");
    if timed {
        eprintln!(
            "build {:.1?}, iterate {:.1?}",
            built,
            t0.elapsed().saturating_sub(built)
        );
    }
    Ok(())
}
