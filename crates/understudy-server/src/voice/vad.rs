//! The voice detector: decides when the user starts and stops speaking.
//!
//! Each 16 ms frame is judged speech or not by [`FrameJudge`] (a neural detector, a level
//! floor and a tone check; its module says why each); this module turns those judgements into
//! turns. Any rate from 8 to 48 kHz is converted to the judge's 16 kHz first.
//!
//! Time is counted in samples, not read from a clock, so a turn is the same whatever the frame
//! size or how fast frames arrive, and tests can feed hours of audio in milliseconds. Audio the
//! sender did not send (a gap in its RTP timestamps) counts as silence through
//! [`VoiceDetector::skip`], on the sender's clock. The parameters (`VadConfig::default`, also in
//! `docs/fidelity.md`):
//!
//! - speech **starts** after **60 ms** of consecutive speech frames, so a click or a cough is
//!   not a word; the turn is dated from its first speech frame;
//! - speech **stops** after **600 ms** without speech (the hangover), so pauses between words
//!   do not split a sentence;
//! - a turn longer than **30 s** is cut there, so a stuck-open microphone still yields turns.

use super::frame_judge::{FRAME_SAMPLES, FrameJudge};
use super::resample::Resampler;
use std::time::Duration;

/// The detector's thresholds; see the module docs for the defaults and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VadConfig {
    /// The neural detector's score (0 to 1) at or above which a frame may be speech.
    pub speech_score: f32,
    /// RMS level, in dBFS, below which a frame is silence whatever else it is (a quiet room
    /// through a laptop microphone sits near -60; the SDK's muted zeros are -inf).
    pub threshold_dbfs: f64,
    /// The share of a frame's power in one spectral peak at or above which it is a tone.
    pub max_tonality: f32,
    /// Consecutive speech needed to start a turn.
    pub attack: Duration,
    /// Audio without speech that ends a turn.
    pub hangover: Duration,
    /// The longest turn; a longer one ends here and a new one may start.
    pub max_turn: Duration,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            speech_score: 0.5,
            threshold_dbfs: -50.0,
            max_tonality: 0.75,
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
    /// The user stopped; `speech` runs from the first to the last speech frame.
    SpeechEnded { speech: Duration },
}

/// The analysis block: one judged frame, 16 ms.
const BLOCK: Duration = Duration::from_millis(16);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// No turn; `voiced` is how long the current run of speech frames is.
    Quiet { voiced: Duration },
    /// In a turn that started `elapsed` ago; `silent` is the current run without speech.
    Speaking { elapsed: Duration, silent: Duration },
}

/// One audio source's detector. Feed it with [`VoiceDetector::push`].
#[derive(Debug)]
pub struct VoiceDetector {
    config: VadConfig,
    judge: FrameJudge,
    phase: Phase,
    /// Converts the source's rate; `None` until the first samples.
    resampler: Option<Resampler>,
    /// 16 kHz samples not yet a whole frame.
    pending: Vec<i16>,
    /// Skipped time shorter than a block, carried to the next skip.
    skipped: Duration,
}

impl VoiceDetector {
    pub fn new(config: VadConfig) -> Self {
        Self {
            judge: FrameJudge::new(&config),
            config,
            phase: Phase::Quiet {
                voiced: Duration::ZERO,
            },
            resampler: None,
            pending: Vec::with_capacity(2 * FRAME_SAMPLES),
            skipped: Duration::ZERO,
        }
    }

    /// Whether a turn is in progress.
    pub fn is_speaking(&self) -> bool {
        matches!(self.phase, Phase::Speaking { .. })
    }

