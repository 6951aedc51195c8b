#![no_main]
//! SMTP replies (greetings, multi-line EHLO replies): any bytes parse reply by reply or fail;
//! never a panic, never a reply that claims more bytes than there are.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    healthprobe::db_fuzzing::smtp(data);
});
