#![no_main]
//! RESP reply lines: any bytes parse frame by frame or fail;
//! never a panic, never a frame that claims more bytes than there are.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    healthprobe::db_fuzzing::redis(data);
});
