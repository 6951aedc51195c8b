#![no_main]
//! MongoDB OP_MSG replies and their BSON bodies: any bytes parse message by message or fail;
//! never a panic, never a message that claims more bytes than there are, never a reason that
//! spans lines (errors, replica-set roles, SASL steps).
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    healthprobe::db_fuzzing::mongodb(data);
});
