//! Parsing an `Example` allocates its small index and nothing else;
//! reading values allocates nothing; the index stays within a fixed
//! multiple of the payload, whatever the payload.
//!
//! A test binary of its own, because it installs a counting global allocator.

use std::sync::atomic::Ordering;

use tfrec::example::{encode, Example, ExampleView, Feature, SequenceExample, SequenceExampleView};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{ALLOCATIONS, LARGEST};

/// Runs `f`, returning (allocations, largest allocation) it made.
fn counted<T>(f: impl FnOnce() -> T) -> (T, u64, u64) {
    ALLOCATIONS.store(0, Ordering::SeqCst);
    LARGEST.store(0, Ordering::SeqCst);
    let out = f();
    (
        out,
        ALLOCATIONS.load(Ordering::SeqCst),
        LARGEST.load(Ordering::SeqCst),
    )
}

fn len_field(number: u8, body: &[u8]) -> Vec<u8> {
    assert!(body.len() < 128);
    let mut out = vec![number << 3 | 2, body.len() as u8];
    out.extend_from_slice(body);
    out
}

/// One test, so that nothing else allocates while it counts.
#[test]
fn views_allocate_only_their_index() {
    // A typical record: one allocation (the index), and reading every value
    // allocates nothing.
    let ex = Example::default()
        .int64("label", [3])
        .float("pixels", (0..256).map(|i| i as f32 / 255.0))
        .bytes("id", ["a", "b"])
        .int64("ids", (0..50).map(|i| i * 1_000_003))
        .with_feature("none", Feature::default());
    let payload = encode(&ex);
    let (view, allocations, largest) = counted(|| ExampleView::parse(&payload).unwrap());
    assert_eq!(allocations, 1);
    assert!(largest <= 5 * 28, "{largest}");
    let (sum, allocations, _) = counted(|| {
        let mut sum = 0f64;
        let mut floats = [0f32; 256];
        for (_, f) in view.iter() {
            sum += f.len() as f64;
            sum += f
                .int64_list()
                .into_iter()
                .flatten()
                .map(|v| v as f64)
                .sum::<f64>();
            sum += f
                .float_list()
                .into_iter()
                .flatten()
                .map(f64::from)
                .sum::<f64>();
            sum += f
                .bytes_list()
                .into_iter()
                .flatten()
                .map(|b| b.len() as f64)
                .sum::<f64>();
            if f.float_bytes().is_some() {
                f.copy_floats_into(&mut floats).unwrap();
            }
        }
        sum += view.get("label").unwrap().len() as f64;
        sum
    });
    assert_eq!(allocations, 0);
    assert!(sum > 0.0);

    // Sequences: steps are read from the payload as they are visited.
    let seq = SequenceExample::default()
        .context_feature("n", Feature::int64_list([4]))
        .feature_list(
            "frames",
            (0..40).map(|i| Feature::float_list([i as f32; 8])),
        )
        .feature_list("tokens", (0..40).map(|i| Feature::int64_list([i, i + 1])));
    let payload = encode(&seq);
    let (view, allocations, _) = counted(|| SequenceExampleView::parse(&payload).unwrap());
    assert_eq!(allocations, 2); // context index, feature list index
    let (steps, allocations, _) = counted(|| {
        let mut steps = 0;
        for (_, list) in view.feature_lists().iter() {
            for step in list.iter() {
                steps += step.float_list().map_or(0, |v| v.count());
                steps += step.int64_list().map_or(0, |v| v.count());
            }
        }
        steps
    });
    assert_eq!((steps, allocations), (40 * 8 + 40 * 2, 0));

    // Hostile payloads: the index stays within 14 bytes a payload byte
    // (rounded up by the sorted index for many names).
    let many_empty = len_field(1, &[]).repeat(100_000); // entries "" x 100000
    let mut names = Vec::new();
    for i in 0..20_000u32 {
        let name = [
            b'0' + (i % 40) as u8,
            b'0' + (i / 40 % 40) as u8,
            b'0' + (i / 1600) as u8,
        ];
        names.extend(len_field(1, &len_field(1, &name)));
    }
    for body in [many_empty, names] {
        let mut payload = vec![0x0a];
        let mut len = body.len();
        while len >= 0x80 {
            payload.push(len as u8 | 0x80);
            len >>= 7;
        }
        payload.push(len as u8);
        payload.extend(&body);
        let (view, _, largest) = counted(|| ExampleView::parse(&payload).unwrap());
        assert!(
            largest <= 14 * payload.len() as u64,
            "{largest} for {}",
            payload.len()
        );
        assert!(view.len() <= 20_000);
    }
}
