//! An energy voice-activity detector: decides when the user starts and stops speaking from the
//! loudness of 10 ms blocks of PCM.
//!
//! Time is counted in samples, not read from a clock, so a turn is the same whatever the frame
//! size, the sample rate or how fast frames arrive, and tests can feed hours of audio in
//! milliseconds. The parameters (`VadConfig::default`, also in `docs/fidelity.md`):
//!
//! - a block is *voiced* when its RMS level is at least **-40 dBFS** (a quiet room through a
//!   laptop microphone sits near -60; the SDK's zero samples while muted are -inf);
//! - speech **starts** after **60 ms** of consecutive voiced blocks, so clicks and Chromium's
//!   20 ms fake-device beeps are not words; the turn is dated from its first voiced block;
//! - speech **stops** after **600 ms** of unvoiced blocks (the hangover), so pauses between
//!   words do not split a sentence;
//! - a turn longer than **30 s** is cut there, so a stuck-open microphone still yields turns.

use std::time::Duration;

/// The detector's thresholds; see the module docs for the defaults and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadConfig {
    /// RMS level, in dBFS, at or above which a block is voiced.
    pub threshold_dbfs: f64,
    /// Consecutive voiced audio needed to start a turn.
    pub attack: Duration,
    /// Unvoiced audio that ends a turn.
    pub hangover: Duration,
    /// The longest turn; a longer one ends here and a new one may start.
    pub max_turn: Duration,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            threshold_dbfs: -40.0,
            attack: Duration::from_millis(60),
            hangover: Duration::from_millis(600),
            max_turn: Duration::from_secs(30),
        }
    }
}

/// What the detector heard in a run of samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadEvent {
    /// The user started speaking.
    SpeechStarted,
    /// The user stopped; `speech` runs from the first to the last voiced block.
    SpeechEnded { speech: Duration },
}

/// The analysis block: 10 ms, the usual VAD granularity.
const BLOCK: Duration = Duration::from_millis(10);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// No turn; `voiced` is how long the current run of voiced blocks is.
    Quiet { voiced: Duration },
    /// In a turn that started `elapsed` ago; `silent` is the current unvoiced run.
    Speaking { elapsed: Duration, silent: Duration },
}

/// One audio source's detector. Feed it with [`EnergyVad::push`].
#[derive(Debug, Clone)]
pub struct EnergyVad {
    config: VadConfig,
    /// Mean square at the threshold, on the i16 scale, so blocks compare without a log.
    threshold_power: f64,
    phase: Phase,
    /// The sample rate of the partial block below; a new rate starts a new block.
    rate: u32,
    block_sum: f64,
    block_len: usize,
}

impl EnergyVad {
    pub fn new(config: VadConfig) -> Self {
        let full_scale = f64::from(i16::MAX);
        let threshold_power = (full_scale * 10f64.powf(config.threshold_dbfs / 20.0)).powi(2);
        Self {
            config,
            threshold_power,
            phase: Phase::Quiet {
                voiced: Duration::ZERO,
            },
            rate: 0,
            block_sum: 0.0,
            block_len: 0,
        }
    }

    /// Whether a turn is in progress.
    pub fn is_speaking(&self) -> bool {
        matches!(self.phase, Phase::Speaking { .. })
    }

    /// Feeds mono samples at `sample_rate` Hz and returns what they decided, in order.
    /// A rate of 0 is ignored.
    pub fn push(&mut self, samples: &[i16], sample_rate: u32) -> Vec<VadEvent> {
        let mut events = Vec::new();
        if sample_rate == 0 {
            return events;
        }
        if sample_rate != self.rate {
            self.rate = sample_rate;
            self.block_sum = 0.0;
            self.block_len = 0;
        }
        let block_len = (sample_rate as usize / 100).max(1);
        for &sample in samples {
            let s = f64::from(sample);
            self.block_sum += s * s;
            self.block_len += 1;
            if self.block_len == block_len {
                let voiced = self.block_sum / block_len as f64 >= self.threshold_power;
                self.block_sum = 0.0;
                self.block_len = 0;
                if let Some(event) = self.block(voiced) {
                    events.push(event);
                }
            }
        }
        events
    }

    /// Ends a turn in progress, as if the source went silent for good (it closed or muted).
    pub fn finish(&mut self) -> Option<VadEvent> {
        self.block_sum = 0.0;
        self.block_len = 0;
        match std::mem::replace(
            &mut self.phase,
            Phase::Quiet {
                voiced: Duration::ZERO,
            },
        ) {
            Phase::Speaking { elapsed, silent } => Some(VadEvent::SpeechEnded {
                speech: elapsed.saturating_sub(silent),
            }),
            Phase::Quiet { .. } => None,
        }
    }

