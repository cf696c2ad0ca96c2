//! A `/rtc` signalling frame: the `SignalRequest` protobuf, then the SDP of an offer or answer
//! and a trickled candidate's JSON, as the server reads them before acting. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let _ = understudy_server::fuzzing::read_signal_request(bytes);
});
