//! `--threshold 'start_talking.p99<4s'`: a gate CI can fail on.

use crate::phases::{Phase, Results};
use std::time::Duration;

/// `phase.pNN<limit` (limit in `ms` or `s`).
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub phase: Phase,
    /// The quantile, 0..1 (`p99` is 0.99, `p99.9` is 0.999, `max` is 1).
    pub quantile: f64,
    pub limit: Duration,
    text: String,
}

impl std::str::FromStr for Threshold {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("threshold `{text}`: {why} (e.g. start_talking.p99<4s)");
        let (left, limit) = text.split_once('<').ok_or_else(|| bad("no `<`"))?;
        let (phase, quantile) = left.trim().split_once('.').ok_or_else(|| bad("no `.`"))?;
        let phase = Phase::from_name(phase).ok_or_else(|| bad("unknown phase"))?;
        let quantile = match quantile {
            "max" => 1.0,
            q => {
                let n: f64 = q
                    .strip_prefix('p')
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| bad("the quantile is pNN or max"))?;
                if !(0.0..=100.0).contains(&n) {
                    return Err(bad("the quantile is between p0 and p100"));
                }
                n / 100.0
            }
        };
        let limit = limit.trim();
        let limit = if let Some(ms) = limit.strip_suffix("ms") {
            ms.trim().parse::<f64>().map(|v| v / 1000.0)
        } else if let Some(s) = limit.strip_suffix('s') {
            s.trim().parse::<f64>()
        } else {
            return Err(bad("the limit needs a unit, ms or s"));
        }
        .map_err(|_| bad("the limit is not a number"))?;
        if !(limit.is_finite() && limit >= 0.0) {
            return Err(bad("the limit is not a duration"));
        }
        Ok(Threshold {
            phase,
            quantile,
            limit: Duration::from_secs_f64(limit),
            text: text.to_owned(),
        })
    }
}

impl Threshold {
    /// `Err` with a sentence when the run broke the threshold (or has no samples to judge).
    pub fn check(&self, results: &Results) -> Result<(), String> {
        match results.quantile(self.phase, self.quantile) {
            None => Err(format!("{}: no samples", self.text)),
            Some(measured) if measured < self.limit => Ok(()),
            Some(measured) => Err(format!(
                "{}: measured {:.2} ms",
                self.text,
                measured.as_secs_f64() * 1000.0
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_parse_and_judge() {
        let t: Threshold = "start_talking.p99<4s".parse().unwrap();
        assert_eq!(
            (t.phase, t.quantile, t.limit),
            (Phase::StartTalking, 0.99, Duration::from_secs(4))
        );
        let t: Threshold = "answer.p99.9<250ms".parse().unwrap();
        assert!((t.quantile - 0.999).abs() < 1e-9);
        for bad in [
            "start_talking.p99<4",
            "nope.p99<4s",
            "start_talking<4s",
            "start_talking.q9<1s",
        ] {
            assert!(bad.parse::<Threshold>().is_err(), "{bad}");
        }
        let mut results = Results::default();
        results.record(
            Phase::StartTalking,
            Duration::from_millis(100),
            0,
            Duration::ZERO,
        );
        assert!(
            "start_talking.p99<200ms"
                .parse::<Threshold>()
                .unwrap()
                .check(&results)
                .is_ok()
        );
        assert!(
            "start_talking.p99<50ms"
                .parse::<Threshold>()
                .unwrap()
                .check(&results)
                .is_err()
        );
        assert!(
            "answer.p99<1s"
                .parse::<Threshold>()
                .unwrap()
                .check(&results)
                .is_err(),
            "no samples fails"
        );
    }
}
