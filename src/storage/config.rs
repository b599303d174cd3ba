//! Store clients, the runtime they run on, and their errors.
//!
//! Knows nothing of TFRecord frames or of what is read or written.
//!
//! Each store is configured from its own standard environment variables
//! (for S3: `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_REGION`, `AWS_ALLOW_HTTP`, ...; for GCS `GOOGLE_*`; for Azure
//! `AZURE_*`), with retries and a timeout on every request
//! (`TFREC_STORE_TIMEOUT_SECS`, default 60). One client per bucket is kept
//! for the life of the process. Requests run on a small internal runtime;
//! callers block on them.
//!
//! Credentials never reach an error message: store configurations are
//! never formatted, and messages from stores have the values of
//! credential variables blanked out.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::http::HttpBuilder;
use object_store::path::Path as KeyPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use super::url::{ObjectUrl, Scheme};
use crate::error::{Error, Result};

/// Seconds one request may take before it fails (and is retried).
pub const TIMEOUT_ENV: &str = "TFREC_STORE_TIMEOUT_SECS";
const DEFAULT_TIMEOUT_SECS: u64 = 60;
/// Transient failures (5xx, connection resets, timeouts) are retried this
/// often with exponential backoff.
const MAX_RETRIES: usize = 5;

/// The runtime requests run on: two workers, made on first use in each
/// process. A child forked after the parent used it gets a runtime of its
/// own (the parent's threads do not exist in the child; its runtime is left
/// alone, never dropped there).
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: Mutex<Option<(u32, &'static tokio::runtime::Runtime)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((owner, runtime)) = *slot {
        if owner == pid {
            return runtime;
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("tfrec-store")
        .enable_all()
        .build()
        // Without threads or timers nothing else in the process works
        // either.
        .unwrap_or_else(|e| panic!("cannot start the object-store runtime: {e}"));
    let runtime: &'static tokio::runtime::Runtime = Box::leak(Box::new(runtime));
    *slot = Some((pid, runtime));
    runtime
}

/// Runs `f` to completion on the store runtime, blocking this thread.
pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    runtime().block_on(f)
}

/// Starts `f` on the store runtime.
pub(crate) fn spawn<F>(f: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    runtime().spawn(f)
}

/// Enters the runtime's context (for code that spawns tasks itself).
pub(crate) fn enter() -> tokio::runtime::EnterGuard<'static> {
    runtime().enter()
}

/// The timeout of one request.
pub(crate) fn timeout() -> Duration {
    let secs = std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(DEFAULT_TIMEOUT_SECS as f64);
    Duration::from_secs_f64(secs)
}

fn retry() -> RetryConfig {
    let timeout = timeout();
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: MAX_RETRIES,
        retry_timeout: timeout * 3,
    }
}

fn client_options() -> ClientOptions {
    let timeout = timeout();
    ClientOptions::new()
        .with_timeout(timeout)
        .with_connect_timeout(timeout.min(Duration::from_secs(10)))
}

/// A store client and the key of an object in it.
#[derive(Clone)]
pub(crate) struct Object {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) key: KeyPath,
    pub(crate) url: ObjectUrl,
}

impl Object {
    /// The client for `url`'s bucket (made once) and the object's key.
    pub(crate) fn new(url: &ObjectUrl) -> Result<Object> {
        let store = store_for(url)?;
        let key = KeyPath::from_url_path(url.key()).map_err(|e| {
            Error::invalid_input(format!("not a valid object key: {e}"))
                .with_path(url.to_path_buf())
        })?;
        Ok(Object {
            store,
            key,
            url: url.clone(),
        })
    }
}