    fn block(&mut self, voiced: bool) -> Option<VadEvent> {
        match &mut self.phase {
            Phase::Quiet { voiced: run } => {
                if !voiced {
                    *run = Duration::ZERO;
                    return None;
                }
                *run += BLOCK;
                if *run < self.config.attack {
                    return None;
                }
                self.phase = Phase::Speaking {
                    elapsed: *run,
                    silent: Duration::ZERO,
                };
                Some(VadEvent::SpeechStarted)
            }
            Phase::Speaking { elapsed, silent } => {
                *elapsed += BLOCK;
                *silent = if voiced {
                    Duration::ZERO
                } else {
                    *silent + BLOCK
                };
                let ended = *silent >= self.config.hangover || *elapsed >= self.config.max_turn;
                if !ended {
                    return None;
                }
                let speech = elapsed.saturating_sub(*silent);
                self.phase = Phase::Quiet {
                    voiced: Duration::ZERO,
                };
                Some(VadEvent::SpeechEnded { speech })
            }
        }
    }
}

impl Default for EnergyVad {
    fn default() -> Self {
        Self::new(VadConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const RATE: u32 = 16_000;

    /// `ms` of a 300 Hz tone at `amplitude` (i16 scale), or silence for 0.
    fn tone(ms: u64, amplitude: f64) -> Vec<i16> {
        let n = (RATE as u64 * ms / 1000) as usize;
        (0..n)
            .map(|i| {
                let t = i as f64 / f64::from(RATE);
                (amplitude * (2.0 * std::f64::consts::PI * 300.0 * t).sin()) as i16
            })
            .collect()
    }

    fn feed(vad: &mut EnergyVad, samples: &[i16], frame: usize) -> Vec<VadEvent> {
        samples
            .chunks(frame)
            .flat_map(|chunk| vad.push(chunk, RATE))
            .collect()
    }

    #[test]
    fn a_spoken_second_is_one_turn() {
        let mut vad = EnergyVad::default();
        let mut audio = tone(300, 0.0);
        audio.extend(tone(1000, 8000.0));
        audio.extend(tone(1000, 0.0));
        let events = feed(&mut vad, &audio, 512);
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0], VadEvent::SpeechStarted);
        let VadEvent::SpeechEnded { speech } = events[1] else {
            panic!("{events:?}")
        };
        assert!(
            (990..=1010).contains(&speech.as_millis()),
            "speech {speech:?}"
        );
    }

    #[test]
    fn short_clicks_and_quiet_noise_are_not_speech() {
        let mut vad = EnergyVad::default();
        let mut audio = Vec::new();
        for _ in 0..10 {
            audio.extend(tone(20, 20_000.0)); // a fake-device beep
            audio.extend(tone(480, 0.0));
        }
        audio.extend(tone(2000, 100.0)); // about -50 dBFS
        assert!(feed(&mut vad, &audio, 512).is_empty());
    }

    #[test]
    fn a_pause_shorter_than_the_hangover_keeps_the_turn() {
        let mut vad = EnergyVad::default();
        let mut audio = tone(500, 8000.0);
        audio.extend(tone(400, 0.0));
        audio.extend(tone(500, 8000.0));
        audio.extend(tone(700, 0.0));
        let events = feed(&mut vad, &audio, 160);
        assert_eq!(events.len(), 2, "{events:?}");
    }

    #[test]
    fn an_endless_turn_is_cut_at_the_maximum() {
        let mut vad = EnergyVad::new(VadConfig {
            max_turn: Duration::from_secs(2),
            ..VadConfig::default()
        });
        let events = feed(&mut vad, &tone(5000, 8000.0), 512);
        let ends = events
            .iter()
            .filter(|e| matches!(e, VadEvent::SpeechEnded { .. }))
            .count();
        assert_eq!(ends, 2, "{events:?}");
    }

    #[test]
    fn finish_ends_an_open_turn() {
        let mut vad = EnergyVad::default();
        feed(&mut vad, &tone(500, 8000.0), 512);
        assert!(vad.is_speaking());
        assert!(matches!(vad.finish(), Some(VadEvent::SpeechEnded { .. })));
        assert_eq!(vad.finish(), None);
    }

    proptest! {
        /// Whatever the frame size and the audio, events alternate start/stop, starting with a
        /// start, and the detector never panics.
        #[test]
        fn events_alternate(samples in proptest::collection::vec(any::<i16>(), 0..20_000),
                            frame in 1usize..3000, rate in prop_oneof![Just(0u32), 1u32..96_000]) {
            let mut vad = EnergyVad::default();
            let mut speaking = false;
            for chunk in samples.chunks(frame) {
                for event in vad.push(chunk, rate) {
                    match event {
                        VadEvent::SpeechStarted => { prop_assert!(!speaking); speaking = true; }
                        VadEvent::SpeechEnded { .. } => { prop_assert!(speaking); speaking = false; }
                    }
                }
            }
            prop_assert_eq!(speaking, vad.is_speaking());
        }

        /// The frame size does not change the outcome.
        #[test]
        fn frame_size_does_not_matter(frame_a in 1usize..2000, frame_b in 1usize..2000) {
            let mut audio = tone(200, 0.0);
            audio.extend(tone(800, 6000.0));
            audio.extend(tone(900, 0.0));
            let a = feed(&mut EnergyVad::default(), &audio, frame_a);
            let b = feed(&mut EnergyVad::default(), &audio, frame_b);
            prop_assert_eq!(a, b);
        }
    }
}
