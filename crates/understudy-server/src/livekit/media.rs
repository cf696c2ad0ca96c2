//! The avatar's encoded media, made once and shared by every session: per quality and codec
//! (H264 through openh264, VP8 through libvpx), an idle and a talking loop, each starting on a
//! key frame so a stream can switch loops on any frame; and Opus packets for silence and for a
//! speech-like talking loop.
//!
//! Encoding happens on first use of a quality (on a blocking thread), then every viewer only
//! packetises the shared frames: no per-session encoder.

use super::picture;
use bytes::Bytes;
use openh264::OpenH264API;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, RateControlMode,
};
use openh264::formats::{RgbSliceU8, YUVBuffer};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use understudy_proto::rest::session::{Quality, VideoEncoding};

/// Video frames a second.
pub const FPS: usize = 25;
/// Frames in each loop: one second.
pub const LOOP_FRAMES: usize = FPS;
/// Opus frames are 20 ms at 48 kHz stereo.
pub const AUDIO_FRAME_SAMPLES: usize = 960;
const SAMPLE_RATE: usize = 48_000;
/// Packets in the talking audio loop: one second.
const AUDIO_LOOP_PACKETS: usize = 50;

#[derive(Debug, thiserror::Error)]
#[error("media: {0}")]
pub struct MediaError(String);

/// Size and bitrate per quality, as HeyGen's docs give them.
pub fn dimensions(quality: Quality) -> (usize, usize, u32) {
    match quality {
        Quality::High => (1280, 720, 2_000_000),
        Quality::Medium => (854, 480, 1_000_000),
        Quality::Low => (640, 360, 500_000),
    }
}

/// The two video loops of one quality. Frame 0 of each is an IDR with SPS and PPS.
#[derive(Debug)]
pub struct VideoLoops {
    pub idle: Vec<Bytes>,
    pub talking: Vec<Bytes>,
}

/// Silence and the talking loop, as Opus packets.
#[derive(Debug)]
pub struct AudioLoops {
    pub silence: Bytes,
    pub talking: Vec<Bytes>,
}

/// One quality's loops, or why they could not be encoded, filled once.
type VideoSlot = OnceLock<Result<Arc<VideoLoops>, String>>;

/// The cache of encoded media. Encoding is deterministic, so one library serves every server
/// in the process ([`MediaLibrary::shared`]).
#[derive(Debug, Default)]
pub struct MediaLibrary {
    video: Mutex<HashMap<(Quality, VideoEncoding), Arc<VideoSlot>>>,
    audio: OnceLock<Result<Arc<AudioLoops>, String>>,
}

static SHARED: OnceLock<MediaLibrary> = OnceLock::new();
static PREWARMED: std::sync::Once = std::sync::Once::new();

impl MediaLibrary {
    /// The process-wide library.
    pub fn shared() -> &'static MediaLibrary {
        SHARED.get_or_init(MediaLibrary::default)
    }

    /// Starts encoding every quality and the audio in the background, once per process, so
    /// the first viewer does not wait for it.
    pub fn prewarm() {
        PREWARMED.call_once(|| {
            tokio::spawn(async {
                let library = MediaLibrary::shared();
                if let Err(e) = library.audio() {
                    tracing::error!(%e, "could not encode the avatar's audio");
                }
                for codec in [VideoEncoding::H264, VideoEncoding::VP8] {
                    for quality in [Quality::Low, Quality::Medium, Quality::High] {
                        if let Err(e) = library.video(quality, codec).await {
                            tracing::error!(%e, ?quality, ?codec, "could not encode the avatar's video");
                        }
                    }
                }
            });
        });
    }

    /// The loops for `quality` in `codec`, encoding them on a blocking thread the first time.
    ///
    /// # Errors
    /// When the encoder cannot be created or refuses a frame.
    pub async fn video(
        &self,
        quality: Quality,
        codec: VideoEncoding,
    ) -> Result<Arc<VideoLoops>, MediaError> {
        let cell = Arc::clone(
            self.video
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry((quality, codec))
                .or_default(),
        );
        let made = tokio::task::spawn_blocking(move || {
            cell.get_or_init(|| encode_video(quality, codec).map(Arc::new).map_err(|e| e.0))
                .clone()
        })
        .await
        .map_err(|e| MediaError(e.to_string()))?;
        made.map_err(MediaError)
    }

    /// The audio loops, encoded the first time.
    ///
    /// # Errors
    /// When the Opus encoder refuses its configuration.
    pub fn audio(&self) -> Result<Arc<AudioLoops>, MediaError> {
        self.audio
            .get_or_init(|| encode_audio().map(Arc::new).map_err(|e| e.0))
            .clone()
            .map_err(MediaError)
    }
}

