//! Voice chat: the user's audio from any PCM source, sent the way SDK 2.x sends a microphone.
//! Over the chat socket (the default `websocket` transport): pipecat `AudioRawFrame`s of 512
//! samples of 16 kHz mono s16le, every 32 ms, zeros while muted (`heygen-api.md` §8.2). Over
//! LiveKit: an Opus microphone track published into the room, 20 ms packets, and `mute`
//! requests (§8.3).
//!
//! Sources are paced like a microphone: one frame per frame period of wall time, whatever the
//! source's own speed, and silence once a finite source is spent (a microphone does not stop).

use crate::Error;
use prost::Message as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use understudy_proto::pipecat::Frame;

/// The chat socket's audio: what SDK 2.x's ScriptProcessor produces.
pub const SOCKET_SAMPLE_RATE: u32 = 16_000;
pub const SOCKET_FRAME_SAMPLES: usize = 512;
/// The LiveKit microphone: Opus at 48 kHz, 20 ms packets.
pub const OPUS_SAMPLE_RATE: u32 = 48_000;
pub const OPUS_FRAME_SAMPLES: usize = 960;
/// The longest WAV accepted: ten minutes of 48 kHz stereo.
const MAX_WAV_SAMPLES: u32 = 48_000 * 2 * 600;

/// How the user's voice travels, as the official SDK's `VoiceChatTransport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VoiceChatTransport {
    /// pipecat audio frames on the chat socket.
    #[default]
    WebSocket,
    /// A microphone track in the LiveKit room (and text over LiveKit data).
    LiveKit,
}

/// A piece of audio from a [`PcmSender`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcmChunk {
    /// Interleaved 16-bit samples.
    pub samples: Vec<i16>,
    pub sample_rate: u32,
    pub channels: u16,
}

/// Feeds a [`PcmSource::channel`] source.
#[derive(Debug, Clone)]
pub struct PcmSender {
    sender: mpsc::Sender<PcmChunk>,
}

impl PcmSender {
    /// Queues a chunk; waits while the source holds [`PCM_CHANNEL_CAPACITY`] unsent chunks.
    ///
    /// # Errors
    /// When voice chat has ended.
    pub async fn send(&self, chunk: PcmChunk) -> Result<(), Error> {
        self.sender
            .send(chunk)
            .await
            .map_err(|_| Error::Voice("voice chat has ended".into()))
    }
}

/// Chunks a channel source holds before its sender waits.
pub const PCM_CHANNEL_CAPACITY: usize = 64;

/// Where the user's audio comes from.
#[derive(Debug)]
pub struct PcmSource {
    kind: SourceKind,
}

#[derive(Debug)]
enum SourceKind {
    Samples { mono: Vec<i16>, sample_rate: u32 },
    Channel(mpsc::Receiver<PcmChunk>),
}

impl PcmSource {
    /// Mono samples at `sample_rate`, played once, then silence.
    pub fn from_samples(mono: Vec<i16>, sample_rate: u32) -> Self {
        Self {
            kind: SourceKind::Samples { mono, sample_rate },
        }
    }

    /// Silence only: a microphone in a quiet room.
    pub fn silence() -> Self {
        Self::from_samples(Vec::new(), SOCKET_SAMPLE_RATE)
    }

    /// A WAV file (integer or float PCM, any rate, channels mixed down), played once.
    ///
    /// # Errors
    /// [`Error::Voice`] naming the file for anything unreadable.
    pub fn from_wav(path: impl AsRef<Path>) -> Result<Self, Error> {
        let (mono, sample_rate) = read_wav(path)?;
        Ok(Self::from_samples(mono, sample_rate))
    }

    /// A WAV file already in memory (one built into a program, say), played once.
    ///
    /// # Errors
    /// [`Error::Voice`] for anything unreadable.
    pub fn from_wav_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let (mono, sample_rate) = decode_wav(std::io::Cursor::new(bytes))
            .map_err(|e| Error::Voice(format!("WAV: {e}")))?;
        Ok(Self::from_samples(mono, sample_rate))
    }

    /// A source fed by the returned sender, chunk by chunk; silence whenever it has nothing.
    pub fn channel() -> (PcmSender, Self) {
        let (sender, receiver) = mpsc::channel(PCM_CHANNEL_CAPACITY);
        (
            PcmSender { sender },
            Self {
                kind: SourceKind::Channel(receiver),
            },
        )
    }
}

/// A WAV file's audio, mixed down to mono, and its sample rate: for a client that sends its
/// own frames (a test, a benchmark) from a recording.
///
/// # Errors
/// [`Error::Voice`] naming the file for anything unreadable.
pub fn read_wav(path: impl AsRef<Path>) -> Result<(Vec<i16>, u32), Error> {
    let path = path.as_ref();
    let file =
        std::fs::File::open(path).map_err(|e| Error::Voice(format!("{}: {e}", path.display())))?;
    decode_wav(std::io::BufReader::new(file))
        .map_err(|e| Error::Voice(format!("{}: {e}", path.display())))
}

