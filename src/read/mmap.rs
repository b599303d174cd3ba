//! The crate's only `unsafe` code: memory-mapping a file, guarded against
//! the file shrinking underneath.
//!
//! Knows nothing of readers, indexes or threads; of frames only enough to
//! tell a cut one.
//!
//! # Truncation while mapped
//! When a mapped file is truncated (a job rewriting it, another client of a
//! shared file system), reading a page past its new end raises `SIGBUS`,
//! which by default kills the process. Maps made here are *guarded*: on
//! Linux a process-wide `SIGBUS` handler, installed once on the first map,
//! looks the faulting address up in a fixed registry of this module's live
//! maps. For one of ours it records where the pages went missing, maps
//! anonymous zero pages over the rest of the map, and returns: the load is
//! retried and reads zeros. Zeros cannot pass a frame's length CRC, and a
//! payload that became zeros fails its CRC (unless zeros were its bytes),
//! so the reader stops at the frame, asks this module why, and reports an
//! [`ErrorKind::TruncatedRecord`] with the path, offset and index (also
//! when the file has grown again since, or a device failed under the map:
//! the bytes are gone either way). A fault anywhere else goes to the
//! handler that was installed before ours, or gets the default action, so
//! unrelated crashes still crash. The handler touches only atomics and
//! makes only system calls (`mmap`, `sigaction`, `raise`): no locks, no
//! allocation.
//!
//! What the guard does not give: a payload handed out before the truncation
//! and read after it reads as zeros (the next read reports the file cut);
//! with payload CRCs turned off, a vanished payload is not noticed until a
//! frame header is; bytes rewritten in place without a truncation change
//! under the borrowed slices and only the CRCs catch them. A file replaced
//! by a rename keeps its old inode mapped, so readers simply go on with the
//! old contents.
//!
//! Windows refuses to truncate a file while a view of it is mapped, so maps
//! there need no guard. On other platforms, and past 4096 maps alive at
//! once on Linux, [`Mmap::map`] declines and callers read with positioned
//! or plain reads instead.
//!
//! Another `SIGBUS` handler installed after ours (and not passing faults
//! on to it) takes the guard away: truncation then kills the process again.
#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

use std::fs::File;
use std::io;
use std::ops::Deref;
use std::path::Path;

use crate::error::{Error, ErrorKind};
use crate::framing::{self, HEADER_LEN};

/// A read-only memory map of a whole file, registered with the `SIGBUS`
/// guard for as long as it lives.
#[cfg_attr(not(any(target_os = "linux", windows)), allow(dead_code))]
pub(crate) struct Mmap {
    map: memmap2::Mmap,
    /// Where the mapped file can be found again, to learn its current
    /// length on the error path (rather than holding a descriptor per map:
    /// a dataset may map thousands of files).
    #[cfg(target_os = "linux")]
    origin: Origin,
    /// The map's place in the guard's registry.
    #[cfg(target_os = "linux")]
    slot: usize,
}

/// The mapped file: its path and identity.
#[cfg(target_os = "linux")]
struct Origin {
    path: std::path::PathBuf,
    dev: u64,
    ino: u64,
}

