//! Sharded writing into the page cache: tensors serialized, framed, CRC'd
//! and written as 4 shards with fsync off, `finish` (renames, sidecars,
//! manifest) included. Inputs are generated here; the output goes to a
//! temporary directory on the system's temp file system.
//!
//! `cargo bench --bench write`; `examples/shard_throughput.rs` prints the
//! same measurements as plain figures.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use tfrec::write::sharded::{ShardOptions, ShardedWriter, Sharding};
use tfrec::{DType, Tensor};

fn images(n: usize) -> Vec<Tensor> {
    (0..n)
        .map(|i| {
            let bytes = (0..128 * 128 * 3).map(|k| (k ^ i) as u8).collect();
            Tensor::from_bytes(DType::U8, &[128, 128, 3], bytes).unwrap()
        })
        .collect()
}

fn small(n: usize) -> Vec<Tensor> {
    (0..n)
        .map(|i| Tensor::from_slice(&[i as f32; 16], &[16]).unwrap())
        .collect()
}

fn sharded(c: &mut Criterion) {
    let root = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("sharded_write");
    g.sample_size(10);
    for (name, tensors, batch) in [
        ("uint8[128,128,3]", images(2000), 500),
        ("float32[16]", small(500_000), 1 << 16),
    ] {
        let bytes: usize = tensors.iter().map(|t| t.to_proto_bytes().len() + 16).sum();
        for (label, throughput) in [
            ("bytes", Throughput::Bytes(bytes as u64)),
            ("records", Throughput::Elements(tensors.len() as u64)),
        ] {
            g.throughput(throughput);
            g.bench_with_input(BenchmarkId::new(label, name), &tensors, |b, tensors| {
                // Deleting each run's output is not part of the time.
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let out = tempfile::tempdir_in(root.path()).unwrap();
                        let t0 = Instant::now();
                        let options = ShardOptions::new(Sharding::Shards(4)).sync(false);
                        let mut w = ShardedWriter::create(out.path(), "bench", options).unwrap();
                        for chunk in tensors.chunks(batch) {
                            w.write_tensors(chunk).unwrap();
                        }
                        black_box(w.finish().unwrap());
                        total += t0.elapsed();
                    }
                    total
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, sharded);
criterion_main!(benches);
