#![no_main]
//! Any string either parses as a target or gives a one-line error; parsing never panics, and a
//! parsed target prints without its userinfo.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    match data.parse::<healthprobe::Target>() {
        Ok(t) => {
            let shown = t.to_string();
            assert!(!shown.contains('\n'));
            let _ = (t.kind(), t.host(), t.port(), t.path());
        }
        Err(e) => assert!(!e.to_string().contains('\n') || data.contains('\n')),
    }
});
