//! The `pipecat.Frame` protobuf that clients send as binary messages on the chat WebSocket
//! (§8.2). Declared with prost derives so no `protoc` is needed.

/// `message TextFrame { uint64 id = 1; string name = 2; string text = 3; }`
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct TextFrame {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(string, tag = "3")]
    pub text: String,
}

/// 16 kHz, s16le, mono from the SDK: 512 samples (1024 bytes) per frame.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct AudioRawFrame {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(bytes = "vec", tag = "3")]
    pub audio: Vec<u8>,
    #[prost(uint32, tag = "4")]
    pub sample_rate: u32,
    #[prost(uint32, tag = "5")]
    pub num_channels: u32,
}

/// Declared by the schema, never sent by the SDK.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct TranscriptionFrame {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(string, tag = "3")]
    pub text: String,
    #[prost(string, tag = "4")]
    pub user_id: String,
    #[prost(string, tag = "5")]
    pub timestamp: String,
}

/// `message Frame { oneof frame { TextFrame text = 1; AudioRawFrame audio = 2; TranscriptionFrame transcription = 3; } }`
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Frame {
    #[prost(oneof = "FrameKind", tags = "1, 2, 3")]
    pub frame: Option<FrameKind>,
}

#[derive(Clone, PartialEq, Eq, prost::Oneof)]
pub enum FrameKind {
    #[prost(message, tag = "1")]
    Text(TextFrame),
    #[prost(message, tag = "2")]
    Audio(AudioRawFrame),
    #[prost(message, tag = "3")]
    Transcription(TranscriptionFrame),
}

impl Frame {
    /// A text frame as the SDK sends it for `speak()` in TALK + ASYNC: only `text` is set.
    pub fn text(text: impl Into<String>) -> Self {
        Frame {
            frame: Some(FrameKind::Text(TextFrame {
                text: text.into(),
                ..Default::default()
            })),
        }
    }

    /// An audio frame of signed 16-bit little-endian PCM, as the SDK sends its microphone.
    pub fn audio(samples: &[i16], sample_rate: u32, num_channels: u32) -> Self {
        Frame {
            frame: Some(FrameKind::Audio(AudioRawFrame {
                audio: samples.iter().flat_map(|s| s.to_le_bytes()).collect(),
                sample_rate,
                num_channels,
                ..Default::default()
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn text_frame_encodes_like_protobufjs() {
        // §8.2: protobufjs 7.5.0 writes Frame{text:{text:"hi"}} as 0a 04 1a 02 68 69.
        assert_eq!(
            Frame::text("hi").encode_to_vec(),
            [0x0a, 0x04, 0x1a, 0x02, 0x68, 0x69]
        );
    }

    #[test]
    fn audio_frame_round_trips() {
        let frame = Frame {
            frame: Some(FrameKind::Audio(AudioRawFrame {
                audio: vec![1; 1024],
                sample_rate: 16_000,
                num_channels: 1,
                ..Default::default()
            })),
        };
        let bytes = frame.encode_to_vec();
        assert_eq!(Frame::decode(bytes.as_slice()).unwrap(), frame);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(Frame::decode([0xff, 0xff, 0xff].as_slice()).is_err());
    }
}
