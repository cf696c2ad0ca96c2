//! Whether one 16 ms frame of 16 kHz audio is speech: three tests, all of which must pass.
//!
//! 1. **Loud enough**: its RMS level is at least `threshold_dbfs`. Digital silence, the SDK's
//!    muted zeros and Opus comfort noise stop here, before any arithmetic on them.
//! 2. **A voice, says the network**: [`earshot`]'s neural detector (its weights ship in the
//!    crate) scores the frame at least `speech_score`. It rejects noise, clicks and music-like
//!    sounds that an energy threshold takes for words.
//! 3. **Not a tone**: the network alone scores a steady low sine or square wave as a voice (a
//!    220 Hz sine scores above 0.9). A tone puts nearly all its power in one spectral peak;
//!    speech spreads it over harmonics and formants (at most about 70 % in one peak in the
//!    fixtures). So a frame whose strongest peak (three bins of a 32 ms Hann spectrum) holds at
//!    least `max_tonality` of its power is a tone. This is what keeps Chromium's default fake
//!    microphone (a 400 Hz square-wave beep twice a second) from opening turns.

use super::vad::VadConfig;
use rustfft::{Fft, FftPlanner, num_complex::Complex};
use std::sync::Arc;

/// Samples in one frame: earshot's fixed 16 ms at 16 kHz.
pub const FRAME_SAMPLES: usize = 256;
/// The spectrum's window: the current frame and the one before.
const SPECTRUM_SAMPLES: usize = 2 * FRAME_SAMPLES;

/// One stream's judge: the network's and the spectrum's state carry from frame to frame.
pub struct FrameJudge {
    speech_score: f32,
    /// Mean square at `threshold_dbfs`, on the i16 scale.
    threshold_power: f64,
    max_tonality: f32,
    network: Box<earshot::Detector>,
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    /// The previous frame, for the spectrum's 32 ms window.
    previous: [i16; FRAME_SAMPLES],
    spectrum: Vec<Complex<f32>>,
}

impl std::fmt::Debug for FrameJudge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameJudge")
            .field("speech_score", &self.speech_score)
            .field("max_tonality", &self.max_tonality)
            .finish_non_exhaustive()
    }
}

impl FrameJudge {
    pub fn new(config: &VadConfig) -> Self {
        let full_scale = f64::from(i16::MAX);
        let threshold_power = (full_scale * 10f64.powf(config.threshold_dbfs / 20.0)).powi(2);
        let window = (0..SPECTRUM_SAMPLES)
            .map(|i| {
                let phase = 2.0 * std::f32::consts::PI * i as f32 / SPECTRUM_SAMPLES as f32;
                0.5 - 0.5 * phase.cos()
            })
            .collect();
        Self {
            speech_score: config.speech_score,
            threshold_power,
            max_tonality: config.max_tonality,
            network: earshot::Detector::default_boxed(),
            fft: FftPlanner::new().plan_fft_forward(SPECTRUM_SAMPLES),
            window,
            previous: [0; FRAME_SAMPLES],
            spectrum: vec![Complex::default(); SPECTRUM_SAMPLES],
        }
    }

    /// Judges the next frame of the stream (exactly [`FRAME_SAMPLES`] samples).
    pub fn is_speech(&mut self, frame: &[i16; FRAME_SAMPLES]) -> bool {
        // The network sees every frame, so its context is the stream's, not only the loud parts.
        let score = self.network.predict_i16(frame);
        let tonality = self.tonality(frame);
        self.previous = *frame;
        let power = frame.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / frame.len() as f64;
        power >= self.threshold_power && score >= self.speech_score && tonality < self.max_tonality
    }

    /// The share of the last 32 ms's power in its strongest peak (0 for silence).
    fn tonality(&mut self, frame: &[i16; FRAME_SAMPLES]) -> f32 {
        let samples = self.previous.iter().chain(frame.iter());
        for ((bin, &sample), &weight) in self.spectrum.iter_mut().zip(samples).zip(&self.window) {
            *bin = Complex::new(f32::from(sample) * weight, 0.0);
        }
        self.fft.process(&mut self.spectrum);
        // The real input's spectrum is symmetric: bins 0..=N/2 hold all of it.
        let power = |bin: usize| self.spectrum[bin].norm_sqr();
        let bins = SPECTRUM_SAMPLES / 2 + 1;
        let (total, peak, _) = (0..bins).fold((0.0f32, 0, 0.0f32), |(total, peak, most), bin| {
            let p = power(bin);
            if p > most {
                (total + p, bin, p)
            } else {
                (total + p, peak, most)
            }
        });
        if total <= f32::EPSILON {
            return 0.0;
        }
        let around: f32 = (peak.saturating_sub(1)..(peak + 2).min(bins))
            .map(power)
            .sum();
        around / total
    }
}
