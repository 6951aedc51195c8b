#![no_main]
//! DNS answers (UDP datagrams and TCP messages): any bytes are matched, parsed and judged or
//! refused; never a panic, never a name that loops, never more records than the bytes hold.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    healthprobe::db_fuzzing::dns(data);
});
