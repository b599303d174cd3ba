//! Writing objects by multipart upload.
//!
//! Knows nothing of TFRecord frames or of reading.
//!
//! An object appears under its name only when its upload completes: parts
//! go up as they are written, and an error (or a writer dropped unfinished)
//! aborts the upload, so no partial object is ever visible.

use std::io::{self, Read, Write};

use object_store::{ObjectStoreExt, WriteMultipart};

use super::config::{block_on, enter, store_io_error, Object};
use super::url::ObjectUrl;
use crate::error::{Error, Result};

/// Bytes per uploaded part (S3 needs at least 5 MiB for all but the last).
const PART: usize = 8 << 20;
/// Parts uploaded concurrently.
const PARTS_IN_FLIGHT: usize = 4;

/// A [`Write`] into a new object by multipart upload; the object exists
/// only after [`finish`](ObjectWriter::finish).
pub struct ObjectWriter {
    upload: Option<WriteMultipart>,
    url: ObjectUrl,
}

impl ObjectWriter {
    /// Starts an upload to `url`.
    pub fn create(url: &ObjectUrl) -> Result<ObjectWriter> {
        let object = Object::new(url)?;
        let upload = block_on(object.store.put_multipart(&object.key))
            .map_err(|e| Error::from(store_io_error(e)).with_path(url.to_path_buf()))?;
        Ok(ObjectWriter::start(upload, url))
    }

    fn start(upload: Box<dyn object_store::MultipartUpload>, url: &ObjectUrl) -> ObjectWriter {
        ObjectWriter {
            upload: Some(WriteMultipart::new_with_chunk_size(upload, PART)),
            url: url.clone(),
        }
    }

    /// Completes the upload: the object appears whole under its name.
    pub fn finish(self) -> Result<()> {
        let url = self.url.to_path_buf();
        self.finish_io().map_err(|e| Error::from(e).with_path(url))
    }

    fn finish_io(mut self) -> io::Result<()> {
        let Some(upload) = self.upload.take() else {
            return Ok(());
        };
        // `finish` aborts the upload itself when completing fails.
        block_on(upload.finish())
            .map(|_| ())
            .map_err(store_io_error)
    }

    /// Abandons the upload; nothing appears under the name.
    pub fn abort(mut self) {
        self.abort_inner();
    }

    fn abort_inner(&mut self) {
        if let Some(upload) = self.upload.take() {
            let _ = block_on(upload.abort());
        }
    }
}

impl Write for ObjectWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(upload) = self.upload.as_mut() else {
            return Err(io::Error::other("the upload is finished"));
        };
        // Bounds the parts held in memory; an earlier part's failure shows
        // here.
        if let Err(e) = block_on(upload.wait_for_capacity(PARTS_IN_FLIGHT)) {
            self.abort_inner();
            return Err(store_io_error(e));
        }
        let _runtime = enter();
        upload.write(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        self.abort_inner();
    }
}

/// Uploads the bytes `from` yields to a new object at `url`; on any error
/// the upload is aborted and no object appears.
/// Errors are `io::Error`s for the file writers' commit step, which adds
/// the path.
pub(crate) fn upload(mut from: impl Read, url: &ObjectUrl) -> io::Result<()> {
    let object = Object::new(url).map_err(|e| io::Error::other(e.kind().to_string()))?;
    let upload = block_on(object.store.put_multipart(&object.key)).map_err(store_io_error)?;
    let mut writer = ObjectWriter::start(upload, url);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                writer.abort();
                return Err(e);
            }
        };
        if let Err(e) = writer.write_all(&buf[..n]) {
            writer.abort();
            return Err(e);
        }
    }
    writer.finish_io()
}

/// Deletes the object at `url`, if there is one.
pub(crate) fn delete(url: &ObjectUrl) -> Result<()> {
    let object = Object::new(url)?;
    match block_on(object.store.delete(&object.key)) {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(Error::from(store_io_error(e)).with_path(url.to_path_buf())),
    }
}
