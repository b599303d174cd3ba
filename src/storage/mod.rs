//! Object storage: `s3://`, `gs://`, `az://` and `http(s)://` paths.
//!
//! This file names the parts and holds the calls that pick a local path or an
//! object; it knows nothing of TFRecord frames.
//!
//! Every API taking a path takes an object URL too; [`Location::parse`]
//! tells them apart by scheme, and local paths keep their memory-mapped
//! fast path. Objects are read through [`RemoteObject`] (a sequential
//! stream with several ranged GETs in flight, or ranges for random access)
//! and written through [`ObjectWriter`] (a multipart upload that appears
//! only when complete). Stores are configured from their standard
//! environment variables; see [`TIMEOUT_ENV`] for the request timeout.
//!
//! The framing and codec know nothing of this: it sits beside the file
//! readers and writers, under the same record readers.

#[cfg(feature = "cloud")]
mod config;
#[cfg(not(feature = "cloud"))]
mod disabled;
#[cfg(feature = "cloud")]
mod list;
#[cfg(feature = "cloud")]
mod read;
mod url;
#[cfg(feature = "cloud")]
mod write;

#[cfg(feature = "cloud")]
pub use config::TIMEOUT_ENV;
#[cfg(not(feature = "cloud"))]
pub use disabled::{glob, list, ObjectStream, ObjectWriter, RemoteObject, TIMEOUT_ENV};
#[cfg(feature = "cloud")]
pub use list::{glob, list};
#[cfg(feature = "cloud")]
pub use read::{ObjectStream, RemoteObject};
pub use url::{is_remote, Location, ObjectUrl, Scheme};
#[cfg(feature = "cloud")]
pub use write::ObjectWriter;

#[cfg(not(feature = "cloud"))]
pub(crate) use disabled::{delete, read_small, upload};
#[cfg(feature = "cloud")]
pub(crate) use read::read_small;
pub(crate) use url::remote;
#[cfg(feature = "cloud")]
pub(crate) use write::{delete, upload};

/// Deletes a local file or an object; one that is not there is not an
/// error.
pub(crate) fn remove(path: &std::path::Path) -> std::io::Result<()> {
    if let Some(url) = remote(path) {
        return delete(&url).map_err(|e| std::io::Error::other(e.kind().to_string()));
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The names of the files in a local directory or of the objects directly
/// under a key prefix.
pub(crate) fn dir_names(dir: &std::path::Path) -> std::io::Result<Vec<String>> {
    if let Some(url) = remote(dir) {
        let keys = list(&url).map_err(|e| std::io::Error::other(e.kind().to_string()))?;
        let prefix = url.key().trim_end_matches('/');
        return Ok(keys
            .iter()
            .filter_map(|k| {
                let rest = if prefix.is_empty() {
                    k.as_str()
                } else {
                    k.strip_prefix(prefix)?.strip_prefix('/')?
                };
                (!rest.contains('/')).then(|| rest.to_string())
            })
            .collect());
    }
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        if let Some(name) = entry?.file_name().to_str() {
            names.push(name.to_string());
        }
    }
    Ok(names)
}
