//! The thread pool the binding runs library work on.
//!
//! Rayon's global pool does not survive `fork`: a child inherits the pool's
//! state but not its threads, and the first parallel call deadlocks. So the
//! binding never touches the global pool. It keeps one pool per process,
//! keyed by the process id, built on first use; a forked child sees a
//! different pid and builds its own. The size is `TFREC_NUM_THREADS` when set,
//! else 1 inside a PyTorch DataLoader worker (the workers are the
//! parallelism there), else the number of CPUs.
//!
//! Knows nothing of the work that runs on the pool.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

static POOL: Mutex<Option<(u32, Arc<ThreadPool>)>> = Mutex::new(None);

/// The environment variable that sets the number of threads.
pub(crate) const THREADS_ENV: &str = "TFREC_NUM_THREADS";

/// This process's pool, built on first use (and again after a fork).
pub(crate) fn pool() -> PyResult<Arc<ThreadPool>> {
    let pid = std::process::id();
    // A poisoned lock only means another thread panicked while holding it;
    // the pool slot itself is still consistent.
    let mut slot = POOL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((owner, pool)) = slot.as_ref() {
        if *owner == pid {
            return Ok(Arc::clone(pool));
        }
    }
    let pool = ThreadPoolBuilder::new()
        .num_threads(default_threads())
        .thread_name(|i| format!("tfrec-{i}"))
        .build()
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("thread pool: {e}")))?;
    let pool = Arc::new(pool);
    // A pool inherited from the parent over a fork has no threads behind it;
    // dropping it would try to join them, so it is leaked instead.
    if let Some(stale) = slot.replace((pid, Arc::clone(&pool))) {
        std::mem::forget(stale);
    }
    Ok(pool)
}

/// Threads for library work in this process (see the module docs).
pub(crate) fn default_threads() -> usize {
    if let Some(n) = std::env::var(THREADS_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return n;
    }
    if in_torch_worker() {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// True inside a `torch.utils.data.DataLoader` worker process, without
/// importing torch: the worker sets this in its module before loading data.
fn in_torch_worker() -> bool {
    Python::attach(|py| {
        let Ok(sys) = py.import("sys") else {
            return false;
        };
        let Ok(modules) = sys.getattr("modules") else {
            return false;
        };
        let Ok(Some(worker)) = modules
            .call_method1("get", ("torch.utils.data._utils.worker",))
            .map(|m| (!m.is_none()).then_some(m))
        else {
            return false;
        };
        worker
            .getattr("_worker_info")
            .map(|info| !info.is_none())
            .unwrap_or(false)
    })
}

/// The number of threads library work runs on in this process.
#[pyfunction]
pub(crate) fn num_threads() -> PyResult<usize> {
    Ok(pool()?.current_num_threads())
}
