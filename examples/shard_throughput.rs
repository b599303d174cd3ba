//! Library write throughput into the page cache: tensors serialized,
//! framed, CRC'd and written as shards by [`ShardedWriter`], fsync off,
//! timed from the first write to the end of `finish` (all renames and the
//! manifest included). Best of several runs.
//!
//! ```sh
//! cargo run --release --example shard_throughput -- [DIR] [--runs N] [--only TEXT]
//! ```
//!
//! DIR (default: a temporary directory under the system's temp dir) should
//! be on a disk-backed file system with room for ~1 GB; each run's output
//! is deleted before the next.

use std::path::{Path, PathBuf};
use std::time::Instant;

use tfrec::write::sharded::{ShardOptions, ShardedWriter, Sharding};
use tfrec::{DType, Tensor};

struct Case {
    name: &'static str,
    tensors: Vec<Tensor>,
    /// Times the tensors are written per run.
    repeat: usize,
    batch: usize,
    sharding: Sharding,
    ordered: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut dir: Option<PathBuf> = None;
    let mut runs = 5;
    let mut only = String::new();
    while let Some(a) = args.next() {
        if a == "--runs" {
            runs = args.next().ok_or("--runs N")?.parse()?;
        } else if a == "--only" {
            only = args.next().ok_or("--only TEXT")?;
        } else {
            dir = Some(PathBuf::from(a));
        }
    }
    let temp = tempfile::tempdir()?;
    let root = dir.unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&root)?;

    let pattern = |n: usize, seed: usize| -> Vec<u8> {
        (0..n).map(|i| (i.wrapping_mul(31) ^ seed) as u8).collect()
    };
    let cases = [
        Case {
            name: "uint8[128,128,3] x 10000, 4 shards",
            tensors: (0..1000)
                .map(|i| Tensor::from_bytes(DType::U8, &[128, 128, 3], pattern(49152, i)))
                .collect::<Result<_, _>>()?,
            repeat: 10,
            batch: 500,
            sharding: Sharding::Shards(4),
            ordered: true,
        },
        Case {
            name: "float32[1024,1024] x 128, 4 shards",
            tensors: (0..32)
                .map(|i| Tensor::from_bytes(DType::F32, &[1024, 1024], pattern(4 << 20, i)))
                .collect::<Result<_, _>>()?,
            repeat: 4,
            batch: 16,
            sharding: Sharding::Shards(4),
            ordered: true,
        },
        Case {
            name: "uint8[128,128,3] x 10000, 256 MiB shards, unordered",
            tensors: (0..1000)
                .map(|i| Tensor::from_bytes(DType::U8, &[128, 128, 3], pattern(49152, i)))
                .collect::<Result<_, _>>()?,
            repeat: 10,
            batch: 500,
            sharding: Sharding::BytesPerShard(256 << 20),
            ordered: false,
        },
        Case {
            name: "float32[16] x 10M, 4 shards",
            tensors: (0..1_000_000)
                .map(|i| Tensor::from_slice(&[i as f32; 16], &[16]))
                .collect::<Result<_, _>>()?,
            repeat: 10,
            batch: 1 << 16,
            sharding: Sharding::Shards(4),
            ordered: true,
        },
    ];
    println!(
        "threads: {}, best of {runs} runs, output in {}",
        rayon::current_num_threads(),
        root.display()
    );
    for case in cases.iter().filter(|c| c.name.contains(&only)) {
        let mut best = f64::MAX;
        let mut best_cpu = f64::MAX;
        let mut bytes = 0;
        let mut records = 0;
        for run in 0..runs {
            let out = root.join(format!("run{run}"));
            let cpu0 = cpu_seconds();
            let t0 = Instant::now();
            let manifest = write(case, &out)?;
            let secs = t0.elapsed().as_secs_f64();
            best = best.min(secs);
            best_cpu = best_cpu.min(cpu_seconds() - cpu0);
            bytes = manifest.bytes();
            records = manifest.records();
            std::fs::remove_dir_all(&out)?;
        }
        println!(
            "{:<55} {:>8.3} s {:>6.2} GB/s {:>7.2} M records/s   (CPU {:.2} s)",
            case.name,
            best,
            bytes as f64 / best / 1e9,
            records as f64 / best / 1e6,
            best_cpu
        );
    }
    Ok(())
}

/// User plus system CPU time of this process so far (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are the
    // 12th and 13th of them, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<f64>().ok()))
        .sum();
    ticks / 100.0
}

fn write(case: &Case, out: &Path) -> Result<tfrec::write::sharded::Manifest, tfrec::Error> {
    let options = ShardOptions::new(case.sharding)
        .sync(false)
        .ordered(case.ordered);
    let mut w = ShardedWriter::create(out, "bench", options)?;
    for _ in 0..case.repeat {
        for batch in case.tensors.chunks(case.batch) {
            w.write_tensors(batch)?;
        }
    }
    w.finish()
}
