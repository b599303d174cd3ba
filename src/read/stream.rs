//! Records from a byte stream (pipes, stdin, decompressors, plain files read
//! without a map).
//!
//! Knows nothing of opening files, of maps or of threads.

use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};
use crate::framing::{self, FrameCheck, Resync, FOOTER_LEN, HEADER_LEN};

use super::recovery::{CorruptionPolicy, Recovery};

/// Reads frames one at a time from a buffered stream.
pub(crate) struct StreamFrames<R> {
    inner: Pushback<R>,
    check: FrameCheck,
    pub(crate) offset: u64,
    pub(crate) index: u64,
    done: bool,
    /// Payloads read only to be checked or resynchronised over.
    scratch: Vec<u8>,
    /// Raised when a compressed stream ended before its proper end (see
    /// [`CutShort`]): the end of the records is then a truncation.
    pub(crate) cut_short: Option<Arc<AtomicBool>>,
    /// A truncation has been reported (the cut is reported once).
    truncation_reported: bool,
}

/// The most a payload read reserves ahead of the data actually arriving;
/// past it the buffer grows with the data (a hostile length costs nothing).
const RESERVE_STEP: u64 = 64 << 10;
/// Bytes read at a time while searching for a sound frame after damage.
const RESYNC_CHUNK: usize = 64 << 10;

/// A frame that could not be read: the error, and how to get past it.
struct Failed {
    error: Error,
    /// The whole frame was consumed and only its payload is bad: go on
    /// after it.
    frame_len: Option<u64>,
    /// Otherwise, the bytes consumed from the frame's start (kept only when
    /// asked for, to search them for the next sound frame).
    consumed: Vec<u8>,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Failed {
        Failed {
            error,
            frame_len: None,
            consumed: Vec::new(),
        }
    }
}

impl From<io::Error> for Failed {
    fn from(error: io::Error) -> Failed {
        Failed::from(Error::from(error))
    }
}

impl<R: BufRead> StreamFrames<R> {
    pub(crate) fn new(inner: R, check: FrameCheck) -> Self {
        StreamFrames {
            inner: Pushback::new(inner),
            check,
            offset: 0,
            index: 0,
            done: false,
            scratch: Vec::new(),
            cut_short: None,
            truncation_reported: false,
        }
    }

    /// Reads the next frame's payload into `buf` (cleared first). Returns the
    /// frame's (offset, index), or `None` at a clean end.
    pub(crate) fn read_into(
        &mut self,
        buf: &mut Vec<u8>,
        recovery: &mut Recovery,
    ) -> Option<Result<(u64, u64)>> {
        self.next_frame(Some(buf), recovery)
    }

    /// Skips the next frame without keeping its payload. The length CRC is
    /// checked; the data CRC only when damage is being skipped (so that the
    /// frames skipped are the frames [`read_into`](Self::read_into) yields).
    pub(crate) fn skip(&mut self, recovery: &mut Recovery) -> Option<Result<(u64, u64)>> {
        self.next_frame(None, recovery)
    }

