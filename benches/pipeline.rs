//! Criterion benchmarks of the pipeline on data generated here: shuffled,
//! stacked batches (positioned reads and memory maps), unbatched samples,
//! the header scan behind an index, and `stats` over a file.
//!
//! ```sh
//! cargo bench --bench pipeline
//! ```

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tfrec::index::Index;
use tfrec::pipeline::{Dataset, IterState};
use tfrec::{DType, Tensor, Writer};

const IMAGES: usize = 2_000;
const SIDE: usize = 64;

struct Data {
    _dir: tempfile::TempDir,
    images: PathBuf,
    small: PathBuf,
}

fn data() -> Data {
    let dir = tempfile::tempdir().expect("temp dir");
    let images = dir.path().join("images.tfrecord");
    let mut w = Writer::create(&images).expect("create");
    for i in 0..IMAGES {
        let pixels: Vec<u8> = (0..SIDE * SIDE * 3)
            .map(|p| (p * 31 + i * 7) as u8)
            .collect();
        let t = Tensor::from_bytes(DType::U8, &[SIDE, SIDE, 3], pixels).expect("tensor");
        w.write_tensor(&t).expect("write");
    }
    w.finish().expect("finish");
    let small = dir.path().join("small.tfrecord");
    let mut w = Writer::create(&small).expect("create");
    for i in 0..50_000 {
        let v: Vec<f32> = (0..16).map(|j| (i * 16 + j) as f32 * 0.25).collect();
        w.write_tensor(&Tensor::from_slice(&v, &[16]).expect("tensor"))
            .expect("write");
    }
    w.finish().expect("finish");
    Data {
        _dir: dir,
        images,
        small,
    }
}

fn bench(c: &mut Criterion) {
    let data = data();
    let image_bytes = (IMAGES * SIDE * SIDE * 3) as u64;

    let mut g = c.benchmark_group("dataset");
    g.throughput(Throughput::Bytes(image_bytes));
    g.sample_size(20);
    for mmap in [false, true] {
        let ds = Dataset::builder()
            .file(&data.images)
            .shuffle(1)
            .batch(256)
            .mmap(mmap)
            .build()
            .expect("dataset");
        let name = if mmap {
            "shuffled batches, mmap"
        } else {
            "shuffled batches, pread"
        };
        let mut epoch = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                epoch += 1;
                let mut n = 0usize;
                for batch in ds.epoch(epoch).expect("epoch") {
                    n += batch.expect("batch").len();
                }
                n
            })
        });
    }
    let ds = Dataset::builder()
        .file(&data.images)
        .shuffle(1)
        .build()
        .expect("dataset");
    g.bench_function("shuffled samples", |b| {
        b.iter(|| {
            ds.samples(IterState::default())
                .expect("samples")
                .map(|s| s.expect("sample").tensor.num_elements())
                .sum::<usize>()
        })
    });
    g.finish();

    let small_len = std::fs::metadata(&data.small).expect("metadata").len();
    let mut g = c.benchmark_group("index");
    g.throughput(Throughput::Bytes(small_len));
    g.bench_function("scan 50k small records", |b| {
        b.iter(|| Index::scan_file(&data.small).expect("scan").len())
    });
    g.finish();

    let mut g = c.benchmark_group("stats");
    g.throughput(Throughput::Bytes(small_len));
    g.bench_function("50k float32[16]", |b| {
        b.iter(|| {
            tfrec::stats::stats_file(&data.small, &|_| {})
                .expect("stats")
                .records
        })
    });
    g.throughput(Throughput::Bytes(image_bytes));
    g.bench_function("2k uint8[64,64,3]", |b| {
        b.iter(|| {
            tfrec::stats::stats_file(&data.images, &|_| {})
                .expect("stats")
                .records
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