fn decode_wav(source: impl std::io::Read) -> Result<(Vec<i16>, u32), String> {
    let mut reader = hound::WavReader::new(source).map_err(|e| e.to_string())?;
    let spec = reader.spec();
    if spec.channels == 0 || spec.sample_rate == 0 {
        return Err("no channels or no sample rate".into());
    }
    if reader.len() > MAX_WAV_SAMPLES {
        return Err("longer than ten minutes".into());
    }
    let interleaved: Vec<i16> = match spec.sample_format {
        hound::SampleFormat::Int => {
            let shift = i32::from(spec.bits_per_sample).saturating_sub(16);
            reader
                .samples::<i32>()
                .map(|s| {
                    s.map(|v| {
                        if shift >= 0 {
                            (v >> shift) as i16
                        } else {
                            (v << -shift) as i16
                        }
                    })
                })
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?
        }
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .map(|s| s.map(|v| (v.clamp(-1.0, 1.0) * 32767.0) as i16))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?,
    };
    Ok((downmix(&interleaved, spec.channels), spec.sample_rate))
}

/// Averages interleaved channels into one.
pub fn downmix(interleaved: &[i16], channels: u16) -> Vec<i16> {
    let channels = usize::from(channels.max(1));
    interleaved
        .chunks(channels)
        .map(|frame| (frame.iter().map(|&s| i32::from(s)).sum::<i32>() / frame.len() as i32) as i16)
        .collect()
}

/// Linear-interpolation resampling of mono audio: enough for speech detection, which is what
/// the server does with it.
pub fn resample(mono: &[i16], from: u32, to: u32) -> Vec<i16> {
    if from == to || mono.is_empty() || from == 0 || to == 0 {
        return mono.to_vec();
    }
    let out_len = (mono.len() as u64 * u64::from(to) / u64::from(from)) as usize;
    let step = f64::from(from) / f64::from(to);
    (0..out_len)
        .map(|i| {
            let position = i as f64 * step;
            let index = position as usize;
            let fraction = position - index as f64;
            let a = f64::from(mono[index.min(mono.len() - 1)]);
            let b = f64::from(mono[(index + 1).min(mono.len() - 1)]);
            (a + (b - a) * fraction).round() as i16
        })
        .collect()
}

/// Pulls fixed-size frames at one rate out of a source, silence when it has nothing.
#[derive(Debug)]
pub(crate) struct FramePump {
    source: SourceKind,
    rate: u32,
    buffer: std::collections::VecDeque<i16>,
    started: bool,
}

impl FramePump {
    pub(crate) fn new(source: PcmSource, rate: u32) -> Self {
        Self {
            source: source.kind,
            rate,
            buffer: std::collections::VecDeque::new(),
            started: false,
        }
    }

    /// The next `n` samples at the pump's rate.
    pub(crate) fn next_frame(&mut self, n: usize) -> Vec<i16> {
        match &mut self.source {
            SourceKind::Samples { mono, sample_rate } => {
                if !self.started {
                    self.buffer.extend(resample(mono, *sample_rate, self.rate));
                    mono.clear();
                }
            }
            SourceKind::Channel(receiver) => {
                while self.buffer.len() < n {
                    match receiver.try_recv() {
                        Ok(chunk) => {
                            let mono = downmix(&chunk.samples, chunk.channels);
                            self.buffer
                                .extend(resample(&mono, chunk.sample_rate, self.rate));
                        }
                        Err(_) => break,
                    }
                }
            }
        }
        self.started = true;
        let take = n.min(self.buffer.len());
        let mut frame: Vec<i16> = self.buffer.drain(..take).collect();
        frame.resize(n, 0);
        frame
    }
}

/// One chat-socket audio frame, as the SDK encodes it.
pub(crate) fn socket_frame(samples: &[i16]) -> Vec<u8> {
    Frame::audio(samples, SOCKET_SAMPLE_RATE, 1).encode_to_vec()
}

/// 16 kHz mono audio cut into the chat socket's binary frames of
/// [`SOCKET_FRAME_SAMPLES`], the last one short if the audio is: for a client that drives its
/// own socket (a test, a benchmark) and must know which frame it is sending.
pub fn socket_frames(samples: &[i16]) -> Vec<Vec<u8>> {
    samples
        .chunks(SOCKET_FRAME_SAMPLES)
        .map(socket_frame)
        .collect()
}

/// `duration` of digital silence at `sample_rate`: what the SDK sends while muted.
pub fn zeros(duration: Duration, sample_rate: u32) -> Vec<i16> {
    vec![0; (duration.as_secs_f64() * f64::from(sample_rate)).round() as usize]
}

/// `duration` of a loud sine at `frequency` Hz, sampled at `sample_rate`. Not speech: a voice
/// detector (the mock's, and HeyGen's) hears a tone as no one talking; use a recording
/// ([`PcmSource::from_wav`]) for that.
pub fn tone(frequency: f64, duration: Duration, sample_rate: u32) -> Vec<i16> {
    let samples = (duration.as_secs_f64() * f64::from(sample_rate)).round() as usize;
    (0..samples)
        .map(|i| {
            let t = i as f64 / f64::from(sample_rate);
            (8000.0 * (2.0 * std::f64::consts::PI * frequency * t).sin()) as i16
        })
        .collect()
}

