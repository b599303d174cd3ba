//! Whole-file checks: every frame, both CRCs, and that each payload decodes
//! as a valid tensor.
//!
//! Memory-mapped files are checked in two passes: a sequential walk over the
//! frame headers, then the payload CRCs and tensor decoding in parallel on
//! rayon's pool. Streams (compressed files, stdin) are checked in order.

use std::path::Path;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::framing::{self, FrameCheck, FOOTER_LEN, FRAME_OVERHEAD, HEADER_LEN};
use crate::read::{ReadOptions, Reader};
use crate::tensor::TensorView;

/// What verification found.
#[derive(Debug, Default)]
pub struct Report {
    /// Records whose frames were read (sound or not).
    pub records: u64,
    /// Bytes of frames read (decompressed bytes for compressed files).
    pub bytes: u64,
    /// Every problem, in file order. A framing problem ends the file's check
    /// (what follows cannot be framed reliably); tensor problems do not.
    pub problems: Vec<Error>,
}

impl Report {
    /// True when nothing was wrong.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Where a frame's payload lies in a mapped file.
#[derive(Debug, Clone, Copy)]
struct FrameAt {
    offset: u64,
    index: u64,
    payload_len: usize,
}

/// Verifies a file; compressed files are recognised by content.
///
/// `progress` is called with byte counts as they are checked.
///
/// ```
/// use tfrec::{Tensor, Writer};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("x.tfrecord");
/// let mut w = Writer::create(&path)?;
/// w.write_tensor(&Tensor::scalar(1u8))?;
/// w.finish()?;
/// let report = tfrec::verify::verify_file(&path, ReadOptions::default(), &|_| {})?;
/// assert!(report.is_ok());
/// assert_eq!(report.records, 1);
/// # use tfrec::ReadOptions;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn verify_file(
    path: impl AsRef<Path>,
    options: ReadOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Report> {
    let path = path.as_ref();
    let mut reader = Reader::open_with(path, options.verify_data_crc(true))?;
    Ok(verify_reader(&mut reader, progress))
}

/// Verifies the remaining records of an open reader.
pub fn verify_reader(reader: &mut Reader, progress: &(dyn Fn(u64) + Sync)) -> Report {
    let path = reader.path().map(Path::to_path_buf);
    let mut report = match reader.mapped_bytes() {
        Some(bytes) => verify_bytes(bytes, progress),
        None => verify_stream(reader, progress),
    };
    if let Some(p) = path {
        report.problems = report
            .problems
            .into_iter()
            .map(|e| e.with_path(&p))
            .collect();
    }
    report
}

/// Verifies an uncompressed TFRecord byte buffer, in parallel.
pub fn verify_bytes(bytes: &[u8], progress: &(dyn Fn(u64) + Sync)) -> Report {
    let mut report = Report::default();
    let (frames, framing_error) = scan_frames(bytes);
    report.records = frames.len() as u64;
    report.bytes = frames
        .iter()
        .map(|f| (f.payload_len + FRAME_OVERHEAD) as u64)
        .sum();

    let mut problems: Vec<Error> = frames
        .par_iter()
        .with_min_len(16)
        .filter_map(|f| {
            let start = f.offset as usize + HEADER_LEN;
            let payload = &bytes[start..start + f.payload_len];
            let footer = bytes[start + f.payload_len..]
                .first_chunk::<FOOTER_LEN>()
                .copied()
                .unwrap_or_default();
            let result = framing::check_payload(payload, &footer)
                .and_then(|()| TensorView::decode(payload).map(drop));
            progress((f.payload_len + FRAME_OVERHEAD) as u64);
            result.err().map(|e| e.at_record(f.offset, f.index))
        })
        .collect();
    problems.sort_by_key(|e| e.record_index());
    problems.extend(framing_error);
    report.problems = problems;
    report
}

/// Walks the frame headers of `bytes`: lengths and their CRCs only. Returns
/// every frame that fits in the buffer, and the error that stopped the walk.
fn scan_frames(bytes: &[u8]) -> (Vec<FrameAt>, Option<Error>) {
    let check = FrameCheck {
        data_crc: false,
        ..FrameCheck::default()
    };
    let mut frames = Vec::new();
    let mut pos = 0usize;
    let mut index = 0u64;
    loop {
        let rest = &bytes[pos..];
        match framing::parse_frame(rest, check) {
            Ok(Some(frame)) => {
                frames.push(FrameAt {
                    offset: pos as u64,
                    index,
                    payload_len: frame.payload.len(),
                });
                pos += frame.frame_len;
                index += 1;
            }
            Ok(None) => return (frames, None),
            Err(e) => return (frames, Some(e.at_record(pos as u64, index))),
        }
    }
}

fn verify_stream(reader: &mut Reader, progress: &(dyn Fn(u64) + Sync)) -> Report {
    let mut report = Report::default();
    while let Some(item) = reader.next_record() {
        match item {
            Ok(record) => {
                report.records += 1;
                let len = (record.payload.len() + FRAME_OVERHEAD) as u64;
                report.bytes += len;
                if let Err(e) = record.decode() {
                    report.problems.push(e);
                }
                progress(len);
            }
            Err(e) => {
                report.problems.push(e);
                break;
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Tensor, Writer};

    fn sample() -> Vec<u8> {
        let mut w = Writer::new(Vec::new());
        for i in 0..5u8 {
            w.write_tensor(&Tensor::from_slice(&[i; 7], &[7]).unwrap())
                .unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn sound_file() {
        let bytes = sample();
        let r = verify_bytes(&bytes, &|_| {});
        assert!(r.is_ok());
        assert_eq!(r.records, 5);
        assert_eq!(r.bytes, bytes.len() as u64);
    }

    #[test]
    fn bad_payload_does_not_stop_the_check() {
        let mut w = Writer::new(Vec::new());
        w.write_record(b"\x08\x01\x12\x00").unwrap(); // float scalar, no value: ok (zero)
        w.write_record(b"not a tensor").unwrap();
        w.write_record(b"\x08\x63").unwrap(); // dtype 99
        w.write_tensor(&Tensor::scalar(1u8)).unwrap();
        let bytes = w.finish().unwrap();
        let r = verify_bytes(&bytes, &|_| {});
        let at: Vec<_> = r.problems.iter().map(|e| e.record_index()).collect();
        assert_eq!(at, [Some(1), Some(2)]);
        assert_eq!(r.records, 4);
    }

    #[test]
    fn framing_problem_is_reported_last_with_position() {
        let mut bytes = sample();
        let second = bytes.len() / 5;
        bytes[second + 3] ^= 0x10; // length field of record 1
        bytes[2 * second + 20] ^= 0x01; // never reached
        let r = verify_bytes(&bytes, &|_| {});
        assert_eq!(r.problems.len(), 1);
        assert_eq!(r.problems[0].record_index(), Some(1));
        assert_eq!(r.problems[0].offset(), Some(second as u64));
    }
}
