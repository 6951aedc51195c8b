#![no_main]
//! Durations parse or fail, never panic, and stay within the documented bound.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    if let Ok(d) = healthprobe::parse_duration(data) {
        assert!(d <= std::time::Duration::from_secs(24 * 3600));
    }
});
