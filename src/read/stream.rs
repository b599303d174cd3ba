//! Records from a byte stream (pipes, stdin, decompressors).

use std::io::{self, BufRead, Read};

use crate::error::{Error, ErrorKind, Result};
use crate::framing::{self, FrameCheck, FOOTER_LEN, HEADER_LEN};

/// Reads frames one at a time from a buffered stream.
pub(crate) struct StreamFrames<R> {
    inner: R,
    check: FrameCheck,
    pub(crate) offset: u64,
    pub(crate) index: u64,
    done: bool,
}

/// The most a single payload read reserves ahead of the data actually arriving.
const RESERVE_STEP: u64 = 16 << 20;

impl<R: BufRead> StreamFrames<R> {
    pub(crate) fn new(inner: R, check: FrameCheck) -> Self {
        StreamFrames {
            inner,
            check,
            offset: 0,
            index: 0,
            done: false,
        }
    }

    /// Reads the next frame's payload into `buf` (cleared first). Returns the
    /// frame's (offset, index), or `None` at a clean end.
    pub(crate) fn read_into(&mut self, buf: &mut Vec<u8>) -> Option<Result<(u64, u64)>> {
        self.next_frame(Some(buf))
    }

    /// Skips the next frame without keeping its payload (the length CRC is
    /// checked, the data CRC is not).
    pub(crate) fn skip(&mut self) -> Option<Result<(u64, u64)>> {
        self.next_frame(None)
    }

    fn next_frame(&mut self, buf: Option<&mut Vec<u8>>) -> Option<Result<(u64, u64)>> {
        if self.done {
            return None;
        }
        let (offset, index) = (self.offset, self.index);
        let result = self.frame(buf);
        match result {
            Ok(Some(())) => {
                self.index += 1;
                Some(Ok((offset, index)))
            }
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e.at_record(offset, index)))
            }
        }
    }

    fn frame(&mut self, buf: Option<&mut Vec<u8>>) -> Result<Option<()>> {
        let mut header = [0u8; HEADER_LEN];
        let got = read_full(&mut self.inner, &mut header)?;
        if got == 0 {
            return Ok(None);
        }
        if got < HEADER_LEN {
            return Err(truncated(HEADER_LEN as u64, got as u64));
        }
        let len = framing::parse_header(&header)?;
        if len > self.check.max_record_len {
            return Err(Error::new(ErrorKind::RecordTooLarge {
                length: len,
                limit: self.check.max_record_len,
            }));
        }
        let needed = framing::frame_len(len).unwrap_or(u64::MAX);
        let payload_read = match buf {
            Some(buf) => {
                buf.clear();
                // Grow with the data that actually arrives, never by the
                // claimed length alone.
                buf.reserve(len.min(RESERVE_STEP) as usize);
                let n = (&mut self.inner).take(len).read_to_end(buf)? as u64;
                if n == len {
                    let mut footer = [0u8; FOOTER_LEN];
                    let f = read_full(&mut self.inner, &mut footer)?;
                    if f < FOOTER_LEN {
                        return Err(truncated(needed, (HEADER_LEN + f) as u64 + n));
                    }
                    if self.check.data_crc {
                        framing::check_payload(buf, &footer)?;
                    }
                }
                n
            }
            None => {
                let n = io::copy(&mut (&mut self.inner).take(len), &mut io::sink())?;
                if n == len {
                    let mut footer = [0u8; FOOTER_LEN];
                    let f = read_full(&mut self.inner, &mut footer)?;
                    if f < FOOTER_LEN {
                        return Err(truncated(needed, (HEADER_LEN + f) as u64 + n));
                    }
                }
                n
            }
        };
        if payload_read < len {
            return Err(truncated(needed, HEADER_LEN as u64 + payload_read));
        }
        self.offset += needed;
        Ok(Some(()))
    }
}

fn truncated(needed: u64, available: u64) -> Error {
    Error::new(ErrorKind::TruncatedRecord { needed, available })
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