    /// Feeds mono samples at `sample_rate` Hz and returns what they decided, in order.
    /// A rate of 0 is ignored; a new rate starts a new frame.
    pub fn push(&mut self, samples: &[i16], sample_rate: u32) -> Vec<VadEvent> {
        let mut events = Vec::new();
        if sample_rate == 0 {
            return events;
        }
        let resampler = match &mut self.resampler {
            Some(resampler) if resampler.rate() == sample_rate => resampler,
            other => {
                self.pending.clear();
                other.insert(Resampler::new(sample_rate))
            }
        };
        resampler.push(samples, &mut self.pending);
        let mut frames = self.pending.chunks_exact(FRAME_SAMPLES);
        let mut judged = Vec::with_capacity(frames.len());
        for frame in &mut frames {
            let frame: &[i16; FRAME_SAMPLES] = frame.try_into().expect("exact chunks");
            judged.push(self.judge.is_speech(frame));
        }
        let rest = frames.remainder().len();
        self.pending.drain(..self.pending.len() - rest);
        for speech in judged {
            events.extend(self.block(speech));
        }
        events
    }

    /// Counts `gap` of the sender's time that carried no audio (a jump in its timestamps, as
    /// Opus DTX makes in silence) as time without speech.
    pub fn skip(&mut self, gap: Duration) -> Vec<VadEvent> {
        self.skipped += gap;
        let mut events = Vec::new();
        while self.skipped >= BLOCK {
            self.skipped -= BLOCK;
            events.extend(self.block(false));
        }
        events
    }

