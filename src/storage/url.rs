//! Telling object-store URLs from local paths.
//!
//! Knows nothing of store clients or of I/O.
//!
//! A path names an object when it starts with a scheme this crate reads
//! (`s3://`, `s3a://`, `gs://`, `az://`, `abfs://`, `abfss://`, `http://`,
//! `https://`); anything else is a local path, however odd.

use std::fmt;
use std::path::{Path, PathBuf};

/// The stores a URL can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Amazon S3 and S3-compatible servers (`s3://`, `s3a://`).
    S3,
    /// Google Cloud Storage (`gs://`).
    Gcs,
    /// Azure Blob Storage (`az://`, `abfs://`, `abfss://`).
    Azure,
    /// A plain HTTP(S) server that serves byte ranges (`http://`, `https://`).
    Http,
}

/// Where a path points: a local file or an object in a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local path, read through memory maps or plain reads.
    Local(PathBuf),
    /// An object in a store.
    Remote(ObjectUrl),
}

impl Location {
    /// Decides by the scheme at the front of `path` whether it names an
    /// object or a local file.
    ///
    /// ```
    /// use tfrec::storage::Location;
    /// assert!(matches!(Location::parse("s3://bucket/a.tfrecord"), Location::Remote(_)));
    /// assert!(matches!(Location::parse("data/a.tfrecord"), Location::Local(_)));
    /// ```
    pub fn parse(path: &str) -> Location {
        match ObjectUrl::parse(path) {
            Some(url) => Location::Remote(url),
            None => Location::Local(PathBuf::from(path)),
        }
    }

    /// [`parse`](Location::parse) for a path; paths that are not UTF-8 are
    /// local.
    pub fn of(path: &Path) -> Location {
        match path.to_str().and_then(ObjectUrl::parse) {
            Some(url) => Location::Remote(url),
            None => Location::Local(path.to_path_buf()),
        }
    }
}

/// The object URL `path` names, if it names one.
pub(crate) fn remote(path: &Path) -> Option<ObjectUrl> {
    path.to_str().and_then(ObjectUrl::parse)
}

/// Whether `path` names an object rather than a local file.
pub fn is_remote(path: impl AsRef<Path>) -> bool {
    remote(path.as_ref()).is_some()
}

/// An object URL split into the store it is in and the key within it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectUrl {
    scheme: Scheme,
    /// The URL up to the key: `s3://bucket`, `https://host:8080`.
    root: String,
    /// The key, without a leading `/` (percent-encoding kept as written).
    key: String,
}

impl ObjectUrl {
    /// Splits `url`, or `None` when it has no object-store scheme or no
    /// bucket (host).
    pub fn parse(url: &str) -> Option<ObjectUrl> {
        let (scheme_name, rest) = url.split_once("://")?;
        let scheme = match scheme_name.to_ascii_lowercase().as_str() {
            "s3" | "s3a" => Scheme::S3,
            "gs" => Scheme::Gcs,
            "az" | "abfs" | "abfss" | "azure" => Scheme::Azure,
            "http" | "https" => Scheme::Http,
            _ => return None,
        };
        let (authority, key) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.is_empty() {
            return None;
        }
        Some(ObjectUrl {
            scheme,
            root: format!("{scheme_name}://{authority}"),
            key: key.to_string(),
        })
    }

    /// The kind of store.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The URL up to the key (`s3://bucket`); one store client serves it.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// The key within the bucket (container, host).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The bucket, container or host (with any port).
    pub fn authority(&self) -> &str {
        self.root.split_once("://").map_or("", |(_, a)| a)
    }

    /// The same store with another key.
    pub fn with_key(&self, key: &str) -> ObjectUrl {
        ObjectUrl {
            scheme: self.scheme,
            root: self.root.clone(),
            key: key.trim_start_matches('/').to_string(),
        }
    }

    /// This URL with `suffix` appended to the key (`.idx` sidecars).
    pub fn with_suffix(&self, suffix: &str) -> ObjectUrl {
        self.with_key(&format!("{}{suffix}", self.key))
    }

    /// The object `name` in the "directory" this URL names (a key prefix).
    pub fn join(&self, name: &str) -> ObjectUrl {
        let key = self.key.trim_end_matches('/');
        if key.is_empty() {
            self.with_key(name)
        } else {
            self.with_key(&format!("{key}/{name}"))
        }
    }

    /// The URL as a path, for APIs taking `impl AsRef<Path>`.
    pub fn to_path_buf(&self) -> PathBuf {
        PathBuf::from(self.to_string())
    }
}

impl fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.root, self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_keys() {
        let url = ObjectUrl::parse("s3://bucket/dir/a.tfrecord").unwrap();
        assert_eq!(url.scheme(), Scheme::S3);
        assert_eq!(url.root(), "s3://bucket");
        assert_eq!(url.key(), "dir/a.tfrecord");
        assert_eq!(url.authority(), "bucket");
        assert_eq!(
            url.with_suffix(".idx").to_string(),
            "s3://bucket/dir/a.tfrecord.idx"
        );
        let dir = ObjectUrl::parse("gs://b/out/").unwrap();
        assert_eq!(dir.join("x").to_string(), "gs://b/out/x");
        assert_eq!(ObjectUrl::parse("s3://b").unwrap().join("x").key(), "x");
        let http = ObjectUrl::parse("http://127.0.0.1:8080/d/f").unwrap();
        assert_eq!(
            (http.scheme(), http.root()),
            (Scheme::Http, "http://127.0.0.1:8080")
        );
        assert_eq!(
            ObjectUrl::parse("abfss://c@acct.dfs.core.windows.net/k")
                .unwrap()
                .scheme(),
            Scheme::Azure
        );
    }

    #[test]
    fn local_paths_stay_local() {
        for p in [
            "a.tfrecord",
            "/tmp/x",
            "./s3:/x",
            "file://x",
            "s3://",
            "C:\\x",
            "-",
        ] {
            assert!(matches!(Location::parse(p), Location::Local(_)), "{p}");
        }
        assert!(is_remote("s3://b/k"));
        assert!(!is_remote("b/k"));
    }
}