fn store_for(url: &ObjectUrl) -> Result<Arc<dyn ObjectStore>> {
    // Keyed by process too: a client's connections belong to the runtime
    // of the process that made it.
    type Stores = HashMap<(u32, String), Arc<dyn ObjectStore>>;
    static STORES: OnceLock<Mutex<Stores>> = OnceLock::new();
    let stores = STORES.get_or_init(Default::default);
    let mut stores = stores.lock().unwrap_or_else(|e| e.into_inner());
    let key = (std::process::id(), url.root().to_string());
    if let Some(store) = stores.get(&key) {
        return Ok(store.clone());
    }
    // rustls needs its crypto provider chosen once per process; a second
    // install (by anyone) is refused, which is fine. ring, unlike the
    // default aws-lc, builds without cmake or nasm.
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    let built: object_store::Result<Arc<dyn ObjectStore>> = match url.scheme() {
        Scheme::S3 => {
            let mut builder = AmazonS3Builder::from_env()
                .with_bucket_name(url.authority())
                .with_retry(retry());
            builder = with_timeouts(builder, |b, k, v| {
                b.with_config(object_store::aws::AmazonS3ConfigKey::Client(k), v)
            });
            builder.build().map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        }
        Scheme::Gcs => {
            let mut builder = GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(url.authority())
                .with_retry(retry());
            builder = with_timeouts(builder, |b, k, v| {
                b.with_config(object_store::gcp::GoogleConfigKey::Client(k), v)
            });
            builder.build().map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        }
        Scheme::Azure => {
            let mut builder = MicrosoftAzureBuilder::from_env()
                .with_url(url.root())
                .with_retry(retry());
            builder = with_timeouts(builder, |b, k, v| {
                b.with_config(object_store::azure::AzureConfigKey::Client(k), v)
            });
            builder.build().map(|s| Arc::new(s) as Arc<dyn ObjectStore>)
        }
        Scheme::Http => HttpBuilder::new()
            .with_url(url.root())
            .with_client_options(client_options().with_allow_http(true))
            .with_retry(retry())
            .build()
            .map(|s| Arc::new(s) as Arc<dyn ObjectStore>),
    };
    let store = built.map_err(|e| store_error(e, url))?;
    stores.insert(key, store.clone());
    Ok(store)
}

/// Sets the request timeouts through config keys, which (unlike replacing
/// the client options) keeps what the environment set, such as
/// `AWS_ALLOW_HTTP`.
fn with_timeouts<B>(builder: B, set: impl Fn(B, object_store::ClientConfigKey, String) -> B) -> B {
    let timeout = timeout();
    let connect = timeout.min(Duration::from_secs(10));
    let builder = set(
        builder,
        object_store::ClientConfigKey::Timeout,
        format!("{}ms", timeout.as_millis()),
    );
    set(
        builder,
        object_store::ClientConfigKey::ConnectTimeout,
        format!("{}ms", connect.as_millis()),
    )
}

/// Turns a store error into the crate's error naming `url`: a missing
/// object is `NotFound`, a refused one `PermissionDenied`, a timeout
/// `TimedOut` (so each maps to the matching I/O error kind), with one line
/// saying what happened and no credentials.
pub(crate) fn store_error(e: object_store::Error, url: &ObjectUrl) -> Error {
    Error::from(store_io_error(e)).with_path(url.to_path_buf())
}

/// [`store_error`] as an `io::Error`, for `Read` and `Write` impls.
pub(crate) fn store_io_error(e: object_store::Error) -> io::Error {
    use object_store::Error as E;
    let detail = one_line(&e);
    let (kind, what) = match &e {
        E::NotFound { .. } => (io::ErrorKind::NotFound, "object not found"),
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => {
            (io::ErrorKind::PermissionDenied, "access denied")
        }
        E::NotSupported { .. } | E::NotImplemented { .. } => {
            (io::ErrorKind::Unsupported, "not supported by this store")
        }
        _ if timed_out(&detail) => (io::ErrorKind::TimedOut, "request timed out"),
        _ => (io::ErrorKind::Other, "object store request failed"),
    };
    io::Error::new(kind, format!("{what}: {}", redact(&detail)))
}

/// Whether the request failed by timing out (the client says "operation
/// timed out"; the retry summary's "retry_timeout" does not count).
fn timed_out(detail: &str) -> bool {
    let lower = detail.to_ascii_lowercase();
    lower.contains("timed out") || lower.contains("deadline has elapsed")
}

/// The error and its causes on one line, shortened.
fn one_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let part = c.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = c.source();
    }
    let mut line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.len() > 400 {
        let mut cut = 400;
        while !line.is_char_boundary(cut) {
            cut -= 1;
        }
        line.truncate(cut);
        line.push_str(" ...");
    }
    line
}

/// Environment variables whose values are secrets.
const SECRET_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_TOKEN",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_STORAGE_TOKEN",
    "AZURE_CLIENT_SECRET",
];

/// `text` with the value of every credential variable blanked out (stores
/// echo, for example, the access key id in their refusals).
pub(crate) fn redact(text: &str) -> String {
    let mut out = text.to_string();
    for var in SECRET_VARS {
        if let Ok(secret) = std::env::var(var) {
            if secret.len() >= 4 {
                out = out.replace(&secret, "***");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line() {
        let e = object_store::Error::NotFound {
            path: "k".into(),
            source: "line one\nline two".into(),
        };
        let io = store_io_error(e);
        assert_eq!(io.kind(), io::ErrorKind::NotFound);
        assert!(!io.to_string().contains('\n'), "{io}");
        assert!(io.to_string().starts_with("object not found: "), "{io}");
    }
}
