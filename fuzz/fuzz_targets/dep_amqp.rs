#![no_main]
//! AMQP 0-9-1 frames and connection methods (Start, Tune, Close, Blocked): any bytes parse
//! frame by frame or fail; never a panic, never a frame that claims more bytes than there are.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    healthprobe::db_fuzzing::amqp(data);
});
