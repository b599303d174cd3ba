//! Following a file that is still being written.
//!
//! Knows nothing of frames or records: it only waits for more bytes.

use std::io::{self, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How [`Reader::follow`](super::Reader::follow) waits for a file that is
/// still being written.
///
/// At the end of the file, and inside a record whose end has not been
/// written yet, the reader sleeps for the poll interval and reads again. It
/// gives up when no new byte arrived for the idle timeout (if one is set) or
/// once the stop flag is raised: at a record boundary that is a clean end,
/// inside a record a [`TruncatedRecord`](crate::ErrorKind::TruncatedRecord)
/// error.
#[derive(Debug, Clone)]
pub struct Follow {
    poll: Duration,
    idle_timeout: Option<Duration>,
    stop: Option<Arc<AtomicBool>>,
}

impl Default for Follow {
    fn default() -> Self {
        Follow {
            poll: Duration::from_millis(100),
            idle_timeout: None,
            stop: None,
        }
    }
}

impl Follow {
    /// Waits for new bytes forever (until a stop flag, if one is given).
    pub fn new() -> Follow {
        Follow::default()
    }

    /// How long to sleep before looking for new bytes again (default 100 ms).
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.poll = every;
        self
    }

    /// Stop waiting once no new byte has arrived for this long (default:
    /// wait forever).
    pub fn idle_timeout(mut self, after: Duration) -> Self {
        self.idle_timeout = Some(after);
        self
    }

    /// Stop waiting once `flag` is true (checked at every poll).
    pub fn stop_flag(mut self, flag: Arc<AtomicBool>) -> Self {
        self.stop = Some(flag);
        self
    }

    fn stopped(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    }
}

/// A reader that, at the end of its input, waits for more instead of
/// reporting the end (until [`Follow`] says to give up).
pub(crate) struct FollowRead<R> {
    inner: R,
    follow: Follow,
    last_data: Instant,
}

impl<R> FollowRead<R> {
    pub(crate) fn new(inner: R, follow: Follow) -> Self {
        FollowRead {
            inner,
            follow,
            last_data: Instant::now(),
        }
    }
}

impl<R: Read> Read for FollowRead<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            let n = self.inner.read(out)?;
            if n > 0 {
                self.last_data = Instant::now();
                return Ok(n);
            }
            let idle = self
                .follow
                .idle_timeout
                .is_some_and(|t| self.last_data.elapsed() >= t);
            if idle || self.follow.stopped() {
                return Ok(0);
            }
            std::thread::sleep(self.follow.poll);
        }
    }
}
