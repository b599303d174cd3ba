//! Stand-ins for a build without the `cloud` feature: every object URL is
//! an error saying so, and local paths work as always.
//!
//! Knows nothing of stores.

use std::io::{self, Read, Write};
use std::ops::Range;

use super::url::ObjectUrl;
use crate::error::{Error, Result};

/// See the `cloud` build's `TIMEOUT_ENV`.
pub const TIMEOUT_ENV: &str = "TFREC_STORE_TIMEOUT_SECS";

const DISABLED: &str = "object storage needs tfrec built with the `cloud` feature";

fn disabled(url: &ObjectUrl) -> Error {
    Error::from(io::Error::new(io::ErrorKind::Unsupported, DISABLED)).with_path(url.to_path_buf())
}

/// An object in a store (never opened in this build).
#[derive(Clone)]
pub struct RemoteObject {
    never: std::convert::Infallible,
}

impl RemoteObject {
    /// Always an error in this build.
    pub fn open(url: &ObjectUrl) -> Result<RemoteObject> {
        Err(disabled(url))
    }

    /// The object's length in bytes.
    pub fn len(&self) -> u64 {
        match self.never {}
    }

    /// True for an empty object.
    pub fn is_empty(&self) -> bool {
        match self.never {}
    }

    /// The bytes in `range`.
    pub fn read_range(&self, _range: Range<u64>) -> Result<Vec<u8>> {
        match self.never {}
    }

    /// The bytes of each range.
    pub fn read_ranges(&self, _ranges: &[Range<u64>]) -> Result<Vec<Vec<u8>>> {
        match self.never {}
    }

    pub(crate) fn read_exact_at(&self, _dst: &mut [u8], _offset: u64) -> io::Result<()> {
        match self.never {}
    }

    /// A sequential stream over the object.
    pub fn stream(&self) -> ObjectStream {
        match self.never {}
    }
}

/// A sequential stream over an object (never made in this build).
pub struct ObjectStream {
    never: std::convert::Infallible,
}

impl ObjectStream {
    /// Always an error in this build.
    pub fn open(url: &ObjectUrl) -> Result<ObjectStream> {
        Err(disabled(url))
    }
}

impl Read for ObjectStream {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        match self.never {}
    }
}

/// An upload (never started in this build).
pub struct ObjectWriter {
    never: std::convert::Infallible,
}

impl ObjectWriter {
    /// Always an error in this build.
    pub fn create(url: &ObjectUrl) -> Result<ObjectWriter> {
        Err(disabled(url))
    }

    /// Completes the upload.
    pub fn finish(self) -> Result<()> {
        match self.never {}
    }
}

impl Write for ObjectWriter {
    fn write(&mut self, _buf: &[u8]) -> io::Result<usize> {
        match self.never {}
    }
    fn flush(&mut self) -> io::Result<()> {
        match self.never {}
    }
}

/// Always an error in this build.
pub fn glob(pattern: &ObjectUrl) -> Result<Vec<ObjectUrl>> {
    Err(disabled(pattern))
}

/// Always an error in this build.
pub fn list(prefix: &ObjectUrl) -> Result<Vec<String>> {
    Err(disabled(prefix))
}

pub(crate) fn read_small(url: &ObjectUrl) -> Result<Option<Vec<u8>>> {
    Err(disabled(url))
}

pub(crate) fn upload(_from: impl Read, _url: &ObjectUrl) -> io::Result<()> {
    Err(io::Error::new(io::ErrorKind::Unsupported, DISABLED))
}

pub(crate) fn delete(url: &ObjectUrl) -> Result<()> {
    Err(disabled(url))
}