fn encode_video(quality: Quality, codec: VideoEncoding) -> Result<VideoLoops, MediaError> {
    match codec {
        VideoEncoding::H264 => encode_h264(quality),
        VideoEncoding::VP8 => encode_vp8(quality),
    }
}

fn encode_h264(quality: Quality) -> Result<VideoLoops, MediaError> {
    let (width, height, bps) = dimensions(quality);
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(bps))
        .max_frame_rate(FrameRate::from_hz(FPS as f32))
        .rate_control_mode(RateControlMode::Bitrate)
        .skip_frames(false)
        .intra_frame_period(IntraFramePeriod::from_num_frames(LOOP_FRAMES as u32));
    let mut encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
        .map_err(|e| MediaError(e.to_string()))?;
    let mut encode_loop = |talking: bool| -> Result<Vec<Bytes>, MediaError> {
        encoder.force_intra_frame();
        (0..LOOP_FRAMES)
            .map(|i| {
                let picture = picture::draw(width, height, talking, i);
                let yuv =
                    YUVBuffer::from_rgb_source(RgbSliceU8::new(&picture.rgb, (width, height)));
                let stream = encoder
                    .encode(&yuv)
                    .map_err(|e| MediaError(e.to_string()))?;
                Ok(Bytes::from(stream.to_vec()))
            })
            .collect()
    };
    let idle = encode_loop(false)?;
    let talking = encode_loop(true)?;
    Ok(VideoLoops { idle, talking })
}

/// One loop through libvpx. A fresh encoder per loop makes frame 0 a key frame.
fn encode_vp8(quality: Quality) -> Result<VideoLoops, MediaError> {
    let (width, height, bps) = dimensions(quality);
    let encode_loop = |talking: bool| -> Result<Vec<Bytes>, MediaError> {
        let mut encoder = vpx_encode::Encoder::new(vpx_encode::Config {
            width: width as u32,
            height: height as u32,
            timebase: [1, FPS as i32],
            bitrate: bps / 1000,
            codec: vpx_encode::VideoCodecId::VP8,
        })
        .map_err(|e| MediaError(e.to_string()))?;
        let mut frames = Vec::with_capacity(LOOP_FRAMES);
        for i in 0..LOOP_FRAMES {
            let picture = picture::draw(width, height, talking, i);
            let i420 = i420(&YUVBuffer::from_rgb_source(RgbSliceU8::new(
                &picture.rgb,
                (width, height),
            )));
            let packets = encoder
                .encode(i as i64, &i420)
                .map_err(|e| MediaError(e.to_string()))?;
            let mut frame = Vec::new();
            for packet in packets {
                frame.extend_from_slice(packet.data);
            }
            if frame.is_empty() {
                return Err(MediaError(format!(
                    "libvpx produced no frame for frame {i}"
                )));
            }
            frames.push(Bytes::from(frame));
        }
        Ok(frames)
    };
    Ok(VideoLoops {
        idle: encode_loop(false)?,
        talking: encode_loop(true)?,
    })
}

/// The planes of a YUV buffer laid out as one contiguous I420 image.
fn i420(yuv: &YUVBuffer) -> Vec<u8> {
    use openh264::formats::YUVSource;
    let (width, height) = yuv.dimensions();
    let (y_stride, u_stride, v_stride) = yuv.strides();
    let mut out = Vec::with_capacity(width * height * 3 / 2);
    for row in 0..height {
        out.extend_from_slice(&yuv.y()[row * y_stride..row * y_stride + width]);
    }
    for (plane, stride) in [(yuv.u(), u_stride), (yuv.v(), v_stride)] {
        for row in 0..height / 2 {
            out.extend_from_slice(&plane[row * stride..row * stride + width / 2]);
        }
    }
    out
}

/// A voice-like signal: a 140 Hz buzz with decaying harmonics, shaped into syllables (about
/// four a second) whose vowel colour drifts. Loud enough to hear, never clipping.
fn talking_samples(frame: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(AUDIO_FRAME_SAMPLES * 2);
    for n in 0..AUDIO_FRAME_SAMPLES {
        let t = (frame * AUDIO_FRAME_SAMPLES + n) as f32 / SAMPLE_RATE as f32;
        let syllable = (0.5 - 0.5 * (t * 4.0 * std::f32::consts::TAU).cos()).powf(1.5);
        let vowel = 2.0 + (t * 1.3 * std::f32::consts::TAU).sin();
        let voice: f32 = (1..=8)
            .map(|h| {
                let formant = 1.0 / (1.0 + ((h as f32 - vowel * 2.0).powi(2)) * 0.3);
                (t * 140.0 * h as f32 * std::f32::consts::TAU).sin() * formant / h as f32
            })
            .sum();
        let sample = 0.3 * syllable * voice;
        out.push(sample);
        out.push(sample);
    }
    out
}

