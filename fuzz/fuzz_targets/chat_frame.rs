//! A chat socket's binary frame (pipecat protobuf): read without a panic, and text is never
//! blank, audio never outside the accepted rates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use understudy_server::fuzzing::{ClientFrame, read_frame};

fuzz_target!(|bytes: &[u8]| {
    match read_frame(bytes) {
        ClientFrame::Talk(text) => assert!(!text.trim().is_empty()),
        ClientFrame::Audio { sample_rate, .. } => assert!((8_000..=48_000).contains(&sample_rate)),
        ClientFrame::Unusable(reason) => {
            assert!(reason.contains("sample_rate") || reason.contains("num_channels"))
        }
        ClientFrame::GarbledAudio | ClientFrame::Ignored => {}
    }
});
