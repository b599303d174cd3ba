//! [`Sink`]: where a writer puts its bytes and what finishing it yields,
//! with [`WriteSink`] over any [`Write`]. Knows nothing of frames, files
//! or compression.

use std::io::{self, Write};

/// Where a [`Writer`](super::Writer) puts its bytes, and what finishing it yields.
pub trait Sink: Write {
    /// What [`Writer::finish`](super::Writer::finish) returns.
    type Output;
    /// Completes the output after the last byte is written.
    fn finish(self) -> io::Result<Self::Output>;
}

/// A [`Sink`] over any [`Write`]; finishing flushes and returns the writer.
#[derive(Debug)]
pub struct WriteSink<W: Write>(pub(super) W);

impl<W: Write> Write for WriteSink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<W: Write> Sink for WriteSink<W> {
    type Output = W;
    fn finish(mut self) -> io::Result<W> {
        self.0.flush()?;
        Ok(self.0)
    }
}
