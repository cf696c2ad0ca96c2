//! What a chat socket's binary frame means (§8.2): the one decoder of client frames, pure, so
//! it can be fuzzed on its own. The socket task acts on the answer.

use super::listener::{MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, downmix, samples_from_le_bytes};
use prost::Message as _;
use understudy_proto::pipecat::{AudioRawFrame, Frame, FrameKind};

/// One client frame, read.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    /// Text for the avatar to answer (`speak` with TALK + ASYNC).
    Talk(String),
    /// Microphone audio, downmixed to mono.
    Audio { mono: Vec<i16>, sample_rate: u32 },
    /// An audio frame in a usable format whose bytes are not whole samples (an odd byte
    /// count, or a stereo frame cut mid-sample): dropped, but it still counts as audio
    /// arriving.
    GarbledAudio,
    /// Not a pipecat frame, an empty frame, blank text, a transcription: dropped.
    Ignored,
    /// Audio in a format nobody can hear: the socket closes with 1007 and this reason.
    Unusable(String),
}

/// Reads one binary frame from a chat socket. Never fails: every input is one of the above.
pub fn read_frame(bytes: &[u8]) -> ClientFrame {
    match Frame::decode(bytes) {
        Ok(Frame {
            frame: Some(FrameKind::Text(text)),
        }) if !text.text.trim().is_empty() => ClientFrame::Talk(text.text),
        Ok(Frame {
            frame: Some(FrameKind::Audio(audio)),
        }) => read_audio(&audio),
        _ => ClientFrame::Ignored,
    }
}

/// §8.2: the SDK sends 16 kHz, s16le, mono, 512 samples; any rate a microphone produces and one
/// or two channels are accepted.
fn read_audio(audio: &AudioRawFrame) -> ClientFrame {
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&audio.sample_rate) {
        return ClientFrame::Unusable(format!(
            "audio sample_rate {} Hz is not supported: send {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz",
            audio.sample_rate
        ));
    }
    let channels = match audio.num_channels {
        0 | 1 => 1,
        2 => 2,
        n => {
            return ClientFrame::Unusable(format!(
                "audio num_channels {n} is not supported: send 1 or 2"
            ));
        }
    };
    match samples_from_le_bytes(&audio.audio) {
        Some(samples) if samples.len() % channels == 0 => ClientFrame::Audio {
            mono: downmix(&samples, channels),
            sample_rate: audio.sample_rate,
        },
        _ => ClientFrame::GarbledAudio,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cases() -> u32 {
        crate::proptest_cases(2_000)
    }

    fn audio_frame() -> impl Strategy<Value = AudioRawFrame> {
        (
            proptest::collection::vec(any::<u8>(), 0..2_100),
            prop_oneof![
                Just(16_000u32),
                Just(48_000),
                Just(0),
                Just(7_999),
                any::<u32>()
            ],
            prop_oneof![Just(1u32), Just(2), Just(0), any::<u32>()],
            any::<u64>(),
        )
            .prop_map(|(audio, sample_rate, num_channels, id)| AudioRawFrame {
                audio,
                sample_rate,
                num_channels,
                id,
                ..Default::default()
            })
    }

    fn frame() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            // Raw garbage.
            proptest::collection::vec(any::<u8>(), 0..600),
            // Well-formed frames of every kind, with wild fields.
            ".{0,200}".prop_map(|t| Frame::text(t).encode_to_vec()),
            audio_frame().prop_map(|a| Frame {
                frame: Some(FrameKind::Audio(a))
            }
            .encode_to_vec()),
            // Well-formed frames cut short or with a byte flipped.
            (audio_frame(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(a, at, x)| {
                let mut bytes = Frame {
                    frame: Some(FrameKind::Audio(a)),
                }
                .encode_to_vec();
                let i = at.index(bytes.len().max(1));
                if i < bytes.len() {
                    bytes[i] ^= x | 1;
                }
                bytes
            }),
            (".{0,50}", any::<prop::sample::Index>()).prop_map(|(t, at)| {
                let bytes = Frame::text(t).encode_to_vec();
                let cut = at.index(bytes.len() + 1);
                bytes[..cut].to_vec()
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases()))]

        /// Any bytes are read without a panic, and each answer keeps its promise.
        #[test]
        fn any_frame_is_read_to_its_documented_outcome(bytes in frame()) {
            match read_frame(&bytes) {
                ClientFrame::Talk(text) => prop_assert!(!text.trim().is_empty()),
                ClientFrame::Audio { mono, sample_rate } => {
                    prop_assert!((MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate));
                    let Ok(Frame { frame: Some(FrameKind::Audio(audio)) }) = Frame::decode(&bytes[..]) else {
                        return Err(TestCaseError::fail("audio from a frame that is not audio"));
                    };
                    let channels = audio.num_channels.max(1) as usize;
                    prop_assert_eq!(mono.len() * channels * 2, audio.audio.len());
                }
                ClientFrame::Unusable(reason) => {
                    prop_assert!(reason.contains("sample_rate") || reason.contains("num_channels"), "{}", reason);
                }
                ClientFrame::GarbledAudio | ClientFrame::Ignored => {}
            }
        }
    }

    #[test]
    fn the_sdks_frames_read_as_sent() {
        assert_eq!(
            read_frame(&Frame::text("hello").encode_to_vec()),
            ClientFrame::Talk("hello".into())
        );
        assert_eq!(
            read_frame(&Frame::audio(&[1, 2, 3, 4], 16_000, 2).encode_to_vec()),
            ClientFrame::Audio {
                mono: vec![1, 3],
                sample_rate: 16_000
            }
        );
        assert!(matches!(
            read_frame(&Frame::audio(&[1], 96_000, 1).encode_to_vec()),
            ClientFrame::Unusable(_)
        ));
        assert_eq!(
            read_frame(&Frame::audio(&[1, 2, 3], 16_000, 2).encode_to_vec()),
            ClientFrame::GarbledAudio
        );
        assert_eq!(read_frame(b"\xff\xff\xff"), ClientFrame::Ignored);
    }
}