    fn next_frame(
        &mut self,
        mut buf: Option<&mut Vec<u8>>,
        recovery: &mut Recovery,
    ) -> Option<Result<(u64, u64)>> {
        let skipping = recovery.policy == CorruptionPolicy::Skip;
        loop {
            if self.done {
                return None;
            }
            let (offset, index) = (self.offset, self.index);
            let result = match buf.as_deref_mut() {
                Some(buf) => self.frame(Some(buf), skipping, self.check),
                None if skipping => {
                    let mut scratch = std::mem::take(&mut self.scratch);
                    let check = FrameCheck {
                        data_crc: true,
                        ..self.check
                    };
                    let r = self.frame(Some(&mut scratch), true, check);
                    self.scratch = scratch;
                    r
                }
                None => self.frame(None, false, self.check),
            };
            let failed = match result {
                Ok(Some(frame_len)) => {
                    self.offset += frame_len;
                    self.index += 1;
                    return Some(Ok((offset, index)));
                }
                Ok(None) if !self.was_cut_short() => {
                    self.done = true;
                    return None;
                }
                // The compressed stream broke off between two records.
                Ok(None) => Failed {
                    error: truncated(HEADER_LEN as u64, 0),
                    frame_len: None,
                    consumed: Vec::new(),
                },
                Err(failed) => failed,
            };
            self.truncation_reported |= failed.error.is_truncated();
            if !recovery.skips(&failed.error) {
                self.done = true;
                return Some(Err(failed.error.at_record(offset, index)));
            }
            let resume = match failed.frame_len {
                Some(len) => Ok(offset + len),
                None => self.resync(offset, failed.consumed),
            };
            let resume = match resume {
                Ok(at) => at,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e.at_record(offset, index)));
                }
            };
            if let Err(over) = recovery.skip(offset, resume - offset, index, failed.error) {
                self.done = true;
                return Some(Err(over));
            }
            // A skip that makes no progress can only be the end of the input.
            self.done = resume == offset;
            self.offset = resume;
            self.index += 1;
        }
    }

    fn was_cut_short(&self) -> bool {
        !self.truncation_reported
            && self
                .cut_short
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// Reads one frame. `keep` says to keep what was consumed of a frame
    /// that fails, for [`resync`](Self::resync).
    fn frame(
        &mut self,
        buf: Option<&mut Vec<u8>>,
        keep: bool,
        check: FrameCheck,
    ) -> std::result::Result<Option<u64>, Failed> {
        let mut header = [0u8; HEADER_LEN];
        let got = read_full(&mut self.inner, &mut header)?;
        let lost = |error: Error, parts: &[&[u8]]| Failed {
            error,
            frame_len: None,
            consumed: if keep { parts.concat() } else { Vec::new() },
        };
        if got == 0 {
            return Ok(None);
        }
        if got < HEADER_LEN {
            let e = truncated(HEADER_LEN as u64, got as u64);
            return Err(lost(e, &[&header[..got]]));
        }
        let len = match framing::parse_header(&header) {
            Ok(len) => len,
            Err(e) => return Err(lost(e, &[&header])),
        };
        if len > check.max_record_len {
            let e = Error::new(ErrorKind::RecordTooLarge {
                length: len,
                limit: check.max_record_len,
            });
            return Err(lost(e, &[&header]));
        }
        let needed = framing::frame_len(len).unwrap_or(u64::MAX);
        let mut footer = [0u8; FOOTER_LEN];
        match buf {
            Some(buf) => {
                buf.clear();
                // Grow with the data that actually arrives, never by the
                // claimed length alone.
                buf.reserve(len.min(RESERVE_STEP) as usize);
                let n = (&mut self.inner).take(len).read_to_end(buf)? as u64;
                let f = if n == len {
                    read_full(&mut self.inner, &mut footer)?
                } else {
                    0
                };
                if n < len || f < FOOTER_LEN {
                    let e = truncated(needed, HEADER_LEN as u64 + n + f as u64);
                    return Err(lost(e, &[&header, buf, &footer[..f]]));
                }
                if check.data_crc {
                    if let Err(error) = framing::check_payload(buf, &footer) {
                        return Err(Failed {
                            error,
                            frame_len: Some(needed),
                            consumed: Vec::new(),
                        });
                    }
                }
            }
            None => {
                let n = io::copy(&mut (&mut self.inner).take(len), &mut io::sink())?;
                let f = if n == len {
                    read_full(&mut self.inner, &mut footer)?
                } else {
                    0
                };
                if n < len || f < FOOTER_LEN {
                    let e = truncated(needed, HEADER_LEN as u64 + n + f as u64);
                    return Err(Failed::from(e));
                }
            }
        }
        Ok(Some(needed))
    }

    /// Finds the next sound frame after damage at `offset`, where `consumed`
    /// holds the bytes already read from `offset` on. Leaves the stream
    /// positioned at that frame (or at the end) and returns its offset.
    fn resync(&mut self, offset: u64, consumed: Vec<u8>) -> Result<u64> {
        let mut window = consumed;
        // The frame at `offset` is known to be bad: search from the next byte.
        let first = window.len().min(1);
        window.drain(..first);
        let mut base = offset + first as u64;
        if first == 0 {
            // Nothing was consumed: step over one byte of the stream.
            let mut byte = [0u8; 1];
            base += read_full(&mut self.inner, &mut byte)? as u64;
        }
        let mut at_end = false;
        loop {
            match framing::resync(&window, 0, self.check, at_end) {
                Resync::Found(at) => {
                    self.inner.unread(&window[at..]);
                    return Ok(base + at as u64);
                }
                Resync::NotFound => return Ok(base + window.len() as u64),
                Resync::NeedMore(at) => {
                    window.drain(..at);
                    base += at as u64;
                    let before = window.len();
                    let want = RESYNC_CHUNK as u64;
                    (&mut self.inner).take(want).read_to_end(&mut window)?;
                    at_end = window.len() == before;
                }
            }
        }
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

/// A decompressor whose input ends before the compressed stream does: the
/// data it did produce is read to its end, then the reader sees the end of
/// its input and the flag is raised, so that the cut is reported as a
/// truncated record (as for a plain file cut short) rather than an I/O
/// error.
pub(crate) struct CutShort<R> {
    inner: R,
    cut: Arc<AtomicBool>,
}

impl<R> CutShort<R> {
    pub(crate) fn new(inner: R, cut: Arc<AtomicBool>) -> Self {
        CutShort { inner, cut }
    }
}

impl<R: Read> Read for CutShort<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.cut.load(Ordering::Relaxed) {
            return Ok(0);
        }
        match self.inner.read(out) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                self.cut.store(true, Ordering::Relaxed);
                Ok(0)
            }
            other => other,
        }
    }
}

