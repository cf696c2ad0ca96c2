//! A message on the client's publisher `_reliable`: a LiveKit `DataPacket` whose user payload
//! is a JSON string literal. Read without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use understudy_server::fuzzing::{ClientMessage, user_payload};

fuzz_target!(|bytes: &[u8]| {
    if let Some(payload) = user_payload(bytes)
        && let Some(ClientMessage::Talk(text)) = ClientMessage::parse(&payload)
    {
        assert!(!text.trim().is_empty());
    }
    // The payload reader on its own, too: the fuzzer finds JSON faster without the wrapper.
    let _ = ClientMessage::parse(bytes);
});
