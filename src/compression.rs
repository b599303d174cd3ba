//! Compression of whole TFRecord files, as `tf.io.TFRecordOptions` offers it:
//! the [`Compression`] choice and its detection from a file's first bytes.
//!
//! Knows nothing of files, readers or writers, nor of what records hold: it
//! looks at a prefix of bytes (a frame header means uncompressed).

use std::fmt;
use std::io::Read;
use std::str::FromStr;

use crate::error::Error;
use crate::framing::looks_like_frame;

/// How a TFRecord file's bytes are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Plain frames.
    #[default]
    None,
    /// One gzip stream over the frames (`compression_type="GZIP"`).
    Gzip,
    /// One zlib stream over the frames (`compression_type="ZLIB"`).
    Zlib,
}

impl Compression {
    /// Bytes of a file's start that [`detect`](Compression::detect) looks at.
    pub const DETECT_LEN: usize = 4096;

    /// Guesses the compression from a file's first bytes (up to
    /// [`DETECT_LEN`](Compression::DETECT_LEN), or all of a shorter file).
    ///
    /// A valid uncompressed frame header is checked first (its CRC makes a
    /// false match negligible). Then the gzip magic or a zlib header is
    /// looked for, and confirmed by decompressing the start of the stream: a
    /// damaged uncompressed file whose first bytes happen to look like a zlib
    /// header is still read as uncompressed, so the damage is reported
    /// precisely.
    ///
    /// ```
    /// use std::io::Write;
    /// use tfrec::Compression;
    /// let mut gz = flate2::write::GzEncoder::new(Vec::new(), Default::default());
    /// gz.write_all(b"some records")?;
    /// assert_eq!(Compression::detect(&gz.finish()?), Compression::Gzip);
    /// assert_eq!(Compression::detect(&[0x78, 0x01, 0, 0, 0, 0, 0, 0]), Compression::None);
    /// assert_eq!(Compression::detect(b""), Compression::None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn detect(prefix: &[u8]) -> Compression {
        if prefix.is_empty() || looks_like_frame(prefix) {
            return Compression::None;
        }
        let candidate = match prefix {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [cmf, flg, ..]
                if cmf & 0x0f == 8
                    && cmf >> 4 <= 7
                    && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0 =>
            {
                Compression::Zlib
            }
            _ => return Compression::None,
        };
        if decompresses(prefix, candidate) {
            candidate
        } else {
            Compression::None
        }
    }

    /// The name used on the command line and by TensorFlow (lower case).
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zlib => "zlib",
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Compression {
    type Err = Error;

    /// Accepts `none`/`""`, `gzip`, `zlib`, in any case.
    fn from_str(s: &str) -> Result<Compression, Error> {
        match s.to_ascii_lowercase().as_str() {
            "" | "none" => Ok(Compression::None),
            "gzip" => Ok(Compression::Gzip),
            "zlib" => Ok(Compression::Zlib),
            other => Err(Error::invalid_input(format!(
                "unknown compression {other:?} (expected none, gzip or zlib)"
            ))),
        }
    }
}

/// True when the start of `prefix` inflates without a format error. Running
/// out of input is fine: `prefix` is only the beginning of the stream.
fn decompresses(prefix: &[u8], compression: Compression) -> bool {
    let mut out = [0u8; 256];
    let result = match compression {
        Compression::Gzip => flate2::read::MultiGzDecoder::new(prefix).read(&mut out),
        Compression::Zlib => flate2::read::ZlibDecoder::new(prefix).read(&mut out),
        Compression::None => return true,
    };
    match result {
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::UnexpectedEof,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_not_mistaken_for_zlib() {
        let mut buf = Vec::new();
        crate::framing::encode_frame(b"x", &mut buf);
        assert_eq!(Compression::detect(&buf), Compression::None);
        assert_eq!("GZIP".parse::<Compression>().unwrap(), Compression::Gzip);
        assert!("lz4".parse::<Compression>().is_err());
    }
}
