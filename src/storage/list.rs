//! Listing keys and matching globs over them.
//!
//! Knows nothing of reading or writing objects, or of TFRecord frames.
//!
//! `s3://bucket/train-*.tfrecord` lists the keys under the longest prefix
//! without glob characters (the store pages through them) and keeps those
//! the pattern matches, in key order.

use futures::TryStreamExt;
use object_store::path::Path as KeyPath;

use super::config::{block_on, store_error, Object};
use super::url::ObjectUrl;
use crate::error::{Error, Result};

/// The objects whose keys match the glob in `pattern`'s key (`*`, `?`,
/// `[..]`, `**`), sorted; a key without glob characters is returned as is.
pub fn glob(pattern: &ObjectUrl) -> Result<Vec<ObjectUrl>> {
    let key = pattern.key();
    if !key.contains(['*', '?', '[']) {
        return Ok(vec![pattern.clone()]);
    }
    let matcher = glob::Pattern::new(key).map_err(|e| {
        Error::invalid_input(format!("bad glob pattern: {e}")).with_path(pattern.to_path_buf())
    })?;
    let literal = &key[..key.find(['*', '?', '[']).unwrap_or(key.len())];
    // Listing is by whole path segments: list under the last `/` before the
    // first glob character.
    let prefix = literal.rfind('/').map_or("", |i| &literal[..i]);
    let mut keys = list(&pattern.with_key(prefix))?;
    let options = glob::MatchOptions {
        require_literal_separator: true,
        ..Default::default()
    };
    keys.retain(|k| matcher.matches_with(k, options));
    keys.sort();
    Ok(keys.iter().map(|k| pattern.with_key(k)).collect())
}

/// Every key under the "directory" `prefix` names (all pages).
pub fn list(prefix: &ObjectUrl) -> Result<Vec<String>> {
    let object = Object::new(prefix)?;
    let key = (!prefix.key().is_empty()).then(|| object.key.clone());
    let listed: object_store::Result<Vec<_>> =
        block_on(object.store.list(key.as_ref()).try_collect());
    let listed = listed.map_err(|e| store_error(e, prefix))?;
    Ok(listed
        .into_iter()
        .map(|meta| KeyPath::as_ref(&meta.location).to_string())
        .collect())
}
