#![no_main]
//! Kafka responses (ApiVersions v0, Metadata v1-v8): any bytes parse response by response or
//! fail; never a panic, never a response that claims more bytes than there are, never more
//! brokers than the bytes could hold.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    healthprobe::db_fuzzing::kafka(data);
});
