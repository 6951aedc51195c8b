#![no_main]
//! NATS server lines (`INFO {json}`, `PONG`, `-ERR '…'`, …): any bytes parse line by line or
//! fail; never a panic, never a line that claims more bytes than there are.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    healthprobe::db_fuzzing::nats(data);
});
