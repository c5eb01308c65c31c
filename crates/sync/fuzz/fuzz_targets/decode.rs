//! Fuzz the sync protocol decoder: any bytes, both directions. It must never panic, and
//! whatever it accepts must survive an encode/decode round trip unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use streampai_sync::protocol::{check_frame, DEFAULT_MAX_MESSAGE_BYTES};

fuzz_target!(|data: &[u8]| {
    check_frame(data, DEFAULT_MAX_MESSAGE_BYTES);
});
