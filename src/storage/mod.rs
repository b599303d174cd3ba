//! Object storage: `s3://`, `gs://`, `az://` and `http(s)://` paths.
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

mod config;
mod list;
mod read;
mod url;
mod write;

pub use config::TIMEOUT_ENV;
pub use list::{glob, list};
pub use read::{ObjectStream, RemoteObject};
pub use url::{is_remote, Location, ObjectUrl, Scheme};
pub use write::ObjectWriter;

pub(crate) use list::has_glob;
pub(crate) use read::{exists, read_small};
pub(crate) use url::remote;
pub(crate) use write::{delete, upload};