#[cfg(target_os = "linux")]
impl Origin {
    fn of(file: &File, path: &Path) -> io::Result<Origin> {
        use std::os::unix::fs::MetadataExt;
        let meta = file.metadata()?;
        Ok(Origin {
            path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// The file's length now; `None` when its path no longer leads to it
    /// (removed, or replaced by a rename).
    fn len(&self) -> Option<u64> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(&self.path).ok()?;
        (meta.dev() == self.dev && meta.ino() == self.ino).then_some(meta.len())
    }
}

impl Mmap {
    /// Maps `file` read-only, guarded against truncation; `Ok(None)` when no
    /// guard can be had here (an unsupported platform, or more maps alive at
    /// once than the registry holds), in which case the caller reads the
    /// file with positioned reads. `file` must be a regular, non-empty file,
    /// opened at `path`.
    pub(crate) fn map(file: &File, path: &Path) -> io::Result<Option<Mmap>> {
        #[cfg(target_os = "linux")]
        {
            if !guard::install() {
                return Ok(None);
            }
            let origin = Origin::of(file, path)?;
            // SAFETY: the map is read-only and private to this process. A
            // truncation of the file makes later reads fault; the guard
            // registered below turns those faults into zero pages before
            // anyone reads through the map (the map is not handed out before
            // `register` returns).
            let map = unsafe { memmap2::MmapOptions::new().map(file)? };
            let Some(slot) = guard::register(map.as_ptr() as usize, map.len()) else {
                return Ok(None);
            };
            // Advice only; failure is harmless.
            let _ = map.advise(memmap2::Advice::Sequential);
            Ok(Some(Mmap { map, origin, slot }))
        }
        #[cfg(windows)]
        {
            let _ = path;
            // SAFETY: the map is read-only; Windows refuses to truncate a
            // file while a view of it is mapped, so its pages cannot vanish.
            let map = unsafe { memmap2::MmapOptions::new().map(file)? };
            Ok(Some(Mmap { map }))
        }
        #[cfg(not(any(target_os = "linux", windows)))]
        {
            let _ = (file, path);
            Ok(None)
        }
    }

    /// Offset from which the guard has replaced the map's pages with zeros
    /// (`usize::MAX` while it has not). One atomic load (a plain load on
    /// x86 and ARM): cheap enough for every record.
    #[inline]
    pub(crate) fn zeroed_from(&self) -> usize {
        #[cfg(target_os = "linux")]
        return guard::zeroed_from(self.slot);
        #[cfg(not(target_os = "linux"))]
        usize::MAX
    }

    /// The mapped file's length now, when it can be told.
    fn file_len(&self) -> Option<u64> {
        #[cfg(target_os = "linux")]
        return self.origin.len();
        #[cfg(not(target_os = "linux"))]
        None
    }

    /// Whether the frame `offset..end`, read without error, may hold zeros
    /// the guard put in place of vanished pages.
    #[inline]
    pub(crate) fn lost(&self, end: usize) -> bool {
        end > self.zeroed_from()
    }

    /// Why the frame at `offset` (record `index`) could not be read, when
    /// the reason is that the mapped bytes went away (the file shrank below
    /// the frame's end, or the guard replaced vanished pages with zeros): an
    /// [`ErrorKind::TruncatedRecord`]. `None` when the frame's bytes are all
    /// still the file's, so that the error found in them stands. Costs a
    /// `stat`; for the error path only.
    pub(crate) fn vanished(&self, offset: u64, index: u64) -> Option<Error> {
        let file_len = self.file_len();
        let zeroed = self.zeroed_from() as u64;
        let map_len = self.map.len() as u64;
        let shrunk = file_len.is_some_and(|len| len < map_len);
        if zeroed == usize::MAX as u64 && !shrunk {
            // Nothing vanished: the error is in the file as it was mapped.
            return None;
        }
        let backed = zeroed.min(file_len.unwrap_or(map_len)).min(map_len);
        // The frame's extent from its header, if the header is still there.
        let header_end = offset.checked_add(HEADER_LEN as u64)?;
        let needed = if header_end <= backed {
            let header = usize::try_from(offset)
                .ok()
                .and_then(|at| self.map.get(at..)?.first_chunk::<HEADER_LEN>())?;
            // A bad header in bytes still backed by the file is damage.
            let len = framing::parse_header(header).ok()?;
            framing::frame_len(len)?
        } else {
            HEADER_LEN as u64
        };
        if offset.saturating_add(needed) <= backed {
            return None;
        }
        let available = match file_len {
            Some(len) if shrunk => len,
            // Cut and grown again (a job rewriting the file in place), no
            // longer at its path, or a device failing under the map: the
            // bytes that were read are all that can be told of.
            _ => backed,
        };
        let error = Error::new(ErrorKind::TruncatedRecord {
            needed,
            available: available.saturating_sub(offset),
        });
        Some(error.at_record(offset, index))
    }

    /// `error`, met in the frame at its offset, explained by the file having
    /// shrunk when it did (see [`vanished`](Self::vanished)); errors that
    /// name no offset are returned as they are.
    pub(crate) fn explain(&self, error: Error) -> Error {
        let Some(offset) = error.offset() else {
            return error;
        };
        let index = error.record_index().unwrap_or(0);
        match (self.vanished(offset, index), error.path()) {
            (Some(cut), Some(path)) => cut.with_path(path),
            (Some(cut), None) => cut,
            (None, _) => error,
        }
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // Leave the registry before the pages are unmapped (when `map` is
        // dropped after this), so that the guard never touches an address
        // range that may have been handed to someone else.
        #[cfg(target_os = "linux")]
        guard::unregister(self.slot);
    }
}

impl Deref for Mmap {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.map
    }
}

/// The `SIGBUS` handler and the registry of guarded maps. Everything the
/// handler touches is a lock-free atomic or a raw system call: no locks, no
/// allocation, as a signal handler requires.
#[cfg(target_os = "linux")]
mod guard {
    use std::ptr;
    use std::sync::atomic::AtomicUsize;
    use std::sync::atomic::Ordering::{Acquire, SeqCst};
    use std::sync::OnceLock;

