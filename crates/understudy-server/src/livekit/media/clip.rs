//! A client's speech as the room's audio: PCM16 mono at 24 kHz (what the realtime endpoint
//! takes) up to the 48 kHz stereo Opus the avatar's track carries, 20 ms a packet. One encoder
//! per utterance, fed as the client's chunks arrive; a chunk's tail that does not fill a packet
//! waits for the next chunk (or for [`ClipEncoder::finish`]).

use super::{AUDIO_FRAME_SAMPLES, MediaError, SAMPLE_RATE};
use bytes::Bytes;
use std::time::Duration;

/// The sample rate of the audio clients send (PCM16, mono).
pub const CLIENT_SAMPLE_RATE: usize = 24_000;
/// What one packet holds.
pub const PACKET_DURATION: Duration =
    Duration::from_millis((AUDIO_FRAME_SAMPLES * 1000 / SAMPLE_RATE) as u64);

/// Turns PCM chunks into Opus packets.
pub struct ClipEncoder {
    encoder: opus_rs::OpusEncoder,
    /// 48 kHz mono samples not yet in a packet.
    pending: Vec<f32>,
    /// The last input sample, for interpolating across chunk boundaries.
    last: f32,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for ClipEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClipEncoder")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl ClipEncoder {
    /// # Errors
    /// When the Opus encoder refuses its configuration.
    pub fn new() -> Result<Self, MediaError> {
        let mut encoder =
            opus_rs::OpusEncoder::new(SAMPLE_RATE as i32, 2, opus_rs::Application::Voip)
                .map_err(|e| MediaError(e.to_owned()))?;
        encoder.bitrate_bps = 48_000;
        Ok(Self {
            encoder,
            pending: Vec::with_capacity(AUDIO_FRAME_SAMPLES * 2),
            last: 0.0,
            buffer: vec![0u8; 4000],
        })
    }

    /// Encodes every whole packet `pcm` completes.
    ///
    /// # Errors
    /// When the encoder refuses a frame.
    pub fn push(&mut self, pcm: &[i16]) -> Result<Vec<Bytes>, MediaError> {
        for &sample in pcm {
            let x = f32::from(sample) / 32768.0;
            // 24 kHz to 48 kHz: the midpoint, then the sample.
            self.pending.push((self.last + x) / 2.0);
            self.pending.push(x);
            self.last = x;
        }
        let whole = self.pending.len() / AUDIO_FRAME_SAMPLES * AUDIO_FRAME_SAMPLES;
        let samples: Vec<f32> = self.pending.drain(..whole).collect();
        samples
            .chunks(AUDIO_FRAME_SAMPLES)
            .map(|frame| self.encode(frame))
            .collect()
    }

    /// The last partial packet, padded with silence, if any is left.
    ///
    /// # Errors
    /// When the encoder refuses the frame.
    pub fn finish(&mut self) -> Result<Option<Bytes>, MediaError> {
        if self.pending.is_empty() {
            return Ok(None);
        }
        let mut frame = std::mem::take(&mut self.pending);
        frame.resize(AUDIO_FRAME_SAMPLES, 0.0);
        self.last = 0.0;
        self.encode(&frame).map(Some)
    }

    fn encode(&mut self, mono: &[f32]) -> Result<Bytes, MediaError> {
        let stereo: Vec<f32> = mono.iter().flat_map(|&s| [s, s]).collect();
        let n = self
            .encoder
            .encode(&stereo, AUDIO_FRAME_SAMPLES, &mut self.buffer)
            .map_err(|e| MediaError(e.to_owned()))?;
        Ok(Bytes::copy_from_slice(&self.buffer[..n]))
    }
}

/// How long `packets` packets play.
pub fn packets_duration(packets: usize) -> Duration {
    PACKET_DURATION * packets as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(ms: usize, amplitude: f32) -> Vec<i16> {
        (0..CLIENT_SAMPLE_RATE * ms / 1000)
            .map(|i| {
                let t = i as f32 / CLIENT_SAMPLE_RATE as f32;
                ((t * 440.0 * std::f32::consts::TAU).sin() * amplitude * 32767.0) as i16
            })
            .collect()
    }

    fn energy(packets: &[Bytes]) -> f32 {
        let mut decoder = opus_rs::OpusDecoder::new(48_000, 2).unwrap();
        let mut pcm = vec![0f32; AUDIO_FRAME_SAMPLES * 2];
        let mut sum = 0.0;
        for packet in packets {
            let n = decoder
                .decode(packet, AUDIO_FRAME_SAMPLES, &mut pcm)
                .unwrap();
            sum += pcm[..n * 2].iter().map(|s| s * s).sum::<f32>();
        }
        sum
    }

    #[test]
    fn chunks_become_whole_packets_and_the_tail_waits_for_the_next() {
        let mut encoder = ClipEncoder::new().unwrap();
        // 30 ms: one packet now, 10 ms held.
        assert_eq!(encoder.push(&tone(30, 0.5)).unwrap().len(), 1);
        // 10 more: the held 10 ms and these make the second.
        assert_eq!(encoder.push(&tone(10, 0.5)).unwrap().len(), 1);
        assert_eq!(encoder.finish().unwrap(), None);
        assert_eq!(encoder.push(&tone(5, 0.5)).unwrap().len(), 0);
        assert!(encoder.finish().unwrap().is_some());
        assert_eq!(packets_duration(50), Duration::from_secs(1));
    }

    #[test]
    fn what_is_sent_is_what_is_heard() {
        let mut loud = ClipEncoder::new().unwrap();
        let mut quiet = ClipEncoder::new().unwrap();
        let loud = loud.push(&tone(400, 0.5)).unwrap();
        let quiet = quiet.push(&tone(400, 0.0)).unwrap();
        assert_eq!(loud.len(), 20);
        assert!(energy(&loud) > 100.0 * (energy(&quiet) + 1e-3));
    }
}