/// Encodes 20 ms mono frames to Opus.
pub(crate) struct OpusFrames {
    encoder: opus_rs::OpusEncoder,
    buffer: Vec<u8>,
}

impl std::fmt::Debug for OpusFrames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpusFrames").finish_non_exhaustive()
    }
}

impl OpusFrames {
    pub(crate) fn new() -> Result<Self, Error> {
        let encoder =
            opus_rs::OpusEncoder::new(OPUS_SAMPLE_RATE as i32, 1, opus_rs::Application::Voip)
                .map_err(|e| Error::Voice(format!("Opus encoder: {e}")))?;
        Ok(Self {
            encoder,
            buffer: vec![0; 4000],
        })
    }

    pub(crate) fn encode(&mut self, frame: &[i16]) -> Result<bytes::Bytes, Error> {
        let n = self
            .encoder
            .encode_i16(frame, OPUS_FRAME_SAMPLES, &mut self.buffer)
            .map_err(|e| Error::Voice(format!("Opus: {e}")))?;
        Ok(bytes::Bytes::copy_from_slice(&self.buffer[..n]))
    }
}

/// Shared between the session and its voice task.
#[derive(Debug, Default)]
pub(crate) struct VoiceControl {
    pub muted: AtomicBool,
}

impl VoiceControl {
    pub(crate) fn new(muted: bool) -> Arc<Self> {
        Arc::new(Self {
            muted: AtomicBool::new(muted),
        })
    }

    pub(crate) fn is_muted(&self) -> bool {
        self.muted.load(Ordering::SeqCst)
    }
}

/// The frame period of each transport.
pub(crate) fn frame_period(transport: VoiceChatTransport) -> Duration {
    match transport {
        VoiceChatTransport::WebSocket => Duration::from_millis(32),
        VoiceChatTransport::LiveKit => Duration::from_millis(20),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_finite_source_is_followed_by_silence() {
        let mut pump = FramePump::new(PcmSource::from_samples(vec![1000; 600], 16_000), 16_000);
        let first = pump.next_frame(512);
        assert!(first.iter().all(|&s| s == 1000));
        let second = pump.next_frame(512);
        assert_eq!(second.iter().filter(|&&s| s == 1000).count(), 88);
        assert!(pump.next_frame(512).iter().all(|&s| s == 0));
    }

    #[test]
    fn channel_sources_are_downmixed_and_resampled() {
        let (sender, source) = PcmSource::channel();
        let mut pump = FramePump::new(source, 16_000);
        sender
            .sender
            .try_send(PcmChunk {
                samples: [100i16, 300].repeat(960),
                sample_rate: 48_000,
                channels: 2,
            })
            .unwrap();
        let frame = pump.next_frame(320);
        assert!(frame.iter().all(|&s| s == 200), "{:?}", &frame[..4]);
        assert!(pump.next_frame(320).iter().all(|&s| s == 0));
    }

    #[test]
    fn socket_frames_are_the_sdks() {
        use understudy_proto::pipecat::FrameKind;
        let bytes = socket_frame(&[1, -1]);
        let frame = Frame::decode(&bytes[..]).unwrap();
        let Some(FrameKind::Audio(audio)) = frame.frame else {
            panic!("an audio frame");
        };
        assert_eq!(audio.audio, vec![1, 0, 0xff, 0xff]);
        assert_eq!((audio.sample_rate, audio.num_channels), (16_000, 1));
    }

    #[test]
    fn a_wav_file_round_trips() {
        let path =
            std::env::temp_dir().join(format!("streaming-avatar-{}.wav", std::process::id()));
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 8000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(&path, spec).unwrap();
        for _ in 0..800 {
            writer.write_sample(1000i16).unwrap();
            writer.write_sample(3000i16).unwrap();
        }
        writer.finalize().unwrap();
        let mut pump = FramePump::new(PcmSource::from_wav(&path).unwrap(), 16_000);
        let frame = pump.next_frame(1600);
        let _ = std::fs::remove_file(&path);
        assert!(frame.iter().all(|&s| s == 2000));
        let missing = PcmSource::from_wav("/nonexistent.wav").unwrap_err();
        assert!(missing.to_string().contains("/nonexistent.wav"));
    }

    #[test]
    fn opus_encodes_a_frame() {
        let mut opus = OpusFrames::new().unwrap();
        let packet = opus.encode(&[0; OPUS_FRAME_SAMPLES]).unwrap();
        assert!(!packet.is_empty());
    }

    proptest! {
        #[test]
        fn resampling_keeps_the_length_ratio(len in 0usize..4000, from in 8000u32..48001, to in 8000u32..48001) {
            let out = resample(&vec![0; len], from, to);
            let expected = if from == to || len == 0 { len } else { (len as u64 * u64::from(to) / u64::from(from)) as usize };
            prop_assert_eq!(out.len(), expected);
        }
    }
}