    /// Maps alive at once that can be guarded; the next are declined (and
    /// read with positioned reads).
    const SLOTS: usize = 4096;

    const FREE: usize = 0;
    const BUSY: usize = 1;
    const LIVE: usize = 2;

    /// One registered map. `seq` is odd while `start` and `len` are being
    /// written, so that the handler never acts on a torn pair.
    struct Slot {
        state: AtomicUsize,
        seq: AtomicUsize,
        start: AtomicUsize,
        len: AtomicUsize,
        /// The bitwise complement of the offset from which zeros were
        /// mapped, so that "none" (`usize::MAX`) is 0 and the registry
        /// starts all zeros (in `.bss`, not in the binary).
        zeroed_from_not: AtomicUsize,
    }

    #[allow(clippy::declare_interior_mutable_const)]
    const EMPTY: Slot = Slot {
        state: AtomicUsize::new(FREE),
        seq: AtomicUsize::new(0),
        start: AtomicUsize::new(0),
        len: AtomicUsize::new(0),
        zeroed_from_not: AtomicUsize::new(0),
    };

    static REGISTRY: [Slot; SLOTS] = [EMPTY; SLOTS];
    /// One past the highest slot ever used: the handler looks no further.
    static HIGH: AtomicUsize = AtomicUsize::new(0);
    static PAGE: AtomicUsize = AtomicUsize::new(4096);
    /// The `SIGBUS` action found when ours was installed, to pass faults
    /// that are not ours on to.
    static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

    /// Installs the handler once per process; false if that failed.
    pub(super) fn install() -> bool {
        static INSTALLED: OnceLock<bool> = OnceLock::new();
        *INSTALLED.get_or_init(|| {
            // SAFETY: sysconf has no preconditions.
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            if let Ok(page) = usize::try_from(page) {
                if page.is_power_of_two() {
                    PAGE.store(page, SeqCst);
                }
            }
            // SAFETY: an all-zero sigaction is a valid value (SIG_DFL, empty
            // mask, no flags).
            let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: a null new action only reads the current one into
            // `previous`, a valid out-pointer.
            if unsafe { libc::sigaction(libc::SIGBUS, ptr::null(), &mut previous) } != 0 {
                return false;
            }
            // Stored before ours is installed, so the handler always finds
            // what to pass foreign faults on to.
            let _ = PREVIOUS.set(previous);
            // SAFETY: as above, zero is a valid starting value.
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK | libc::SA_RESTART;
            // SAFETY: `sa_mask` is a valid sigset_t to initialise.
            unsafe { libc::sigemptyset(&mut action.sa_mask) };
            // SAFETY: `action` is fully initialised and `on_sigbus` has the
            // signature SA_SIGINFO asks for and is async-signal-safe.
            unsafe { libc::sigaction(libc::SIGBUS, &action, ptr::null_mut()) == 0 }
        })
    }

    /// Registers the map `start..start + len`; `None` when the registry is
    /// full.
    pub(super) fn register(start: usize, len: usize) -> Option<usize> {
        for (i, slot) in REGISTRY.iter().enumerate() {
            if slot
                .state
                .compare_exchange(FREE, BUSY, SeqCst, SeqCst)
                .is_err()
            {
                continue;
            }
            slot.seq.fetch_add(1, SeqCst);
            slot.start.store(start, SeqCst);
            slot.len.store(len, SeqCst);
            slot.zeroed_from_not.store(0, SeqCst);
            slot.seq.fetch_add(1, SeqCst);
            HIGH.fetch_max(i + 1, SeqCst);
            slot.state.store(LIVE, SeqCst);
            return Some(i);
        }
        None
    }

