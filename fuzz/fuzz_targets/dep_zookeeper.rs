#![no_main]
//! Replies to ZooKeeper's `srvr`: any bytes parse or fail; never a panic, never a reply that
//! claims more bytes than there are.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    healthprobe::db_fuzzing::zookeeper(data);
});
