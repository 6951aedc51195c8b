#![no_main]
//! `${VAR}` expansion never panics; text without `$` comes back unchanged.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    let out = healthprobe::expand_env(data);
    if !data.contains('$') {
        assert_eq!(out.as_deref(), Ok(data));
    }
});
