//! One microphone's ear: PCM from either transport (pipecat audio frames on the chat socket, or
//! the decoded Opus of a published LiveKit track) goes through the detector, and its decisions
//! become the session's user turns.
//!
//! Floods are held to real time by a budget of audio: it refills with the wall clock up to
//! `ServerConfig::max_audio_ahead` (2 s by default), every frame spends its own length, and a
//! frame the budget cannot pay for is dropped. So a client sending faster than it records
//! cannot make turns faster than a person speaks.

use super::turns::{self, TurnRefused};
use super::vad::{EnergyVad, VadEvent};
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
    vad: EnergyVad,
    muted: bool,
    budget: Duration,
    max_budget: Duration,
    refilled_at: Instant,
}

impl Listener {
    pub fn new(state: AppState, session_id: String) -> Self {
        let vad = EnergyVad::new(state.config().vad);
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
        if self.muted || self.push_to_talk() {
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

    /// Hears `gap` of silence: the source sent nothing for that long (it stopped, or its codec
    /// skips silence), which must still end a turn after the hangover.
    pub fn fill_gap(&mut self, gap: Duration) {
        const RATE: u32 = 16_000;
        let zeros = vec![0i16; (gap.as_secs_f64() * f64::from(RATE)) as usize];
        for event in self.vad.push(&zeros, RATE) {
            let _ = self.apply(event);
        }
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

    fn push_to_talk(&self) -> bool {
        self.state
            .registry()
            .session(&self.session_id)
            .is_some_and(|s| s.voice.push_to_talk)
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
    if bytes.len() % 2 != 0 {
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
