//! `healthprobe`: exits 0 when every target is healthy, 1 otherwise (never 2, never a panic's
//! 101). All the work is in the library; see `healthprobe::cli`.

/// musl's allocator (mallocng) is built for hardening, not speed: it was 40 % of the
/// instructions of a plain HTTP check. dlmalloc (the allocator of Rust's std on wasm) does the
/// same work in about half, and its own global lock (a pthread mutex) would cost as much again:
/// here a spin lock guards it, uncontended but for checks of several targets at once, whose
/// threads hold it for one allocation at a time. Library users keep the allocator they choose.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: allocator::Locked = allocator::Locked::new();

#[cfg(target_env = "musl")]
mod allocator {
    use std::alloc::{GlobalAlloc, Layout};
    use std::cell::UnsafeCell;
    use std::sync::atomic::{AtomicBool, Ordering};

    pub struct Locked {
        busy: AtomicBool,
        heap: UnsafeCell<dlmalloc::Dlmalloc>,
    }

    // SAFETY: `heap` is only reached through `with`, which holds `busy`.
    unsafe impl Sync for Locked {}

    impl Locked {
        pub const fn new() -> Self {
            Self {
                busy: AtomicBool::new(false),
                heap: UnsafeCell::new(dlmalloc::Dlmalloc::new()),
            }
        }

        fn with<T>(&self, f: impl FnOnce(&mut dlmalloc::Dlmalloc) -> T) -> T {
            while self
                .busy
                .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                // Another thread is in the allocator for a few hundred instructions.
                std::thread::yield_now();
            }
            // SAFETY: `busy` is held: no other reference to the heap exists.
            let out = f(unsafe { &mut *self.heap.get() });
            self.busy.store(false, Ordering::Release);
            out
        }
    }

    // SAFETY: dlmalloc's functions have GlobalAlloc's contract; `with` serialises them.
    unsafe impl GlobalAlloc for Locked {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            self.with(|h| unsafe { h.malloc(layout.size(), layout.align()) })
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            self.with(|h| unsafe { h.calloc(layout.size(), layout.align()) })
        }

        unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
            // `c_free`, not `free`: the latter re-checks the size against the chunk's (asserts,
            // 2 K instructions a check) which GlobalAlloc's contract already guarantees.
            self.with(|h| unsafe { h.c_free(ptr) })
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            self.with(|h| unsafe { h.realloc(ptr, layout.size(), layout.align(), new_size) })
        }
    }
}

/// The seal slot: `healthprobe seal` writes a command line into a copy's bytes of it (see
/// healthprobe's src/seal.rs), so a sealed copy finds its check without reading a file.
static SEAL: [u8; healthprobe::cli::SEAL_SLOT.len()] = healthprobe::cli::SEAL_SLOT;

/// Byte `i` of the seal slot. A volatile read: the compiler knows what the slot was built with
/// and would fold every read of it into the unsealed answer.
fn seal_byte(i: usize) -> u8 {
    // SAFETY: `SEAL` is a static, alive for the whole program; `get` keeps `i` in bounds.
    SEAL.get(i)
        .map_or(0, |b| unsafe { std::ptr::read_volatile(b) })
}

fn main() -> std::process::ExitCode {
    healthprobe::cli::install_panic_hook();
    healthprobe::cli::main_sealable(seal_byte)
}

/// The release binaries (scripts/lib/nightly.sh: std rebuilt with `panic=abort`, which sets this
/// cfg and links an empty libunwind) never unwind, and their panic hook prints one line without a
/// backtrace; but std's default hook, still linked, can capture one. These are the two unwinder
/// functions that capture calls: here it finds no frame. Never in a build that unwinds or links
/// a prebuilt std, where libunwind defines them.
#[cfg(healthprobe_no_unwinder)]
mod no_unwinder {
    use std::ffi::{c_int, c_void};

    /// `_URC_END_OF_STACK`: the walk ends before its first frame.
    #[unsafe(no_mangle)]
    extern "C" fn _Unwind_Backtrace(_trace: *mut c_void, _arg: *mut c_void) -> c_int {
        5
    }

    #[unsafe(no_mangle)]
    extern "C" fn _Unwind_GetIP(_context: *mut c_void) -> usize {
        0
    }
}