    /// Ends a turn in progress, as if the source went silent for good (it closed, muted, or
    /// sent nothing for longer than the hangover).
    pub fn finish(&mut self) -> Option<VadEvent> {
        self.pending.clear();
        self.skipped = Duration::ZERO;
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

    /// The hangover: how long without speech ends a turn.
    pub fn hangover(&self) -> Duration {
        self.config.hangover
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

impl Default for VoiceDetector {
    fn default() -> Self {
        Self::new(VadConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voice::test_audio::{beeps, noise, silence, speech, square, tone};
    use proptest::prelude::*;

    fn feed(vad: &mut VoiceDetector, samples: &[i16], rate: u32, frame: usize) -> Vec<VadEvent> {
        samples
            .chunks(frame)
            .flat_map(|chunk| vad.push(chunk, rate))
            .collect()
    }

    fn turns(events: &[VadEvent]) -> Vec<Duration> {
        events
            .iter()
            .filter_map(|e| match e {
                VadEvent::SpeechEnded { speech } => Some(*speech),
                VadEvent::SpeechStarted => None,
            })
            .collect()
    }

    /// Speech, then a second of silence, at the clip's own rate.
    fn spoken(name: &str) -> (Vec<i16>, u32) {
        let (mut samples, rate) = speech(name);
        samples.extend(silence(1000, rate));
        (samples, rate)
    }

    #[test]
    fn a_spoken_sentence_is_one_turn() {
        for name in ["hello", "question"] {
            let (audio, rate) = spoken(name);
            let events = feed(&mut VoiceDetector::default(), &audio, rate, 441);
            assert_eq!(events.first(), Some(&VadEvent::SpeechStarted), "{name}");
            let turns = turns(&events);
            assert_eq!(turns.len(), 1, "{name}: {events:?}");
            let clip = Duration::from_secs_f64(audio.len() as f64 / f64::from(rate));
            assert!(
                turns[0] > Duration::from_millis(900) && turns[0] < clip,
                "{name}: {:?} of {clip:?}",
                turns[0]
            );
        }
    }

    #[test]
    fn speech_is_heard_at_every_rate() {
        let (audio, rate) = spoken("hello");
        for to in [8_000, 16_000, 24_000, 44_100, 48_000] {
            let converted = crate::voice::test_audio::resample(&audio, rate, to);
            let events = feed(&mut VoiceDetector::default(), &converted, to, 960);
            assert_eq!(turns(&events).len(), 1, "{to} Hz: {events:?}");
        }
    }

    #[test]
    fn tones_beeps_and_noise_are_not_speech() {
        let rate = 16_000;
        let cases: [(&str, Vec<i16>); 8] = [
            ("a 220 Hz sine", tone(220.0, 5000, 8000.0, rate)),
            ("a 440 Hz sine", tone(440.0, 5000, 20_000.0, rate)),
            ("a 1 kHz sine", tone(1000.0, 5000, 8000.0, rate)),
            ("a 400 Hz square wave", square(400.0, 5000, 8000.0, rate)),
            ("Chromium's fake microphone", beeps(10_000, rate)),
            ("loud white noise", noise(5000, 8000.0, rate)),
            ("quiet white noise", noise(5000, 100.0, rate)),
            ("digital silence", silence(5000, rate)),
        ];
        for (name, audio) in cases {
            let events = feed(&mut VoiceDetector::default(), &audio, rate, 320);
            assert!(events.is_empty(), "{name}: {events:?}");
        }
    }

    #[test]
    fn a_pause_shorter_than_the_hangover_keeps_the_turn() {
        // The sentence twice, `pause_ms` apart, then silence: how many turns.
        let turns_with_pause = |pause_ms| {
            let (hello, rate) = speech("hello");
            let mut audio = hello.clone();
            audio.extend(silence(pause_ms, rate));
            audio.extend(&hello);
            audio.extend(silence(1000, rate));
            turns(&feed(&mut VoiceDetector::default(), &audio, rate, 512)).len()
        };
        assert_eq!(turns_with_pause(300), 1);
        assert_eq!(turns_with_pause(1500), 2);
    }

    #[test]
    fn skipped_time_is_silence_on_the_senders_clock() {
        let (hello, rate) = speech("hello");
        // A short jump inside a sentence does not split it...
        let mut vad = VoiceDetector::default();
        feed(&mut vad, &hello, rate, 441);
        assert!(vad.is_speaking());
        assert!(vad.skip(Duration::from_millis(100)).is_empty());
        let events = feed(&mut vad, &hello, rate, 441);
        assert!(events.is_empty(), "{events:?}");
        // ...and a jump past the hangover ends it.
        let events = vad.skip(Duration::from_millis(700));
        assert!(
            matches!(events[..], [VadEvent::SpeechEnded { .. }]),
            "{events:?}"
        );
    }

    #[test]
    fn an_endless_turn_is_cut_at_the_maximum() {
        let mut vad = VoiceDetector::new(VadConfig {
            max_turn: Duration::from_secs(2),
            ..VadConfig::default()
        });
        let (hello, rate) = speech("hello");
        let audio: Vec<i16> = hello
            .iter()
            .copied()
            .cycle()
            .take(hello.len() * 4)
            .collect();
        let ends = turns(&feed(&mut vad, &audio, rate, 512)).len();
        assert!(ends >= 2, "{ends} turns");
    }

    #[test]
    fn finish_ends_an_open_turn() {
        let mut vad = VoiceDetector::default();
        let (hello, rate) = speech("hello");
        feed(&mut vad, &hello, rate, 512);
        assert!(vad.is_speaking());
        assert!(matches!(vad.finish(), Some(VadEvent::SpeechEnded { .. })));
        assert_eq!(vad.finish(), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever the frame size and the audio, events alternate start/stop, starting with a
        /// start, and the detector never panics.
        #[test]
        fn events_alternate(samples in proptest::collection::vec(any::<i16>(), 0..20_000),
                            frame in 1usize..3000, rate in prop_oneof![Just(0u32), 1u32..96_000],
                            gaps in proptest::collection::vec(0u64..2000, 0..4)) {
            let mut vad = VoiceDetector::default();
            let mut speaking = false;
            let mut gaps = gaps.into_iter();
            for chunk in samples.chunks(frame) {
                let mut events = vad.push(chunk, rate);
                if let Some(gap) = gaps.next() {
                    events.extend(vad.skip(Duration::from_millis(gap)));
                }
                for event in events {
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
            let (audio, rate) = spoken("hello");
            let a = feed(&mut VoiceDetector::default(), &audio, rate, frame_a);
            let b = feed(&mut VoiceDetector::default(), &audio, rate, frame_b);
            prop_assert_eq!(a, b);
        }
    }
}
