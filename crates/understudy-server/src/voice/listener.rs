//! One microphone's ear: PCM from either transport (pipecat audio frames on the chat socket, or
//! the decoded Opus of a published LiveKit track) goes through the detector, and its decisions
//! become the session's user turns.
//!
//! Floods are held to real time by a budget of audio: it refills with the wall clock up to
//! `ServerConfig::max_audio_ahead` (2 s by default), every frame spends its own length, and a
//! frame the budget cannot pay for is dropped. So a client sending faster than it records
//! cannot make turns faster than a person speaks.

use super::turns::{self, TurnRefused};
use super::vad::{VadEvent, VoiceDetector};
use crate::state::AppState;
use std::time::Duration;
use tokio::time::Instant;

/// The highest sample rate accepted (and the lowest, [`MIN_SAMPLE_RATE`]): what browsers and
/// Opus produce.
pub const MAX_SAMPLE_RATE: u32 = 48_000;
pub const MIN_SAMPLE_RATE: u32 = 8_000;

/// What one frame of audio did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// Fed to the detector.
    Accepted,
    /// Dropped: over the real-time budget, muted, or push-to-talk decides turns.
    Dropped,
    /// The session is gone or not connected.
    SessionGone,
}

#[derive(Debug)]
pub struct Listener {
    state: AppState,
    session_id: String,
    vad: VoiceDetector,
    muted: bool,
    budget: Duration,
    max_budget: Duration,
    refilled_at: Instant,
}

impl Listener {
    pub fn new(state: AppState, session_id: String) -> Self {
        let vad = VoiceDetector::new(state.config().vad);
        let max_budget = state.config().max_audio_ahead;
        Self {
            state,
            session_id,
            vad,
            muted: false,
            budget: max_budget,
            max_budget,
            refilled_at: Instant::now(),
        }
    }

    /// Hears one frame of mono samples at `sample_rate` Hz (already checked to lie within
    /// [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`]).
    pub fn hear(&mut self, samples: &[i16], sample_rate: u32) -> Heard {
        let now = Instant::now();
        self.budget = (self.budget + (now - self.refilled_at)).min(self.max_budget);
        self.refilled_at = now;
        let length = Duration::from_secs_f64(samples.len() as f64 / f64::from(sample_rate.max(1)));
        if length > self.budget {
            return Heard::Dropped;
        }
        self.budget -= length;
        if self.muted || !self.count_heard(length) {
            return Heard::Dropped;
        }
        for event in self.vad.push(samples, sample_rate) {
            if self.apply(event).is_err() {
                return Heard::SessionGone;
            }
        }
        Heard::Accepted
    }

    /// Whether a turn is open.
    pub fn is_speaking(&self) -> bool {
        self.vad.is_speaking()
    }

    /// Counts `gap` of the sender's time that carried no audio (its RTP timestamps jumped, as
    /// Opus DTX does in silence) as time without speech. Measured on the sender's clock, so a
    /// late burst of packets cannot add silence the user never made.
    pub fn skip(&mut self, gap: Duration) {
        for event in self.vad.skip(gap) {
            let _ = self.apply(event);
        }
    }

    /// The source has sent nothing for `quiet` of wall time (it stopped sending, as
    /// `closeVoiceChat` does): past the hangover, a turn in progress ends. A shorter wait is
    /// only a late packet and changes nothing.
    pub fn quiet_for(&mut self, quiet: Duration) {
        if quiet >= self.vad.hangover() {
            self.close();
        }
    }

    /// How long the source may send nothing before a turn in progress ends.
    pub fn hangover(&self) -> Duration {
        self.vad.hangover()
    }

    /// Mutes or unmutes the source; muting ends a turn in progress.
    pub fn set_muted(&mut self, muted: bool) {
        self.muted = muted;
        if muted {
            self.close();
        }
    }

    /// The source is gone: a turn in progress ends here.
    pub fn close(&mut self) {
        if let Some(event) = self.vad.finish() {
            let _ = self.apply(event);
        }
    }

    /// Adds `length` to what the session's detector has heard, unless push-to-talk decides
    /// its turns (then false: the frame is not for the detector). One lock for both.
    fn count_heard(&self, length: Duration) -> bool {
        let mut registry = self.state.registry();
        let Some(session) = registry.session_mut(&self.session_id) else {
            return true;
        };
        if session.voice.push_to_talk {
            return false;
        }
        session.voice.audio_heard += length;
        true
    }

    fn apply(&self, event: VadEvent) -> Result<(), TurnRefused> {
        match event {
            VadEvent::SpeechStarted => turns::start_turn(&self.state, &self.session_id).map(drop),
            VadEvent::SpeechEnded { speech } => {
                turns::finish_turn(&self.state, &self.session_id, Some(speech), None).map(drop)
            }
        }
    }
}

/// Converts s16le bytes to samples; `None` for an odd length.
pub fn samples_from_le_bytes(bytes: &[u8]) -> Option<Vec<i16>> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(2)
            .map(|pair| i16::from_le_bytes([pair[0], pair[1]]))
            .collect(),
    )
}

/// Mixes interleaved channels down to mono.
pub fn downmix(samples: &[i16], channels: usize) -> Vec<i16> {
    if channels <= 1 {
        return samples.to_vec();
    }
    samples
        .chunks_exact(channels)
        .map(|frame| {
            let sum: i32 = frame.iter().map(|&s| i32::from(s)).sum();
            (sum / channels as i32) as i16
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_byte_counts_are_refused() {
        assert_eq!(samples_from_le_bytes(&[1, 0, 2]), None);
        assert_eq!(
            samples_from_le_bytes(&[1, 0, 0xff, 0xff]),
            Some(vec![1, -1])
        );
    }

    #[test]
    fn downmix_averages_channels() {
        assert_eq!(downmix(&[100, 300, -2, -4], 2), vec![200, -3]);
        assert_eq!(downmix(&[5, 6], 1), vec![5, 6]);
    }
}