fn encode_audio() -> Result<AudioLoops, MediaError> {
    let mut encoder = opus_rs::OpusEncoder::new(SAMPLE_RATE as i32, 2, opus_rs::Application::Voip)
        .map_err(|e| MediaError(e.to_owned()))?;
    encoder.bitrate_bps = 48_000;
    let mut buffer = vec![0u8; 4000];
    let mut encode = |pcm: &[f32]| -> Result<Bytes, MediaError> {
        let n = encoder
            .encode(pcm, AUDIO_FRAME_SAMPLES, &mut buffer)
            .map_err(|e| MediaError(e.to_owned()))?;
        Ok(Bytes::copy_from_slice(&buffer[..n]))
    };
    let talking = (0..AUDIO_LOOP_PACKETS)
        .map(|i| encode(&talking_samples(i)))
        .collect::<Result<_, _>>()?;
    let silence = encode(&vec![0.0; AUDIO_FRAME_SAMPLES * 2])?;
    Ok(AudioLoops { silence, talking })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nal_types(access_unit: &[u8]) -> Vec<u8> {
        access_unit
            .windows(4)
            .filter(|w| w[..3] == [0, 0, 1])
            .map(|w| w[3] & 0x1f)
            .collect()
    }

    #[test]
    fn each_vp8_loop_starts_on_a_key_frame() {
        let loops = encode_video(Quality::Low, VideoEncoding::VP8).unwrap();
        // VP8 frame tag: bit 0 of the first byte is 0 for a key frame (RFC 6386 9.1).
        let is_key = |frame: &Bytes| frame[0] & 1 == 0;
        for frames in [&loops.idle, &loops.talking] {
            assert_eq!(frames.len(), LOOP_FRAMES);
            assert!(is_key(&frames[0]));
            assert!(
                frames[1..].iter().all(|f| !is_key(f)),
                "one key frame per loop"
            );
        }
    }

    #[test]
    fn each_loop_starts_on_an_idr_with_parameter_sets() {
        let loops = encode_video(Quality::Low, VideoEncoding::H264).unwrap();
        for frames in [&loops.idle, &loops.talking] {
            assert_eq!(frames.len(), LOOP_FRAMES);
            let first = nal_types(&frames[0]);
            assert!(
                first.contains(&7) && first.contains(&8) && first.contains(&5),
                "{first:?}"
            );
            assert!(
                frames[1..].iter().all(|f| !nal_types(f).contains(&5)),
                "one IDR per loop"
            );
        }
    }

    #[test]
    fn encoded_frames_decode_back_to_the_drawn_state() {
        let loops = encode_video(Quality::Low, VideoEncoding::H264).unwrap();
        let mut decoder = openh264::decoder::Decoder::new().unwrap();
        for (talking, frames) in [(false, &loops.idle), (true, &loops.talking)] {
            for (i, frame) in frames.iter().enumerate() {
                let yuv = decoder.decode(frame).unwrap().expect("a picture");
                let mut rgb = vec![0; 640 * 360 * 3];
                yuv.write_rgb8(&mut rgb);
                let picture = picture::Picture {
                    width: 640,
                    height: 360,
                    rgb,
                };
                let marker = picture::read_marker(&picture).expect("a marker");
                assert_eq!(marker.talking, talking, "frame {i}");
                assert_eq!(usize::from(marker.counter), i, "frame {i}");
            }
        }
    }

    #[test]
    fn talking_audio_is_louder_than_silence() {
        let audio = encode_audio().unwrap();
        assert_eq!(audio.talking.len(), AUDIO_LOOP_PACKETS);
        let mut decoder = opus_rs::OpusDecoder::new(48_000, 2).unwrap();
        let mut pcm = vec![0f32; AUDIO_FRAME_SAMPLES * 2];
        let energy = |decoder: &mut opus_rs::OpusDecoder, packet: &[u8], pcm: &mut Vec<f32>| {
            let n = decoder.decode(packet, AUDIO_FRAME_SAMPLES, pcm).unwrap();
            pcm[..n * 2].iter().map(|s| s * s).sum::<f32>() / (n * 2) as f32
        };
        let silent = energy(&mut decoder, &audio.silence, &mut pcm);
        let loud = (0..AUDIO_LOOP_PACKETS)
            .map(|i| energy(&mut decoder, &audio.talking[i], &mut pcm))
            .fold(0.0, f32::max);
        assert!(silent < 1e-6, "{silent}");
        assert!(loud > 1e-3, "{loud}");
    }
}
