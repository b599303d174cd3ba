//! Compression of whole TFRecord files, as `tf.io.TFRecordOptions` offers it.

use std::fmt;
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
    /// Guesses the compression from a file's first bytes (12 are enough).
    ///
    /// A valid uncompressed frame header is checked first (its CRC makes a
    /// false match negligible), then the gzip magic, then a zlib header.
    /// Anything else is taken as uncompressed so that reading reports the
    /// corrupt header precisely.
    ///
    /// ```
    /// use tfrec::Compression;
    /// assert_eq!(Compression::detect(&[0x1f, 0x8b, 0x08, 0]), Compression::Gzip);
    /// assert_eq!(Compression::detect(&[0x78, 0x9c]), Compression::Zlib);
    /// assert_eq!(Compression::detect(b""), Compression::None);
    /// ```
    pub fn detect(prefix: &[u8]) -> Compression {
        if prefix.is_empty() || looks_like_frame(prefix) {
            return Compression::None;
        }
        match prefix {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [cmf, flg, ..] if cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0 => {
                Compression::Zlib
            }
            _ => Compression::None,
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
