//! The encoders: H264 through OpenH264, VP8 through libvpx, Opus through opus-rs. Each loop
//! is encoded from the drawn synthetic face, deterministically, so a cached copy is as good as
//! a fresh one.

use super::{
    AUDIO_FRAME_SAMPLES, AUDIO_LOOP_PACKETS, AudioLoops, FPS, LOOP_FRAMES, MediaError, SAMPLE_RATE,
    VideoLoops, dimensions,
};
use crate::livekit::picture;
use bytes::Bytes;
use openh264::OpenH264API;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, RateControlMode,
};
use openh264::formats::{RgbSliceU8, YUVBuffer};
use understudy_proto::rest::session::{Quality, VideoEncoding};

/// What the encoders are set to, beyond quality and codec: part of the disk cache's key, so
/// change it whenever an encoder setting changes.
pub const ENCODER_SETTINGS: &str =
    "h264: openh264 bufferbased rc, no skip, idr per loop; vp8: libvpx fresh encoder per loop";

pub fn encode_video(quality: Quality, codec: VideoEncoding) -> Result<VideoLoops, MediaError> {
    match codec {
        VideoEncoding::H264 => encode_h264(quality),
        VideoEncoding::VP8 => encode_vp8(quality),
    }
}

fn encode_h264(quality: Quality) -> Result<VideoLoops, MediaError> {
    let (width, height, bps) = dimensions(quality);
    // Buffer-based rate control, no frame skipping: every frame of a loop must exist. (In
    // bitrate mode without skipping, OpenH264 prints a warning on stderr at every start; the
    // synthetic face stays far below `bps` in either mode.)
    let config = EncoderConfig::new()
        .bitrate(BitRate::from_bps(bps))
        .max_frame_rate(FrameRate::from_hz(FPS as f32))
        .rate_control_mode(RateControlMode::Bufferbased)
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

pub fn encode_audio() -> Result<AudioLoops, MediaError> {
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
