#![no_main]
//! The whole command-line parser, from raw argv to a validated plan: never a panic.
//! Arguments are the input split at NUL bytes.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    let args: Vec<&str> = data.split('\0').collect();
    let _ = healthprobe::cli::validate(&args);
});
