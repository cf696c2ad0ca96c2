//! Streaming conversion of any microphone rate (8 to 48 kHz) to the detector's 16 kHz.
//!
//! The detector only needs the speech band, so this is deliberately simple: a moving average
//! over one output period (a first-order anti-alias filter) when it decimates, then linear
//! interpolation. Output positions are computed from exact integer sample counts, never from an
//! accumulated float, so how the input is chunked cannot change a single output sample.

/// The rate the detector works at.
pub const DETECTOR_RATE: u32 = 16_000;

/// One stream's converter; a new input rate needs a new one.
#[derive(Debug, Clone)]
pub struct Resampler {
    from: u32,
    /// The moving average's window (1 when the input is at or below 16 kHz).
    window: usize,
    history: Vec<i32>,
    history_sum: i64,
    /// Input samples consumed, after filtering.
    consumed: u64,
    /// Output samples produced.
    produced: u64,
    /// The previous filtered sample (the left end of the interpolation).
    previous: i32,
}

impl Resampler {
    /// A converter from `from` Hz (not 0) to [`DETECTOR_RATE`].
    pub fn new(from: u32) -> Self {
        let from = from.max(1);
        let window = (f64::from(from) / f64::from(DETECTOR_RATE))
            .round()
            .max(1.0) as usize;
        Self {
            from,
            window,
            history: Vec::with_capacity(window),
            history_sum: 0,
            consumed: 0,
            produced: 0,
            previous: 0,
        }
    }

    /// The input rate.
    pub fn rate(&self) -> u32 {
        self.from
    }

    /// Converts `input`, appending the 16 kHz samples it completes to `out`.
    pub fn push(&mut self, input: &[i16], out: &mut Vec<i16>) {
        let to = u64::from(DETECTOR_RATE);
        let from = u64::from(self.from);
        for &sample in input {
            let filtered = self.filter(i32::from(sample));
            // Emit every output whose position lies in [consumed - 1, consumed): between the
            // previous filtered sample and this one.
            let index = self.consumed;
            loop {
                let position = self.produced * from; // in units of 1/to input samples
                let whole = position / to;
                if whole >= index {
                    break;
                }
                let fraction = (position % to) as i64;
                let left = i64::from(self.previous);
                let right = i64::from(filtered);
                let value = left + (right - left) * fraction / to as i64;
                out.push(value.clamp(i64::from(i16::MIN), i64::from(i16::MAX)) as i16);
                self.produced += 1;
            }
            self.previous = filtered;
            self.consumed += 1;
        }
    }

    fn filter(&mut self, sample: i32) -> i32 {
        if self.window == 1 {
            return sample;
        }
        if self.history.len() == self.window {
            let oldest = self.history.remove(0);
            self.history_sum -= i64::from(oldest);
        }
        self.history.push(sample);
        self.history_sum += i64::from(sample);
        (self.history_sum / self.history.len() as i64) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn convert(input: &[i16], from: u32, chunk: usize) -> Vec<i16> {
        let mut resampler = Resampler::new(from);
        let mut out = Vec::new();
        for piece in input.chunks(chunk.max(1)) {
            resampler.push(piece, &mut out);
        }
        out
    }

    #[test]
    fn a_second_at_any_rate_is_a_second_at_16_khz() {
        for from in [8_000, 16_000, 22_050, 24_000, 44_100, 48_000] {
            let out = convert(&vec![1000; from as usize], from, 480);
            let expected = DETECTOR_RATE as usize;
            assert!(out.len().abs_diff(expected) <= 2, "{from}: {}", out.len());
            assert!(out[10..].iter().all(|&s| s == 1000), "{from}");
        }
    }

    #[test]
    fn sixteen_khz_passes_through() {
        let input: Vec<i16> = (0..1000).map(|i| (i * 7 % 3000) as i16).collect();
        let out = convert(&input, 16_000, 160);
        assert_eq!(out[..], input[..out.len()]);
        assert!(out.len() >= input.len() - 1);
    }

    proptest! {
        /// How the input is cut up does not change the output.
        #[test]
        fn chunking_does_not_matter(input in proptest::collection::vec(any::<i16>(), 0..4000),
                                    from in 8_000u32..=48_000, a in 1usize..700, b in 1usize..700) {
            prop_assert_eq!(convert(&input, from, a), convert(&input, from, b));
        }
    }
}
