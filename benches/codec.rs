//! Micro-benchmarks of the in-memory paths: framing + CRC over a buffer,
//! decoding small and large tensors, and writing records to memory.
//! Inputs are generated here; nothing is read from disk.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use tfrec::{SliceReader, Tensor, TensorView, Writer};

fn file_of(tensors: &[Tensor]) -> Vec<u8> {
    let mut w = Writer::new(Vec::new());
    for t in tensors {
        w.write_tensor(t).unwrap();
    }
    w.finish().unwrap()
}

fn images(n: usize) -> Vec<Tensor> {
    (0..n)
        .map(|i| {
            Tensor::from_bytes(
                tfrec::DType::U8,
                &[128, 128, 3],
                vec![i as u8; 128 * 128 * 3],
            )
            .unwrap()
        })
        .collect()
}

fn small(n: usize) -> Vec<Tensor> {
    (0..n)
        .map(|i| Tensor::from_slice(&[i as f32; 16], &[16]).unwrap())
        .collect()
}

fn read(c: &mut Criterion) {
    let mut g = c.benchmark_group("read");
    for (name, file) in [
        ("images", file_of(&images(200))),
        ("small", file_of(&small(100_000))),
    ] {
        g.throughput(Throughput::Bytes(file.len() as u64));
        g.bench_with_input(BenchmarkId::new("frames+crc", name), &file, |b, f| {
            b.iter(|| {
                SliceReader::new(f)
                    .map(|r| r.unwrap().payload.len())
                    .sum::<usize>()
            })
        });
        g.bench_with_input(
            BenchmarkId::new("frames+crc+decode", name),
            &file,
            |b, f| {
                b.iter(|| {
                    SliceReader::new(f)
                        .map(|r| {
                            TensorView::decode(&r.unwrap().payload)
                                .unwrap()
                                .num_elements()
                        })
                        .sum::<usize>()
                })
            },
        );
    }
    g.finish();
}

fn write(c: &mut Criterion) {
    let mut g = c.benchmark_group("write");
    for (name, tensors) in [("images", images(200)), ("small", small(100_000))] {
        let bytes = file_of(&tensors).len();
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut w = Writer::new(Vec::with_capacity(bytes));
                for t in &tensors {
                    w.write_tensor(t).unwrap();
                }
                black_box(w.finish().unwrap())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, read, write);
criterion_main!(benches);
