//! A tour of tfrec on data it makes: write a small image dataset (plain and
//! GZIP), verify it, read it back zero-copy, decode in parallel, and check
//! every tensor against what was written.
//!
//! ```sh
//! cargo run --release --example demo [-- OUT_DIR]
//! ```

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use rayon::prelude::*;
use tfrec::{Compression, Reader, SliceReader, Tensor, Writer};

const IMAGES: usize = 2_000;
const SIDE: usize = 64;

/// Deterministic pseudo-random image `i`.
fn image(i: usize) -> Vec<u8> {
    let mut x = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..SIDE * SIDE * 3)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn main() -> Result<(), Box<dyn Error>> {
    let keep = std::env::args_os().nth(1).map(PathBuf::from);
    let temp = tempfile::tempdir()?;
    let dir = keep.unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;

    // 1. Write: an image tensor, its label, and a caption per example.
    let t0 = Instant::now();
    for compression in [Compression::None, Compression::Gzip] {
        let path = dir.join(format!("images-{compression}.tfrecord"));
        let mut w = Writer::create_with(&path, compression)?;
        for i in 0..IMAGES {
            w.write_tensor(&Tensor::from_bytes(
                tfrec::DType::U8,
                &[SIDE, SIDE, 3],
                image(i),
            )?)?;
            w.write_tensor(&Tensor::scalar(i as i64 % 10))?;
            w.write_tensor(&Tensor::from_strings(&[format!("image #{i}")], &[1])?)?;
        }
        let path = w.finish()?;
        println!(
            "wrote {} ({} records, {:.1} MB on disk)",
            path.display(),
            3 * IMAGES,
            std::fs::metadata(&path)?.len() as f64 / 1e6
        );
    }
    println!("  in {:.2?}", t0.elapsed());

    // 2. Verify both files: every frame, both CRCs, every tensor.
    for compression in ["none", "gzip"] {
        let path = dir.join(format!("images-{compression}.tfrecord"));
        let t = Instant::now();
        let report = tfrec::verify::verify_file(&path, Default::default(), &|_| {})?;
        println!(
            "verify {}: {} records, {} problems, {:.2?}",
            path.display(),
            report.records,
            report.problems.len(),
            t.elapsed()
        );
        if !report.is_ok() {
            return Err("verification failed".into());
        }
    }

    // 3. Read the uncompressed file through the map and decode in parallel.
    let path = dir.join("images-none.tfrecord");
    let reader = Reader::open(&path)?;
    let bytes = reader.mapped_bytes().ok_or("not mapped")?;
    let t = Instant::now();
    let records: Vec<tfrec::Record<'_>> = SliceReader::new(bytes).collect::<Result<_, _>>()?;
    let payloads: Vec<&[u8]> = records.iter().map(|r| &*r.payload).collect();
    let decoded: Vec<tfrec::TensorView<'_>> = payloads
        .par_iter()
        .map(|p| tfrec::TensorView::decode(p))
        .collect::<Result<_, _>>()?;
    let elapsed = t.elapsed();
    println!(
        "read + checked + decoded {} records in parallel in {elapsed:.2?} ({:.2} GB/s), {} borrowed from the map",
        decoded.len(),
        bytes.len() as f64 / elapsed.as_secs_f64() / 1e9,
        decoded.iter().filter(|t| t.is_borrowed()).count()
    );
    let checked: Vec<bool> = decoded
        .par_chunks(3)
        .enumerate()
        .map(|(i, rec)| -> Result<bool, tfrec::Error> {
            Ok(rec[0].values::<u8>()?.as_ref() == image(i).as_slice()
                && rec[1].to_vec::<i64>()? == [i as i64 % 10]
                && rec[2].strings().and_then(|mut s| s.next())
                    == Some(format!("image #{i}").as_bytes()))
        })
        .collect::<Result<_, _>>()?;
    let ok = checked.iter().filter(|&&b| b).count();
    println!("{ok}/{IMAGES} examples match what was written");
    if ok != IMAGES {
        return Err("round trip mismatch".into());
    }

    // 4. The GZIP file holds the same records.
    let mut gz = Reader::open(dir.join("images-gzip.tfrecord"))?;
    let same = gz
        .records()
        .zip(payloads.iter())
        .all(|(r, p)| r.is_ok_and(|r| &*r.payload == *p));
    println!(
        "gzip file ({}) holds identical records: {same}",
        gz.compression()
    );
    if !same {
        return Err("gzip mismatch".into());
    }
    Ok(())
}
