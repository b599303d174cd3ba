//! The floor for reading a file through the CPU on this machine: every byte
//! read with positioned reads into page-aligned buffers on all cores and run
//! through CRC32C, with no framing, decoding or checking of any kind.
//!
//! `benches/compare_tf.py` reports it beside `tfrec verify`: no reader that
//! checks every byte's CRC can beat it.
//!
//! ```sh
//! cargo run --release --example read_floor -- FILE
//! ```

use std::fs::File;
use std::os::unix::fs::FileExt;

use rayon::prelude::*;

const CHUNK: usize = 256 << 10;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os().nth(1).ok_or("usage: read_floor FILE")?;
    let file = File::open(path)?;
    let len = file.metadata()?.len() as usize;
    let chunks = len.div_ceil(CHUNK);
    let crc = (0..chunks)
        .into_par_iter()
        .map_init(
            || vec![0u8; CHUNK + 4096],
            |buf, i| -> std::io::Result<u32> {
                let start = (4096 - buf.as_ptr() as usize % 4096) % 4096;
                let n = CHUNK.min(len - i * CHUNK);
                let dst = &mut buf[start..start + n];
                file.read_exact_at(dst, (i * CHUNK) as u64)?;
                Ok(crc32c::crc32c(dst))
            },
        )
        .try_reduce(|| 0, |a, b| Ok(a ^ b))?;
    println!("{len} bytes, xor of chunk crcs {crc:#010x}");
    Ok(())
}
