//! `healthprobe`: exits 0 when every target is healthy, 1 otherwise (never 2, never a panic's
//! 101). All the work is in the library; see `healthprobe::cli`.

/// musl's allocator (mallocng) is built for hardening, not speed: it was half the instructions
/// of a plain HTTP check. dlmalloc (the allocator of Rust's own std on wasm) does the same
/// allocations in a fraction of them. Library users keep whichever allocator they choose.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

fn main() -> std::process::ExitCode {
    healthprobe::cli::install_panic_hook();
    healthprobe::cli::main()
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
