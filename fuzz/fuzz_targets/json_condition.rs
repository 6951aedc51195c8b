#![no_main]
//! The JSON reader and `--json` conditions never panic, never overflow the stack, and give one
//! short line as the reason, whatever the body and the condition: the input's first line is a
//! condition, the rest a body (and the whole input is read as a body too).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    healthprobe::json_fuzz(data);
});
