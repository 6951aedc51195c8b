#![no_main]
//! Status lists parse or fail, never panic; a parsed list accepts only 100-599.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    if let Ok(list) = data.parse::<healthprobe::StatusList>() {
        assert!(!list.contains(99) && !list.contains(600));
        let _ = list.to_string();
    }
});
