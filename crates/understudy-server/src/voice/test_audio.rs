//! Audio for the detector's tests: the committed speech clips (`fixtures/speech/`, made with
//! espeak-ng) and the sounds that must not be speech.

use std::path::PathBuf;

/// A clip from `fixtures/speech/` and its sample rate.
pub fn speech(name: &str) -> (Vec<i16>, u32) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/speech")
        .join(format!("{name}.wav"));
    let mut reader = hound::WavReader::open(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let rate = reader.spec().sample_rate;
    let samples = reader
        .samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("16-bit PCM");
    (samples, rate)
}

fn count(ms: u64, rate: u32) -> usize {
    (u64::from(rate) * ms / 1000) as usize
}

pub fn silence(ms: u64, rate: u32) -> Vec<i16> {
    vec![0; count(ms, rate)]
}

/// A sine at `hz` and `amplitude` (i16 scale).
pub fn tone(hz: f64, ms: u64, amplitude: f64, rate: u32) -> Vec<i16> {
    (0..count(ms, rate))
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            (amplitude * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16
        })
        .collect()
}

/// A square wave: a tone rich in harmonics.
pub fn square(hz: f64, ms: u64, amplitude: f64, rate: u32) -> Vec<i16> {
    tone(hz, ms, 1.0, rate)
        .into_iter()
        .map(|s| {
            if s >= 0 {
                amplitude as i16
            } else {
                -amplitude as i16
            }
        })
        .collect()
}

/// What Chromium's fake audio capture plays when given no file: a 20 ms, 400 Hz square-wave
/// beep every 500 ms.
pub fn beeps(ms: u64, rate: u32) -> Vec<i16> {
    let beep = square(400.0, 20, 16_000.0, rate);
    let gap = silence(480, rate);
    let mut out = Vec::new();
    while out.len() < count(ms, rate) {
        out.extend(&beep);
        out.extend(&gap);
    }
    out
}

/// Uniform white noise at `amplitude` (a deterministic generator: the tests are repeatable).
pub fn noise(ms: u64, amplitude: f64, rate: u32) -> Vec<i16> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..count(ms, rate))
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            (unit * amplitude) as i16
        })
        .collect()
}

/// Linear-interpolation rate conversion, independent of the detector's own.
pub fn resample(samples: &[i16], from: u32, to: u32) -> Vec<i16> {
    let n = samples.len() * to as usize / from as usize;
    (0..n)
        .map(|k| {
            let position = k as f64 * f64::from(from) / f64::from(to);
            let i = position as usize;
            let fraction = position - i as f64;
            let a = f64::from(samples[i]);
            let b = f64::from(*samples.get(i + 1).unwrap_or(&samples[i]));
            (a + (b - a) * fraction) as i16
        })
        .collect()
}
