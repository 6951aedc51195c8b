//! `healthprobe`: exits 0 when every target is healthy, 1 otherwise (never 2, never a panic's
//! 101). All the work is in the library; see `healthprobe::cli`.

fn main() -> std::process::ExitCode {
    healthprobe::cli::install_panic_hook();
    healthprobe::cli::main()
}
