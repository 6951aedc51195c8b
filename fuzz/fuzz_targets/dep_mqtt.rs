#![no_main]
//! MQTT control packets and CONNACK return codes: any bytes parse packet by packet or fail;
//! never a panic, never a packet that claims more bytes than there are.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    healthprobe::db_fuzzing::mqtt(data);
});
