//! Decoding, for consumers that want pixels and samples rather than encoded frames: H264 to RGB
//! through OpenH264 (cargo feature `h264`, on by default) and Opus to 16-bit PCM through
//! opus-rs (always: voice chat needs the codec anyway). A decoded frame reads back the
//! synthetic avatar's marker (`understudy_proto::marker`).

use super::frames::AudioPacket;
#[cfg(feature = "h264")]
use super::frames::{VideoCodec, VideoFrame};
use understudy_proto::marker::{self, Marker, RgbView};

/// A decoded picture: 3 bytes a pixel, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbFrame {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

impl RgbFrame {
    /// The synthetic avatar's marker (talking or idle, frame counter), when the frame has one.
    pub fn marker(&self) -> Option<Marker> {
        marker::read(RgbView {
            width: self.width,
            height: self.height,
            rgb: &self.rgb,
        })
    }
}

/// A decoding failure: the frame was damaged, or is in a codec this build cannot decode.
#[derive(Debug, thiserror::Error)]
#[error("decode: {0}")]
pub struct DecodeError(String);

/// Decodes one video track's frames, in order (decoders keep state between frames).
#[cfg(feature = "h264")]
pub struct VideoDecoder {
    h264: openh264::decoder::Decoder,
    /// Until the first key frame, and after missed frames: skip to the next key frame.
    waiting_for_keyframe: bool,
}

#[cfg(feature = "h264")]
impl std::fmt::Debug for VideoDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoDecoder").finish_non_exhaustive()
    }
}

#[cfg(feature = "h264")]
impl VideoDecoder {
    /// # Errors
    /// When OpenH264 cannot be initialised.
    pub fn new() -> Result<Self, DecodeError> {
        let h264 = openh264::decoder::Decoder::new().map_err(|e| DecodeError(e.to_string()))?;
        // A stream joined mid-way starts on a frame that needs the ones before it.
        Ok(Self {
            h264,
            waiting_for_keyframe: true,
        })
    }

    /// Frames were missed (the stream lagged): decode nothing until the next key frame.
    pub fn gap(&mut self) {
        self.waiting_for_keyframe = true;
    }

    /// Decodes a frame; `Ok(None)` when the decoder needs more before it can show a picture,
    /// or is skipping to a key frame after a [`VideoDecoder::gap`] or a damaged frame.
    ///
    /// # Errors
    /// A damaged frame (then it skips to the next key frame), or a VP8 frame (this build
    /// decodes H264 only).
    pub fn decode(&mut self, frame: &VideoFrame) -> Result<Option<RgbFrame>, DecodeError> {
        if frame.codec != VideoCodec::H264 {
            return Err(DecodeError(format!(
                "{:?} decoding is not built into this SDK; VP8 frames are delivered encoded",
                frame.codec
            )));
        }
        if self.waiting_for_keyframe && !frame.keyframe {
            return Ok(None);
        }
        self.waiting_for_keyframe = false;
        let decoded = match self.h264.decode(&frame.data) {
            Ok(decoded) => decoded,
            Err(e) => {
                self.waiting_for_keyframe = true;
                return Err(DecodeError(e.to_string()));
            }
        };
        let Some(yuv) = decoded else {
            return Ok(None);
        };
        use openh264::formats::YUVSource as _;
        let (width, height) = yuv.dimensions();
        let mut rgb = vec![0; width * height * 3];
        yuv.write_rgb8(&mut rgb);
        Ok(Some(RgbFrame { width, height, rgb }))
    }
}

/// Decodes the avatar's Opus audio to 48 kHz interleaved stereo PCM.
pub struct AudioDecoder {
    opus: opus_rs::OpusDecoder,
    scratch: Vec<f32>,
}

impl std::fmt::Debug for AudioDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioDecoder").finish_non_exhaustive()
    }
}

/// The decoded audio's rate and channels.
pub const AUDIO_SAMPLE_RATE: u32 = 48_000;
pub const AUDIO_CHANNELS: usize = 2;
/// The longest Opus packet: 120 ms.
const MAX_PACKET_SAMPLES: usize = 5760;

impl AudioDecoder {
    /// # Errors
    /// When the Opus decoder cannot be made.
    pub fn new() -> Result<Self, DecodeError> {
        let opus = opus_rs::OpusDecoder::new(AUDIO_SAMPLE_RATE as i32, AUDIO_CHANNELS)
            .map_err(|e| DecodeError(e.to_string()))?;
        Ok(Self {
            opus,
            scratch: vec![0.0; MAX_PACKET_SAMPLES * AUDIO_CHANNELS],
        })
    }

    /// Decodes one packet to interleaved stereo samples.
    ///
    /// # Errors
    /// A packet that is not Opus.
    pub fn decode(&mut self, packet: &AudioPacket) -> Result<Vec<i16>, DecodeError> {
        let frames = self
            .opus
            .decode(&packet.data, MAX_PACKET_SAMPLES, &mut self.scratch)
            .map_err(|e| DecodeError(e.to_string()))?;
        Ok(self.scratch[..frames * AUDIO_CHANNELS]
            .iter()
            .map(|s| (s.clamp(-1.0, 1.0) * 32767.0) as i16)
            .collect())
    }
}

/// Root-mean-square level of PCM samples in dBFS (−inf for digital silence): what tells the
/// avatar's speech from its silence on a target that draws no marker.
pub fn level_dbfs(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return f64::NEG_INFINITY;
    }
    let sum: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (sum / samples.len() as f64).sqrt() / 32768.0;
    20.0 * rms.log10()
}
