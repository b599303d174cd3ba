//! Steady-state iteration allocates nothing per batch: batch buffers come
//! back to the dataset's pool when dropped, read buffers are per thread.
//!
//! A test binary of its own, because it installs a counting global allocator.

use std::sync::atomic::Ordering;

use tfrec::pipeline::Dataset;
use tfrec::{DType, Tensor, Writer};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{ALLOCATIONS, LARGEST};

#[test]
fn steady_state_iteration_allocates_nothing_per_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    // 2,400 records: 150 batches, room for the warm-up and three windows.
    for f in 0..4u8 {
        let path = dir.path().join(format!("img-{f}.tfrecord"));
        let mut w = Writer::create(&path).unwrap();
        for i in 0..600u32 {
            let pixels: Vec<u8> = (0..16 * 16 * 3).map(|p| (p as u32 ^ i) as u8 ^ f).collect();
            w.write_tensor(&Tensor::from_bytes(DType::U8, &[16, 16, 3], pixels).unwrap())
                .unwrap();
        }
        paths.push(w.finish().unwrap());
    }
    for prefetch in [0usize, 2] {
        let ds = Dataset::builder()
            .files(&paths)
            .shuffle(5)
            .batch(16)
            .threads(2)
            .prefetch(prefetch)
            .build()
            .unwrap();
        let mut it = ds.epoch(0).unwrap();
        // Warm up: the pool fills, every thread's read buffer grows.
        let mut checksum = 0u64;
        for b in it.by_ref().take(25) {
            checksum += u64::from(b.unwrap().bytes().unwrap()[0]);
        }
        // The window is measured up to three times: on a loaded machine a
        // late-scheduled consumer can make the producer take one more buffer
        // before the pool is back in balance, a one-off; a per-batch
        // allocation shows in every window.
        let mut windows = Vec::new();
        for _ in 0..3 {
            let before = ALLOCATIONS.load(Ordering::SeqCst);
            LARGEST.store(0, Ordering::SeqCst);
            let mut batches = 0;
            for b in it.by_ref().take(40) {
                let b = b.unwrap();
                checksum += u64::from(b.bytes().unwrap()[0]);
                batches += 1;
            }
            let during = ALLOCATIONS.load(Ordering::SeqCst) - before;
            let largest = LARGEST.load(Ordering::SeqCst);
            assert_eq!(batches, 40);
            windows.push((during, largest));
            // No batch, read or record memory (a batch buffer is 12 KiB),
            // and nothing once per batch. The thread pool's own bookkeeping
            // (its job queue takes a new 1.5 KiB block about once per 63
            // batches, and more under load) is allowed a few small
            // allocations.
            if during <= 10 && largest < 4096 {
                break;
            }
        }
        let (during, largest) = windows[windows.len() - 1];
        assert!(
            during <= 10 && largest < 4096,
            "prefetch {prefetch}: allocations and largest size per window of 40 batches {windows:?} ({checksum})"
        );
    }
}
