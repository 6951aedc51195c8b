#![no_main]
//! A sealed copy's slot decoder never panics, whatever bytes the slot holds (a damaged copy
//! must exit 1 with one line, never crash or run unsealed).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = healthprobe::seal_fuzz_decode(data);
});
