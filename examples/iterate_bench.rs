//! Iterates shuffled batches of a TFRecord file of same-shape tensors and
//! reports the throughput: the dataset pipeline's speed on real files.
//!
//! ```sh
//! cargo run --release --example iterate_bench -- FILE [--batch 256] [--epochs 3] [--threads N] [--prefetch K] [--pread] [--sequential]
//! /usr/bin/time -f '%M KB peak' target/release/examples/iterate_bench FILE
//! ```

mod common;

use std::error::Error;
use std::time::Instant;

use tfrec::pipeline::Dataset;

use common::arg;

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .cloned()
        .ok_or("usage: iterate_bench FILE [options]")?;
    let batch: usize = arg(&args, "--batch", 256)?;
    let epochs: u64 = arg(&args, "--epochs", 3)?;
    let threads: usize = arg(&args, "--threads", 0)?;
    let prefetch: usize = arg(&args, "--prefetch", 2)?;
    let mmap = !args.iter().any(|a| a == "--pread");
    // FILE order instead of a global shuffle (FILE may be an object URL).
    let sequential = args.iter().any(|a| a == "--sequential");

    let t0 = Instant::now();
    let mut builder = Dataset::builder().file(&path);
    if !sequential {
        builder = builder.shuffle(1);
    }
    let ds = builder
        .batch(batch)
        .threads(threads)
        .prefetch(prefetch)
        .mmap(mmap)
        .build()?;
    println!(
        "{path}: {} records, index in {:.1?} ({:?}); batches of {batch}, {} reads",
        ds.len(),
        t0.elapsed(),
        ds.index(0).map(|i| i.source().clone()),
        if mmap { "mapped" } else { "positioned" }
    );
    let mut best = 0f64;
    for epoch in 0..epochs {
        let t = Instant::now();
        let (mut bytes, mut batches, mut check) = (0u64, 0u64, 0u64);
        for b in ds.epoch(epoch)? {
            let b = b?;
            let data = b.bytes().ok_or("records are not fixed-size tensors")?;
            bytes += data.len() as u64;
            check = check.wrapping_add(u64::from(data[data.len() / 2]));
            batches += 1;
        }
        let secs = t.elapsed().as_secs_f64();
        let rate = bytes as f64 / secs / 1e9;
        best = best.max(rate);
        println!(
            "epoch {epoch}: {batches} batches, {:.1} MB in {secs:.3} s = {rate:.2} GB/s (check {check})",
            bytes as f64 / 1e6
        );
    }
    println!("best {best:.2} GB/s of tensor data");
    // Resident memory: anonymous (buffers) apart from mapped file pages,
    // which are the page cache's and shared.
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let pick = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .map_or(String::new(), |l| {
                    l.split_whitespace().skip(1).collect::<Vec<_>>().join(" ")
                })
        };
        println!(
            "peak resident {} (now: anonymous {}, mapped file {})",
            pick("VmHWM:"),
            pick("RssAnon:"),
            pick("RssFile:")
        );
    }
    Ok(())
}