    /// Takes a map out of the registry; called before it is unmapped.
    pub(super) fn unregister(slot: usize) {
        if let Some(slot) = REGISTRY.get(slot) {
            slot.state.store(FREE, SeqCst);
        }
    }

    pub(super) fn zeroed_from(slot: usize) -> usize {
        REGISTRY
            .get(slot)
            .map_or(usize::MAX, |s| !s.zeroed_from_not.load(Acquire))
    }

    /// The handler. Runs on the faulting thread with `SIGBUS` blocked.
    extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers;
        // it is checked for null anyway. `si_addr` is meaningful for the
        // kernel-raised faults (positive `si_code`) it is read for.
        let fault = unsafe { info.as_ref() }
            .filter(|info| info.si_code > 0)
            .map(|info| unsafe { info.si_addr() } as usize);
        if let Some(addr) = fault {
            // SAFETY: errno is thread-local; saved and restored around the
            // mmap call so that the interrupted code sees its own value.
            let errno = unsafe { *libc::__errno_location() };
            let recovered = zero_fill(addr);
            // SAFETY: as above.
            unsafe { *libc::__errno_location() = errno };
            if recovered {
                return;
            }
        }
        pass_on(sig, info, ctx, fault.is_some());
    }

    /// Maps zero pages over a registered map from the faulting page to its
    /// end; false when `addr` is in none of ours.
    fn zero_fill(addr: usize) -> bool {
        let page = PAGE.load(SeqCst);
        for slot in REGISTRY.iter().take(HIGH.load(SeqCst)) {
            if slot.state.load(SeqCst) != LIVE {
                continue;
            }
            let seq = slot.seq.load(SeqCst);
            let start = slot.start.load(SeqCst);
            let len = slot.len.load(SeqCst);
            if seq % 2 == 1 || slot.seq.load(SeqCst) != seq || slot.state.load(SeqCst) != LIVE {
                continue;
            }
            // A consistent snapshot of a map that was live after the fault;
            // a map is unregistered before it is unmapped, so an address in
            // it is in this map and no other.
            if addr < start || addr - start >= len {
                continue;
            }
            let from = addr & !(page - 1);
            let Some(end) = start
                .checked_add(len)
                .and_then(|end| end.checked_next_multiple_of(page))
            else {
                return false;
            };
            // Published before the zeros appear: whoever reads a zero that
            // came from here then also sees that it did.
            slot.zeroed_from_not.fetch_max(!(from - start), SeqCst);
            // SAFETY: `from..end` lies within a live map of ours (`start` is
            // page-aligned as mmap returned it, so `from >= start`); the
            // faulting thread holds a borrow of it, so it cannot be unmapped
            // meanwhile. MAP_FIXED replaces those pages of it, and nothing
            // else, with read-only zero pages.
            let zeros = unsafe {
                libc::mmap(
                    from as *mut libc::c_void,
                    end - from,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            return zeros != libc::MAP_FAILED;
        }
        false
    }

    /// Hands a fault that is not ours to the handler installed before ours,
    /// or lets it take the default action: for a fault, the default is
    /// restored and the faulting instruction, retried on return, kills the
    /// process as it would have without us; a `SIGBUS` sent by someone is
    /// raised again.
    fn pass_on(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void, fault: bool) {
        let previous = PREVIOUS.get().map_or(libc::SIG_DFL, |p| p.sa_sigaction);
        if previous != libc::SIG_DFL && previous != libc::SIG_IGN {
            let Some(action) = PREVIOUS.get() else { return };
            if action.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: the previous action was installed with SA_SIGINFO,
                // so its handler has this signature.
                let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { std::mem::transmute(previous) };
                handler(sig, info, ctx);
            } else {
                // SAFETY: without SA_SIGINFO a handler takes the signal
                // number only.
                let handler: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(previous) };
                handler(sig);
            }
            return;
        }
        if previous == libc::SIG_IGN && !fault {
            return;
        }
        // SAFETY: zero is SIG_DFL with an empty mask and no flags.
        let mut default: libc::sigaction = unsafe { std::mem::zeroed() };
        default.sa_sigaction = libc::SIG_DFL;
        // SAFETY: sigaction and raise are async-signal-safe; `default` is
        // initialised.
        unsafe {
            libc::sigaction(libc::SIGBUS, &default, ptr::null_mut());
            if !fault {
                libc::raise(libc::SIGBUS);
            }
        }
    }
}
