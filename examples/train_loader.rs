//! A training input loop on data it makes: several shards of images and
//! their labels, a global shuffle per epoch, this process's share as one
//! rank of several, stacked batches decoded in parallel and prefetched,
//! three epochs, and a stop-and-resume in the middle of one.
//!
//! Images and labels live in parallel files (`images-K.tfrecord`,
//! `labels-K.tfrecord`, the same number of records each). Two datasets with
//! the same seed, shard and record counts visit records in the same order,
//! so their batches line up.
//!
//! ```sh
//! cargo run --release --example train_loader [-- --rank R --world W --keep DIR]
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tfrec::pipeline::{Batches, Dataset, IterState};
use tfrec::{DType, Tensor, Writer};

const SHARDS: usize = 8;
const PER_SHARD: usize = 1_500;
const SIDE: usize = 64;
const CLASSES: u64 = 10;
const BATCH: usize = 128;
const EPOCHS: u64 = 3;
const SEED: u64 = 2024;

/// Image `n`: pixels derived from `n`, its label in the first pixel.
fn image(n: u64) -> Vec<u8> {
    let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut pixels: Vec<u8> = (0..SIDE * SIDE * 3)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    pixels[0] = (n % CLASSES) as u8;
    pixels
}

fn write_shards(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>), Box<dyn Error>> {
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for k in 0..SHARDS {
        let mut wi = Writer::create(dir.join(format!("images-{k:02}.tfrecord")))?;
        let mut wl = Writer::create(dir.join(format!("labels-{k:02}.tfrecord")))?;
        for i in 0..PER_SHARD {
            let n = (k * PER_SHARD + i) as u64;
            wi.write_tensor(&Tensor::from_bytes(DType::U8, &[SIDE, SIDE, 3], image(n))?)?;
            wl.write_tensor(&Tensor::scalar((n % CLASSES) as i64))?;
        }
        images.push(wi.finish()?);
        labels.push(wl.finish()?);
    }
    Ok((images, labels))
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The images and labels datasets for one rank, built the same way.
fn datasets(
    images: &[PathBuf],
    labels: &[PathBuf],
    rank: usize,
    world: usize,
) -> Result<(Dataset, Dataset), Box<dyn Error>> {
    let build = |files: &[PathBuf], prefetch: usize| {
        Dataset::builder()
            .files(files)
            .shuffle(SEED)
            .shard(rank, world)
            .drop_remainder(true) // every rank takes the same number of steps
            .batch(BATCH)
            .drop_last(true)
            .prefetch(prefetch)
            .build()
    };
    Ok((build(images, 3)?, build(labels, 3)?))
}

/// One training step's worth of checking: each label is the one its image
/// carries, and both came from the same record.
fn train_step(
    images: &tfrec::pipeline::Batch,
    labels: &tfrec::pipeline::Batch,
) -> Result<u64, Box<dyn Error>> {
    if images.ids() != labels.ids() {
        return Err("image and label batches are out of step".into());
    }
    let pixels = images.bytes().ok_or("images are not stacked")?;
    let labels = labels.values::<i64>().ok_or("labels are not int64")?;
    let per_image = SIDE * SIDE * 3;
    let mut correct = 0u64;
    for (i, &label) in labels.iter().enumerate() {
        if i64::from(pixels[i * per_image]) == label {
            correct += 1;
        }
    }
    Ok(correct)
}

/// Runs batches until `stop_after` steps (or the epoch's end); returns the
/// steps run and the state to resume from.
fn run(
    mut imgs: Batches,
    mut labs: Batches,
    stop_after: usize,
    bytes: &mut u64,
    seen: &mut Vec<tfrec::pipeline::RecordId>,
) -> Result<(usize, IterState), Box<dyn Error>> {
    let mut steps = 0;
    while steps < stop_after {
        let (Some(images), Some(labels)) = (imgs.next(), labs.next()) else {
            break;
        };
        let (images, labels) = (images?, labels?);
        let correct = train_step(&images, &labels)?;
        if correct != images.len() as u64 {
            return Err(format!(
                "{} labels do not match their images",
                images.len() as u64 - correct
            )
            .into());
        }
        *bytes += images.bytes().map_or(0, |b| b.len() as u64);
        seen.extend_from_slice(images.ids());
        steps += 1;
    }
    Ok((steps, imgs.state()))
}

fn main() -> Result<(), Box<dyn Error>> {
    let rank: usize = arg("--rank").map_or(Ok(0), |s| s.parse())?;
    let world: usize = arg("--world").map_or(Ok(2), |s| s.parse())?;
    let temp = tempfile::tempdir()?;
    let dir = arg("--keep").map_or_else(|| temp.path().to_path_buf(), PathBuf::from);
    std::fs::create_dir_all(&dir)?;

    let t0 = Instant::now();
    let (images, labels) = write_shards(&dir)?;
    let total = (SHARDS * PER_SHARD) as u64;
    println!(
        "wrote {SHARDS} shards of {PER_SHARD} uint8[{SIDE},{SIDE},3] images and int64 labels ({:.0} MB) in {:.2?}",
        (total as usize * SIDE * SIDE * 3) as f64 / 1e6,
        t0.elapsed()
    );

    let (ds_images, _) = datasets(&images, &labels, rank, world)?;
    println!(
        "rank {rank} of {world}: {} records an epoch, {} batches of {BATCH}",
        ds_images.len(),
        ds_images.batches_per_epoch()
    );

    // Three epochs; epoch 1 is interrupted halfway and resumed from a saved
    // state by freshly built datasets, as a restarted job would.
    let state_file = dir.join("loader-state.json");
    let mut state = IterState::default();
    let mut interrupted = false;
    let mut epoch_ids = Vec::new();
    let mut bytes = 0u64;
    let mut epoch_start = Instant::now();
    while state.epoch < EPOCHS {
        let (ds_images, ds_labels) = datasets(&images, &labels, rank, world)?;
        let stop_after = if state.epoch == 1 && !interrupted {
            interrupted = true;
            ds_images.batches_per_epoch() as usize / 2
        } else {
            usize::MAX
        };
        let (imgs, labs) = (ds_images.batches(state)?, ds_labels.batches(state)?);
        let (steps, next) = run(imgs, labs, stop_after, &mut bytes, &mut epoch_ids)?;
        if next.epoch == state.epoch {
            std::fs::write(&state_file, next.to_json())?;
            println!(
                "  epoch {}: stopped after {steps} steps; saved {}",
                state.epoch,
                next.to_json()
            );
            state = IterState::from_json(&std::fs::read_to_string(&state_file)?)?;
            continue;
        }
        let secs = epoch_start.elapsed().as_secs_f64();
        let expected: Vec<_> = ds_images
            .order(state.epoch)
            .into_iter()
            .take(epoch_ids.len())
            .collect();
        if epoch_ids != expected {
            return Err(format!("epoch {} did not follow the dataset's order", state.epoch).into());
        }
        println!(
            "  epoch {}: {} images in {secs:.2} s: {:.0} images/s, {:.2} GB/s; labels all match{}",
            state.epoch,
            epoch_ids.len(),
            epoch_ids.len() as f64 / secs,
            bytes as f64 / secs / 1e9,
            if state.epoch == 1 {
                " (resumed exactly)"
            } else {
                ""
            }
        );
        epoch_ids.clear();
        bytes = 0;
        epoch_start = Instant::now();
        state = next;
    }
    // Sharding: across ranks, an epoch covers every record once.
    let mut all = std::collections::BTreeSet::new();
    for r in 0..world {
        let (ds, _) = datasets(&images, &labels, r, world)?;
        let n = ds.order(0).len();
        all.extend(ds.order(0));
        println!("  rank {r}: {n} records in epoch 0");
    }
    println!(
        "ranks together cover {} of {total} records in epoch 0 ({} left out to keep ranks equal)",
        all.len(),
        total - all.len() as u64
    );
    Ok(())
}