/// A buffered stream that bytes can be pushed back into, for reading again
/// after a search for the next sound frame read past it.
struct Pushback<R> {
    inner: R,
    replay: Vec<u8>,
    pos: usize,
}

impl<R> Pushback<R> {
    fn new(inner: R) -> Self {
        Pushback {
            inner,
            replay: Vec::new(),
            pos: 0,
        }
    }

    /// Makes `bytes` the next bytes read, ahead of anything pushed back
    /// before.
    fn unread(&mut self, bytes: &[u8]) {
        let mut replay = Vec::with_capacity(bytes.len() + self.replay.len() - self.pos);
        replay.extend_from_slice(bytes);
        replay.extend_from_slice(&self.replay[self.pos..]);
        self.replay = replay;
        self.pos = 0;
    }
}

impl<R: BufRead> Read for Pushback<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos < self.replay.len() {
            let n = out.len().min(self.replay.len() - self.pos);
            out[..n].copy_from_slice(&self.replay[self.pos..self.pos + n]);
            self.consume(n);
            return Ok(n);
        }
        self.inner.read(out)
    }
}

impl<R: BufRead> BufRead for Pushback<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos < self.replay.len() {
            return Ok(&self.replay[self.pos..]);
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if self.pos < self.replay.len() {
            self.pos = (self.pos + amt).min(self.replay.len());
            if self.pos == self.replay.len() {
                self.replay = Vec::new();
                self.pos = 0;
            }
        } else {
            self.inner.consume(amt);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::CorruptionPolicy;

    fn frames(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            framing::encode_frame(p, &mut out);
        }
        out
    }

    fn read_all(bytes: &[u8], policy: CorruptionPolicy) -> (Vec<(Vec<u8>, u64, u64)>, u64) {
        let mut frames = StreamFrames::new(io::Cursor::new(bytes.to_vec()), FrameCheck::default());
        let mut recovery = Recovery::new(policy, None);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while let Some(r) = frames.read_into(&mut buf, &mut recovery) {
            let Ok((offset, index)) = r else { break };
            out.push((buf.clone(), offset, index));
        }
        (out, recovery.counts.records)
    }

    #[test]
    fn pushback_replays_before_the_stream() {
        let mut p = Pushback::new(io::Cursor::new(b"world".to_vec()));
        let mut first = [0u8; 2];
        p.read_exact(&mut first).unwrap();
        p.unread(b"hello ");
        p.unread(b">");
        let mut all = String::new();
        p.read_to_string(&mut all).unwrap();
        assert_eq!(all, ">hello rld");
    }

    #[test]
    fn skip_resyncs_past_a_corrupt_length() {
        let clean = frames(&[b"aaaa", b"bbbb", b"cccc"]);
        let mut bad = clean.clone();
        bad[20 + 3] ^= 0x40; // length of the second frame
        let (records, skipped) = read_all(&bad, CorruptionPolicy::Skip);
        let got: Vec<_> = records.iter().map(|(p, o, i)| (&p[..], *o, *i)).collect();
        assert_eq!(got, [(&b"aaaa"[..], 0, 0), (&b"cccc"[..], 40, 2)]);
        assert_eq!(skipped, 1);
        let (strict, _) = read_all(&bad, CorruptionPolicy::Strict);
        assert_eq!(strict.len(), 1);
    }

    #[test]
    fn skip_steps_over_a_bad_payload_by_its_length() {
        let mut bad = frames(&[b"aaaa", b"bbbb", b"cccc"]);
        bad[20 + 13] ^= 1;
        let (records, skipped) = read_all(&bad, CorruptionPolicy::Skip);
        let idx: Vec<_> = records.iter().map(|r| r.2).collect();
        assert_eq!(idx, [0, 2]);
        assert_eq!(skipped, 1);
    }

    #[test]
    fn skip_to_the_end_when_nothing_follows() {
        let mut bad = frames(&[b"aaaa", b"bbbb"]);
        bad.extend_from_slice(b"trailing garbage that is no frame at all");
        let (records, skipped) = read_all(&bad, CorruptionPolicy::Skip);
        assert_eq!(records.len(), 2);
        assert_eq!(skipped, 1);
    }
}
